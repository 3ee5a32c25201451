"""Builders on MemoryStore fixtures: an Arrhenius law goes in, the paper's tables come out; incremental."""

import math
from datetime import datetime, timedelta, timezone

import pytest
from maggma.stores import MemoryStore

from builders import AndersonStuartBuilder, ConductivityBuilder, DiffusivityBuilder, run_builders
from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.db import COLLECTIONS
from dopant_workflows.jobs.dielectric import record_dielectric

EA = 0.25
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _task(sub, formula, n_cl, temperature, minutes=0, study="s", ea=EA):
    d = 1e-3 * math.exp(-ea / (BOLTZMANN_EV_K * temperature))
    return {
        "task_id": f"{study}-{sub}-{temperature:g}K", "study": study, "substitution_id": sub, "composition_id": sub,
        "formula": formula,
        "dopant": "Cl", "dopant_count": n_cl, "dopant_fraction": n_cl / 150, "temperature_K": temperature,
        "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": 0.03 * d,
        "diffusivity_components_cm2_s": {"a": d, "b": d, "c": 1.5 * d}, "conductivity_mS_cm": 1.0,
        "rdf_first_peak_A": 3.35, "n_carriers": 60, "volume_A3": 3 * 952.35,
        "composition": {"Li": 60, "Si": 7 + n_cl, "P": 11 - n_cl, "S": 72 - n_cl, "Cl": n_cl} if n_cl else
        {"Li": 60, "Si": 6, "P": 12, "S": 72}, "thermostat_ok": True, "model_sha256": "abc", "warnings": [],
        "last_updated": T0 + timedelta(minutes=minutes),
    }


def _dielectric(study, sub, eps_r, source, minutes=0):
    document = record_dielectric(study, sub, "X", eps_r, source).model_dump()
    return {**document, "composition_id": sub, "last_updated": T0 + timedelta(minutes=minutes)}


@pytest.fixture
def stores():
    names = ["md_tasks", "diffusivity", "conductivity", "dielectric", "anderson_stuart", "validation"]
    s = {name: MemoryStore(collection_name=name, key=COLLECTIONS[name]) for name in names}
    for store in s.values():
        store.connect()
    s["md_tasks"].update([_task("one", "Li60Si8P10S71Cl1", 1, t) for t in (600.0, 700.0, 800.0)]
                         + [_task("zero", "Li60Si6P12S72", 0, t) for t in (600.0, 700.0, 800.0)])
    s["dielectric"].update([_dielectric("s", "one", 5.13, "Rao et al. 2020, DFPT"),
                            _dielectric("s", "zero", None, "missing: not given")])
    return s


def _run(s, tmp_path=None):
    return run_builders([DiffusivityBuilder(s["md_tasks"], s["diffusivity"]),
                         ConductivityBuilder(s["diffusivity"], s["conductivity"]),
                         AndersonStuartBuilder(s["diffusivity"], s["dielectric"], s["conductivity"],
                                               s["anderson_stuart"])])


def test_tables_come_out(stores, tmp_path):
    _run(stores, tmp_path)
    assert stores["diffusivity"].count() == 6
    one = stores["conductivity"].query_one({"composition_id": "one"})
    assert one["activation_energy_eV"] == pytest.approx(EA, rel=1e-6)
    expected_d300 = 1e-3 * math.exp(-EA / (BOLTZMANN_EV_K * 300))
    assert one["diffusivity_300K_cm2_s"] == pytest.approx(expected_d300, rel=1e-6)
    lo, hi = one["conductivity_300K_95_mS_cm"]
    assert lo < one["conductivity_300K_mS_cm"] < hi
    assert sum(d["p_best"] for d in stores["conductivity"].query()) == pytest.approx(1.0, abs=1e-8)
    assert one["diffusivity_300K_components_cm2_s"]["c"] == pytest.approx(1.5 * expected_d300, rel=1e-6)
    a_s = stores["anderson_stuart"].query_one({"composition_id": "one"})
    assert a_s["jump_distance_A"] == pytest.approx(3.35) and a_s["r_anion_A"] == pytest.approx(0.62, abs=0.01)
    assert a_s["barrier_eV"] == pytest.approx(0.322, abs=0.005) and a_s["epsilon_r_source"].startswith("Rao")
    assert a_s["arrhenius_activation_energy_eV"] == pytest.approx(EA, rel=1e-6)
    zero = stores["anderson_stuart"].query_one({"composition_id": "zero"})
    assert zero["barrier_eV"] is None and "missing" in zero["missing_reason"]
    from dopant_workflows.report import tables

    _, rows3 = tables(list(stores["conductivity"].query()), [a_s, zero])
    by_formula = {row[0]: row for row in rows3}
    assert by_formula["Li60Si8P10S71Cl1"][3] == "0.62"
    assert by_formula["Li60Si6P12S72"][3] == "— (no dopant atom)"  # not a radius of 0.00 A


def test_rerun_adds_nothing_and_new_data_rebuilds_its_study(stores):
    """A build with nothing new does nothing; a new or redone run refits every composition of its study (the
    ranking compares them all), each from its own runs."""
    _run(stores)
    before = {d["composition_id"]: d for d in stores["conductivity"].query()}
    assert _run(stores) == {"DiffusivityBuilder": 0, "ConductivityBuilder": 0, "AndersonStuartBuilder": 0}
    assert {d["composition_id"]: d["last_updated"] for d in stores["conductivity"].query()} == {
        k: d["last_updated"] for k, d in before.items()}
    assert stores["conductivity"].count() == 2 and stores["anderson_stuart"].count() == 2
    stores["md_tasks"].update([_task("one", "Li60Si8P10S71Cl1", 1, 900.0, minutes=5)])
    assert _run(stores)["ConductivityBuilder"] == 2  # both compositions: one study, one ranking
    after = {d["composition_id"]: d for d in stores["conductivity"].query()}
    assert after["one"]["temperatures_K"] == [600.0, 700.0, 800.0, 900.0]
    assert after["zero"]["temperatures_K"] == [600.0, 700.0, 800.0]
    assert after["zero"]["activation_energy_eV"] == before["zero"]["activation_energy_eV"]
    assert after["zero"]["sources_last_updated"] == before["zero"]["sources_last_updated"]  # its own runs: the same
    # a run redone in place (same task_id, new result, later last_updated) is refitted
    redone = _task("zero", "Li60Si6P12S72", 0, 600.0, minutes=10)
    redone["diffusivity_cm2_s"] *= 2.0
    stores["md_tasks"].update([redone])
    _run(stores)
    rebuilt = {d["composition_id"]: d for d in stores["conductivity"].query()}
    assert rebuilt["zero"]["activation_energy_eV"] < EA - 0.01  # the doubled low-T point flattens the line
    assert rebuilt["one"]["activation_energy_eV"] == pytest.approx(after["one"]["activation_energy_eV"])
    a_s = stores["anderson_stuart"].query_one({"composition_id": "zero"})
    assert a_s["arrhenius_activation_energy_eV"] == pytest.approx(rebuilt["zero"]["activation_energy_eV"])
    assert _run(stores)["ConductivityBuilder"] == 0


def test_updates_are_found_when_dates_come_back_as_strings(tmp_path):
    """JSON files (the embedded results DB) give last_updated back as ISO strings in a new process."""
    from dopant_workflows.db import ResultsDB, insert

    db_file = tmp_path / "db.json"
    db_file.write_text(__import__("json").dumps({"kind": "json", "directory": str(tmp_path / "results")}))
    db = ResultsDB.from_file(db_file)
    from builders import get_builders

    for t in (600.0, 700.0, 800.0):
        insert(db, "md_tasks", _task("one", "Li60Si8P10S71Cl1", 1, t))
    run_builders(get_builders(db))
    redone = _task("one", "Li60Si8P10S71Cl1", 1, 600.0, minutes=10)
    redone["diffusivity_cm2_s"] *= 2.0
    insert(db, "md_tasks", redone)
    counts = run_builders(get_builders(ResultsDB.from_file(db_file)))  # fresh stores, as a new process
    assert counts == {"DiffusivityBuilder": 1, "ConductivityBuilder": 1, "AndersonStuartBuilder": 1}
    store, a_s = db.store("conductivity"), db.store("anderson_stuart")
    store.connect()
    a_s.connect()
    ea = store.query_one({"composition_id": "one"})["activation_energy_eV"]
    assert ea < EA - 0.01
    assert a_s.query_one({"composition_id": "one"})["arrhenius_activation_energy_eV"] == pytest.approx(ea)


def test_report_carries_md_warnings_to_the_reader(stores, tmp_path):
    from dopant_workflows.report import write_report

    warned = _task("one", "Li60Si8P10S71Cl1", 1, 700.0)
    warned["warnings"] = ["the network's core repulsion was active in 40 % of production samples"]
    warned["core_repulsion_contact_fraction"] = 0.4
    stores["md_tasks"].update([warned])
    _run(stores, tmp_path)
    diffusivity = list(stores["diffusivity"].query())
    assert {d["task_id"]: d["core_repulsion_contact_fraction"] for d in diffusivity}["s-one-700K"] == 0.4
    text = write_report(list(stores["conductivity"].query()), list(stores["anderson_stuart"].query()), diffusivity,
                        tmp_path / "report")
    assert ("- Li60Si8P10S71Cl1 at 700 K (MD): the network's core repulsion was active in 40 % of production samples"
            in text)


def _validation(status, minutes=0, limit=0.05):
    return {"validation_id": f"s-shared-abc-{status}", "study": "s", "model_sha256": "abc", "status": status,
            "passed": status == "passed", "reasons": [] if status == "passed" else ["force_rmse_ann_md: too large"],
            "thresholds": {"core_repulsion_eV": limit}, "last_updated": T0 + timedelta(minutes=minutes)}


def _run_with_validation(s):
    return run_builders([DiffusivityBuilder(s["md_tasks"], s["diffusivity"]),
                         ConductivityBuilder(s["diffusivity"], s["conductivity"], s["validation"]),
                         AndersonStuartBuilder(s["diffusivity"], s["dielectric"], s["conductivity"],
                                               s["anderson_stuart"])])


def test_results_carry_whether_their_network_was_validated(stores):
    _run_with_validation(stores)  # no validation document yet: not validated, and said why
    one = stores["conductivity"].query_one({"composition_id": "one"})
    assert one["validated"] is None and one["validation_notes"] == ["network abc: no validation document"]
    assert one["model_sha256"] == ["abc"]

    stores["validation"].update([_validation("passed", minutes=5)])  # a newer source: both rebuilt
    _run_with_validation(stores)
    assert {d["validated"] for d in stores["conductivity"].query()} == {True}
    assert {d["validated"] for d in stores["anderson_stuart"].query()} == {True}

    # the same network passed, but one production run of "zero" leaned on the core repulsion beyond the limit
    hot = _task("zero", "Li60Si6P12S72", 0, 800.0, minutes=10)
    stores["md_tasks"].update([{**hot, "core_repulsion_max_eV": 0.4}])
    _run_with_validation(stores)
    zero = stores["conductivity"].query_one({"composition_id": "zero"})
    assert zero["validated"] is False and "core repulsion reached 0.4 eV" in zero["validation_notes"][0]
    assert stores["conductivity"].query_one({"composition_id": "one"})["validated"] is True

    stores["validation"].remove_docs({})
    stores["validation"].update([_validation("failed", minutes=20)])
    _run_with_validation(stores)
    one = stores["conductivity"].query_one({"composition_id": "one"})
    assert one["validated"] is False and "validation failed: force_rmse_ann_md" in one["validation_notes"][0]


def _by_group(store):
    return {(d["study"], d["composition_id"]): d for d in store.query()}


def test_two_studies_sharing_a_substitution_keep_their_own_results(stores, tmp_path):
    """A second study of substitution "one" (another seed: other diffusivities, its own eps_r and validation) in
    the same database changes nothing of the first study's documents or report, and gets its own."""
    from dopant_workflows.report import write_report

    def report(study, out):
        docs = {name: [d for d in stores[name].query() if d["study"] == study]
                for name in ("conductivity", "anderson_stuart", "diffusivity")}
        return write_report(docs["conductivity"], docs["anderson_stuart"], docs["diffusivity"], tmp_path / out)

    _run_with_validation(stores)
    first = {name: _by_group(stores[name]) for name in ("conductivity", "anderson_stuart")}
    alone = report("s", "alone")
    stores["md_tasks"].update([_task("one", "Li60Si8P10S71Cl1", 1, t, minutes=5, study="t", ea=0.31)
                               for t in (600.0, 700.0, 800.0)])
    stores["dielectric"].update([_dielectric("t", "one", 9.0, "given in study t", minutes=5)])
    stores["validation"].update([{**_validation("passed", minutes=5), "study": "t", "validation_id": "t-abc"}])
    counts = _run_with_validation(stores)
    assert counts == {"DiffusivityBuilder": 3, "ConductivityBuilder": 1, "AndersonStuartBuilder": 1}
    conductivity, anderson_stuart = _by_group(stores["conductivity"]), _by_group(stores["anderson_stuart"])
    for group, document in first["conductivity"].items():
        assert conductivity[group] == document  # untouched, not rebuilt
    for group, document in first["anderson_stuart"].items():
        assert anderson_stuart[group] == document
    theirs = conductivity[("t", "one")]
    assert theirs["conductivity_id"] == "t/one" and theirs["temperatures_K"] == [600.0, 700.0, 800.0]
    assert theirs["activation_energy_eV"] == pytest.approx(0.31, rel=1e-6)
    assert conductivity[("s", "one")]["activation_energy_eV"] == pytest.approx(EA, rel=1e-6)
    # each study's own validation and eps_r: the same network validated in study t is not validated in s
    assert theirs["validated"] is True and conductivity[("s", "one")]["validated"] is None
    assert anderson_stuart[("t", "one")]["epsilon_r"] == 9.0 and anderson_stuart[("s", "one")]["epsilon_r"] == 5.13
    assert report("s", "again") == alone
    assert (tmp_path / "again" / "table2.csv").read_text() == (tmp_path / "alone" / "table2.csv").read_text()
    both = write_report(list(stores["conductivity"].query()), list(stores["anderson_stuart"].query()),
                        list(stores["diffusivity"].query()), tmp_path / "both")
    assert "| study | material |" in both and "| t | Li60Si8P10S71Cl1 |" in both
    assert {p.name for p in (tmp_path / "both").glob("arrhenius_*.png")} == {
        "arrhenius_all.png", "arrhenius_s_one.png", "arrhenius_s_zero.png", "arrhenius_t_one.png"}


def test_a_build_restricted_to_one_study_reads_no_other(stores):
    stores["md_tasks"].update([_task("one", "Li60Si8P10S71Cl1", 1, t, study="t") for t in (600.0, 700.0, 800.0)])
    s = stores
    counts = run_builders([DiffusivityBuilder(s["md_tasks"], s["diffusivity"], study="t"),
                           ConductivityBuilder(s["diffusivity"], s["conductivity"], s["validation"], study="t"),
                           AndersonStuartBuilder(s["diffusivity"], s["dielectric"], s["conductivity"],
                                                 s["anderson_stuart"], study="t")])
    assert counts == {"DiffusivityBuilder": 3, "ConductivityBuilder": 1, "AndersonStuartBuilder": 1}
    assert {d["study"] for name in ("diffusivity", "conductivity", "anderson_stuart") for d in s[name].query()} == {"t"}
    # no dielectric document of study t: missing, not borrowed from study s's document of the same substitution
    assert s["anderson_stuart"].query_one({})["epsilon_r"] is None


def test_runs_from_several_networks_are_fitted_with_a_warning(stores):
    other = _task("one", "Li60Si8P10S71Cl1", 1, 800.0, minutes=1)
    stores["md_tasks"].update([{**other, "model_sha256": "def"}])
    _run(stores)
    one = stores["conductivity"].query_one({"composition_id": "one"})
    assert one["model_sha256"] == ["abc", "def"]
    assert any("2 networks trained apart (abc, def)" in w for w in one["warnings"])
    assert not any("networks" in w for w in stores["conductivity"].query_one({"composition_id": "zero"})["warnings"])


def test_an_ensemble_of_networks_is_pooled_validated_together_and_compared(stores):
    """training.networks: runs of networks trained on the same data (one ensemble_sha256) are pooled without the
    mixed-networks warning, covered by the ensemble's one validation document, fitted network by network, and
    flagged when the networks disagree beyond the MD's errors at a temperature where both ran."""
    ea = {0: EA, 1: EA + 0.08}  # network 1 is slower: at 700 K its D is 26 % lower, 9 sigma of a 3 % error
    runs = []
    for k in (0, 1):
        for t in (600.0, 700.0, 800.0):
            task = _task("one", "Li60Si8P10S71Cl1", 1, t, ea=ea[k])
            runs.append({**task, "task_id": f"{task['task_id']}-n{k}", "network": k, "model_sha256": f"sha{k}",
                         "ensemble_sha256": "sha0"})
    stores["md_tasks"].remove_docs({"substitution_id": "one"})
    stores["md_tasks"].update(runs)
    stores["validation"].update([{**_validation("passed"), "model_sha256": "sha0", "validation_id": "s-shared-sha0",
                                  "ensemble_sha256": ["sha0", "sha1"]}])
    _run_with_validation(stores)
    one = stores["conductivity"].query_one({"composition_id": "one"})
    assert one["model_sha256"] == ["sha0", "sha1"] and not any("trained apart" in w for w in one["warnings"])
    assert one["validated"] is True and one["n_runs"] == 6
    fits = {n["network"]: n for n in one["networks"]}
    assert fits[0]["activation_energy_eV"] == pytest.approx(EA, rel=1e-6)
    assert fits[1]["activation_energy_eV"] == pytest.approx(EA + 0.08, rel=1e-6)
    assert one["network_spread_eV"] == pytest.approx(0.08, rel=1e-6)
    assert one["networks_agree"] is False and one["networks_p_value"] < 1e-6
    assert any("networks, trained on the same data, disagree" in w for w in one["warnings"])
    # the pooled fit's Ea lies between the networks' and its error covers their scatter
    assert EA < one["activation_energy_eV"] < EA + 0.08 and one["activation_energy_std_eV"] > 0.01


def test_a_temperature_the_study_no_longer_lists_is_kept_but_not_fitted(stores):
    """The study's plan (written at submission) says what it asks for now: a run left in the database from an
    earlier version of the study file is named in the warnings, not fitted; changing the plan rebuilds."""
    from dopant_workflows.schemas.plan import StudyPlanDocument

    studies = MemoryStore(collection_name="studies", key=COLLECTIONS["studies"])
    studies.connect()

    def plan(temperatures, minutes):
        document = StudyPlanDocument(study="s", temperatures_K=temperatures, substitution_ids=["one", "zero"],
                                     engine="embedded").model_dump()
        studies.update([{**document, "last_updated": T0 + timedelta(minutes=minutes)}])

    def build():
        s = stores
        run_builders([DiffusivityBuilder(s["md_tasks"], s["diffusivity"]),
                      ConductivityBuilder(s["diffusivity"], s["conductivity"], studies=studies),
                      AndersonStuartBuilder(s["diffusivity"], s["dielectric"], s["conductivity"],
                                            s["anderson_stuart"])])
        return s["conductivity"].query_one({"composition_id": "one"})

    stores["md_tasks"].update([{**_task("one", "Li60Si8P10S71Cl1", 1, 500.0), "diffusivity_cm2_s": 1e-4,
                                "rdf_first_peak_A": 9.0}])
    plan([500.0, 600.0, 700.0, 800.0], 0)
    assert build()["temperatures_K"] == [500.0, 600.0, 700.0, 800.0]
    plan([600.0, 700.0, 800.0], 5)  # the study file without 500 K, submitted again
    one = build()
    assert one["temperatures_K"] == [600.0, 700.0, 800.0]
    assert one["activation_energy_eV"] == pytest.approx(EA, abs=1e-6)  # the off-law 500 K run is not in the fit
    assert "runs at 500 K are not among the study's temperatures (600, 700, 800 K) any more: kept in the " \
           "database, not fitted" in one["warnings"]
    assert stores["md_tasks"].count({"temperature_K": 500.0}) == 1
    # Anderson-Stuart's jump distance: the RDF peaks of the fitted runs only
    assert stores["anderson_stuart"].query_one({"composition_id": "one"})["jump_distance_A"] == pytest.approx(3.35)
    plan([900.0, 1000.0], 10)  # none of its runs at the planned temperatures yet: a failure the build reports
    summary = run_builders([ConductivityBuilder(stores["diffusivity"], stores["conductivity"], studies=studies)])
    failures = {key: error for _, key, error in summary.failures}
    assert failures["s/one"].startswith("no MD run at the study's temperatures yet; runs at 500, 600, 700, 800 K")


def test_documents_from_before_the_study_key_are_rebuilt_not_doubled(stores):
    """A database written when conductivity and Anderson-Stuart documents were keyed by substitution alone: the
    old documents (derived) are replaced by rebuilt ones, never left beside them."""
    _run(stores)
    for name in ("conductivity", "anderson_stuart"):
        old = [{k: v for k, v in d.items() if k not in (COLLECTIONS[name], "_id")} for d in stores[name].query()]
        stores[name].remove_docs({})
        stores[name]._collection.insert_many(old)  # as the earlier layout stored them: no key field
    _run(stores)
    for name in ("conductivity", "anderson_stuart"):
        documents = list(stores[name].query())
        assert sorted(d[COLLECTIONS[name]] for d in documents) == ["s/one", "s/zero"]


def test_a_json_results_database_of_the_earlier_layout_is_read_and_rebuilt(tmp_path):
    """Files written when dielectric, conductivity and Anderson-Stuart documents were keyed by substitution alone
    (maggma's JSONStore refuses a file whose documents lack its key): read, keyed by study, and the derived
    documents rebuilt once; a document that cannot be keyed is an error naming the file."""
    import json

    from builders import get_builders
    from dopant_workflows.db import ResultsDB, insert
    from dopant_workflows.errors import DopwfInputError

    results = tmp_path / "results"
    (tmp_path / "db.json").write_text(json.dumps({"kind": "json", "directory": str(results)}))
    db = ResultsDB.from_file(tmp_path / "db.json")
    for t in (600.0, 700.0, 800.0):
        insert(db, "md_tasks", _task("one", "Li60Si8P10S71Cl1", 1, t))
    run_builders(get_builders(db))
    for name in ("dielectric", "conductivity", "anderson_stuart"):  # as the earlier layout wrote them
        documents = json.loads((results / f"{name}.json").read_text()) if (results / f"{name}.json").exists() else []
        documents = documents or [{**_dielectric("s", "one", 5.13, "Rao"), "last_updated": T0.isoformat()}]
        (results / f"{name}.json").write_text(json.dumps([{k: v for k, v in d.items() if k != COLLECTIONS[name]}
                                                          for d in documents]))
    counts = run_builders(get_builders(db))
    assert counts == {"DiffusivityBuilder": 0, "ConductivityBuilder": 1, "AndersonStuartBuilder": 1}
    for name in ("conductivity", "anderson_stuart"):
        documents = json.loads((results / f"{name}.json").read_text())
        assert [d[COLLECTIONS[name]] for d in documents] == ["s/one"] and "legacy_layout" not in documents[0]
    a_s = json.loads((results / "anderson_stuart.json").read_text())[0]
    assert a_s["epsilon_r"] == 5.13  # the earlier layout's dielectric document, read under its derived key
    assert run_builders(get_builders(db)) == {"DiffusivityBuilder": 0, "ConductivityBuilder": 0,
                                              "AndersonStuartBuilder": 0}
    (results / "conductivity.json").write_text(json.dumps([{"formula": "X"}]))
    with pytest.raises(DopwfInputError, match=r"conductivity.json.*without 'conductivity_id'"):
        run_builders(get_builders(db))


def _arrangement(sub, composition, temperature, factor=1.0, ea=0.20, rank=0):
    task = _task(sub, "Li60Si8P10S70Cl2", 2, temperature, ea=ea)
    task["diffusivity_cm2_s"] *= factor
    task["diffusivity_std_cm2_s"] = 0.03 * task["diffusivity_cm2_s"]
    return {**task, "composition_id": composition, "arrangement": rank}


def test_arrangements_are_pooled_and_the_study_ranked(stores):
    """Two arrangements of one composition are one document (pooled per temperature, each arrangement's own fit
    beside it); every composition gets its rank and the probability that it beats the next; identical
    compositions are a tie sharing a rank."""
    temperatures = (600.0, 700.0, 800.0)
    stores["md_tasks"].update([_arrangement(sub, "two", t, rank=k) for k, sub in enumerate(("two-a", "two-b"))
                               for t in temperatures])
    _run(stores)
    docs = {d["composition_id"]: d for d in stores["conductivity"].query()}
    two = docs["two"]
    assert two["conductivity_id"] == "s/two" and two["substitution_ids"] == ["two-a", "two-b"]
    assert two["n_runs"] == 6 and two["runs_per_temperature"] == {"600": 2, "700": 2, "800": 2}
    assert two["activation_energy_eV"] == pytest.approx(0.20, rel=1e-6)
    assert [a["activation_energy_eV"] for a in two["arrangements"]] == pytest.approx([0.20, 0.20], rel=1e-6)
    assert two["arrangements_agree"] is True and two["arrangement_spread_eV"] == pytest.approx(0, abs=1e-9)
    # Ea 0.20 against 0.25 at the same prefactor: sigma(300 K) 7x higher, far beyond the errors
    assert two["rank"] == 1 and two["p_above_next"] > 0.999 and two["tied_with_next"] is False
    assert docs["one"]["rank"] == docs["zero"]["rank"] == 2  # the same law: a tie, stated
    upper = min((docs["one"], docs["zero"]), key=lambda d: d["composition_id"])
    assert upper["p_above_next"] == pytest.approx(0.5, abs=0.01) and upper["tied_with_next"] is True
    assert {d["n_ranked"] for d in docs.values()} == {3}
    assert stores["anderson_stuart"].query_one({"composition_id": "two"})["formula"] == "Li60Si8P10S70Cl2"


def test_arrangements_that_disagree_beyond_their_errors_are_flagged(stores, tmp_path):
    from dopant_workflows.report import CONCENTRATION_PLOT, write_report

    stores["md_tasks"].update([_arrangement(sub, "two", t, factor=factor, rank=k)
                               for k, (sub, factor) in enumerate((("two-a", 1.0), ("two-b", 2.0)))
                               for t in (600.0, 700.0, 800.0)])
    _run(stores)
    two = stores["conductivity"].query_one({"composition_id": "two"})
    assert two["arrangements_agree"] is False and two["arrangements_p_value"] < 1e-6
    assert any("arrangements disagree beyond their errors" in w for w in two["warnings"])
    # pooled: the mean of the two at each temperature, its error the scatter of the two (D differ by 2x)
    expected = 1.5e-3 * math.exp(-0.20 / (BOLTZMANN_EV_K * 300))
    assert two["diffusivity_300K_cm2_s"] == pytest.approx(expected, rel=1e-6)
    text = write_report(list(stores["conductivity"].query()), list(stores["anderson_stuart"].query()),
                        list(stores["diffusivity"].query()), tmp_path / "report")
    # their scatter is the pooled points' error: sigma(300 K) no longer resolved from the others, a tie stated
    assert "| 1 (tie) | Li60Si8P10S70Cl2 | Cl |" in text and "2: 0.000, DISAGREE" in text
    assert two["activation_energy_std_eV"] > 0.05 and two["tied_with_next"] is True
    assert (tmp_path / "report" / CONCENTRATION_PLOT).stat().st_size > 10_000


def test_a_fit_without_an_error_estimate_is_built_without_an_interval_and_ranked_as_a_tie(tmp_path):
    """Two temperatures, runs without a D error (e.g. too short for block errors): the Arrhenius line is exact
    and has no error estimate. The composition is still built (not failed: that made `dopwf run` exit 1 on a
    finished study), with no 95 % interval instead of NaN bounds, and its ranking step is a tie, not a guess."""
    from dopant_workflows.report import _plot_concentration, tables

    stores = {name: MemoryStore(collection_name=name, key=COLLECTIONS[name])
              for name in ("md_tasks", "diffusivity", "conductivity")}
    for store in stores.values():
        store.connect()
    tasks = [_task("one", "Li60Si8P10S71Cl1", 1, t) for t in (600.0, 800.0)] + [
        _task("two", "Li60Si9P9S70Cl2", 2, t, ea=0.3) for t in (600.0, 800.0)]
    for task in tasks:
        task["diffusivity_std_cm2_s"] = None
    stores["md_tasks"].update(tasks)
    counts = run_builders([DiffusivityBuilder(stores["md_tasks"], stores["diffusivity"]),
                           ConductivityBuilder(stores["diffusivity"], stores["conductivity"])])
    assert counts["ConductivityBuilder"] == 2
    built = {d["composition_id"]: d for d in stores["conductivity"].query()}
    assert set(built) == {"one", "two"}
    one = built["one"]
    assert one["activation_energy_eV"] == pytest.approx(EA, rel=1e-6)
    assert one["conductivity_300K_95_mS_cm"] is None and one["diffusivity_300K_95_cm2_s"] is None
    assert math.isnan(one["activation_energy_std_eV"])
    assert one["rank"] == built["two"]["rank"] == 1 and one["p_above_next"] is None and one["tied_with_next"]
    assert one["p_best"] is None  # no widths, no probability of being best
    rows2, _ = tables(list(built.values()), [])
    assert all("no interval" in " ".join(row) for row in rows2)
    _plot_concentration(list(built.values()), tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
