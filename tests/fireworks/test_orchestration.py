"""Regression tests of the jobs-layer refactor (issue 10): each failed before the change."""

import json
from datetime import datetime, timezone

import pytest
import yaml
from maggma.stores import MemoryStore

from builders import AndersonStuartBuilder, ConductivityBuilder, DiffusivityBuilder, run_builders
from dopant_workflows.db import COLLECTIONS
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks.config import init_fw_config
from dopant_workflows.fireworks.study_tasks import ActiveLearningRound, RecordDielectric, RunANNMD
from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
from dopant_workflows.fireworks.task_helpers import device_of
from dopant_workflows.structures.hosts import load_host
from dopant_workflows.study import StudyValidationError, study_from_dict
from tests.helpers import SMOKE, dopwf, example_data


def _smoke(**changes) -> dict:
    data = yaml.safe_load(SMOKE.read_text())
    data.update(changes)
    return data


def test_submit_with_config_uses_that_config(tmp_path):
    """1. FireWorks was imported (reading no configuration) before --config was set: 'env.db_file is not set'."""
    config = init_fw_config(tmp_path / "cfg")
    done = dopwf(["submit", str(SMOKE), "--config", str(config.directory)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submitted study smoke: 13 Fireworks" in done.stdout


def test_md_seeds_and_run_directories_follow_the_substitution_not_its_position():
    """2. Seeds came from the position in the enumeration, directories from the id: reordering counts swapped
    seeds under the same directories."""
    def md_tasks(counts):
        data = _smoke()
        data["substitutions"]["counts"] = counts
        wf = get_wf_dopant_study(study_from_dict(data))
        return {fw.name: (fw.tasks[0]["seed"], fw.tasks[0]["run_path"]) for fw in wf.fws if " md " in fw.name}

    forward, backward = md_tasks([0, 1]), md_tasks([1, 0])
    assert forward == backward and len(forward) == 4 + 4  # production MD, and validation MD (2 T x 2 engines)
    assert len({seed for seed, _ in forward.values()}) == 8  # every run its own seed


def test_one_temperature_is_refused_by_name():
    """3a. A one-temperature study validated, and its conductivity build failed later."""
    with pytest.raises(StudyValidationError, match="temperatures_K: List should have at least 2 items"):
        study_from_dict(_smoke(temperatures_K=[600]))


def _diffusivity_task(sub, temperature, dopant="Cl", oxidation_state=-1.0):
    d = 1e-5 * (temperature / 600.0) ** 4
    return {"task_id": f"s-{sub}-{temperature:g}K", "study": "s", "substitution_id": sub, "composition_id": sub,
            "formula": "Li60X",
            "dopant": dopant, "dopant_count": 1, "dopant_fraction": 1 / 150, "dopant_oxidation_state": oxidation_state,
            "temperature_K": temperature, "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": 0.1 * d,
            "diffusivity_components_cm2_s": {"a": d, "b": d, "c": d}, "conductivity_mS_cm": 1.0,
            "rdf_first_peak_A": 3.4, "n_carriers": 60, "volume_A3": 2857.0,
            "composition": {"Li": 60, "Si": 8, "P": 10, "S": 71, dopant: 1}, "thermostat_ok": True,
            "model_sha256": "abc", "warnings": [], "last_updated": datetime(2026, 1, 1, tzinfo=timezone.utc)}


def _stores():
    names = ("md_tasks", "diffusivity", "conductivity", "dielectric", "anderson_stuart")
    stores = {name: MemoryStore(collection_name=name, key=COLLECTIONS[name]) for name in names}
    for store in stores.values():
        store.connect()
    return stores


def _builders(s):
    return [DiffusivityBuilder(s["md_tasks"], s["diffusivity"]),
            ConductivityBuilder(s["diffusivity"], s["conductivity"]),
            AndersonStuartBuilder(s["diffusivity"], s["dielectric"], s["conductivity"], s["anderson_stuart"])]


def test_a_failed_build_is_reported_not_stored_and_the_report_still_reads(tmp_path):
    """3b. A one-temperature substitution failed silently in maggma (state: failed), was counted as processed,
    and the report crashed with a KeyError."""
    from dopant_workflows.report import write_report

    s = _stores()
    s["md_tasks"].update([_diffusivity_task("one", 600.0)] + [_diffusivity_task("two", t) for t in (600.0, 800.0)])
    summary = run_builders(_builders(s))
    assert summary.failures == [("ConductivityBuilder", "s/one", "MD runs at [600.0] K: an Arrhenius fit needs at "
                                                             "least two temperatures")]
    assert [d["composition_id"] for d in s["conductivity"].query()] == ["two"]
    text = write_report(list(s["conductivity"].query()), list(s["anderson_stuart"].query()),
                        list(s["diffusivity"].query()), tmp_path)
    assert "Li60X" in text and (tmp_path / "arrhenius_two.png").is_file()
    assert run_builders(_builders(s)).failures == summary.failures  # tried again, reported again


def test_dopwf_build_exits_nonzero_naming_the_failure(tmp_path):
    from dopant_workflows.db import ResultsDB, insert

    config = init_fw_config(tmp_path / "cfg")
    insert(ResultsDB.from_file(config.directory / "db.json"), "md_tasks", _diffusivity_task("one", 600.0))
    done = dopwf(["build", "--config", str(config.directory)], tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "FAILED ConductivityBuilder s/one: MD runs at [600.0] K" in done.stdout


def test_vasp_segments_carry_dupefinders_walltime_and_the_study_segment_length():
    """4. VASP AIMD segment Fireworks had no dupefinder, no walltime, and a hard-coded 500-step segment."""
    data = _smoke(engine="vasp", dielectric=[],
                  reference_aimd={"n_steps": 100, "segment_steps": 40, "walltime_s": 7200})
    wf = get_wf_dopant_study(study_from_dict(data))
    segments = sorted((fw for fw in wf.fws if "aimd segment" in fw.name and "validation" not in fw.name),
                      key=lambda fw: fw.spec["segment_index"])
    assert len(segments) == 3  # 40 + 40 + 20 steps
    assert all("_dupefinder" in fw.spec for fw in wf.fws)
    settings = segments[0].tasks[0]["settings"]
    assert settings["segment_steps"] == 40 and settings["walltime_s"] == 7200 and settings["seed"] == 3
    # validation against VASP: per temperature, VASP AIMD at that temperature (smoke protocol: 0.04 ps
    # equilibration + 0.4 ps production = 220 steps in segments of 40), then the analysis of its frames
    validation = [fw for fw in wf.fws if "validation reference md" in fw.name]
    for temperature in (400, 500):
        runs = [fw for fw in validation if f" {temperature}K #1 aimd segment" in fw.name]
        assert len(runs) == 6
        first = runs[0].tasks[0]["settings"]
        assert (first["n_steps"], first["temperature_start_K"], first["temperature_end_K"]) == (220, temperature,
                                                                                                temperature)
        (analysis,) = [fw for fw in validation if fw.name.endswith(f" {temperature}K #1 analysis")]
        assert [wf.id_fw[p].name for p in wf.links.parent_links[analysis.fw_id]] == [
            f"smoke shared validation reference md {temperature}K #1 aimd segment 5"]
    seeds = {fw.tasks[0]["settings"]["seed"] for fw in validation if "aimd segment 0" in fw.name}
    assert len(seeds) == 2  # independent runs: VASP's RANDOM_SEED differs


def test_a_worker_without_device_runs_on_cpu_and_one_without_db_file_is_named():
    """5. device_of raised KeyError for a worker whose env has no 'device'."""
    assert device_of({"_fw_env": {"db_file": "x"}}) == "cpu"
    assert device_of({}) == "cpu"
    task = RecordDielectric(study="s", substitution_id="one", formula="Li60X", eps_r=5.0, source="test")
    with pytest.raises(DopwfInputError, match="my_fworker.yaml of this worker: env.db_file is not set"):
        task.run_task({"_fw_env": {"runs_dir": "/tmp"}})


def test_anderson_stuart_is_not_computed_for_a_cation_dopant():
    """6. The Anderson-Stuart builder took any dopant's radius as the anion's."""
    s = _stores()
    s["md_tasks"].update([_diffusivity_task("ge", t, dopant="Ge", oxidation_state=4.0) for t in (600.0, 800.0)])
    s["dielectric"].update([{"dielectric_id": "s/ge", "study": "s", "substitution_id": "ge", "composition_id": "ge",
                             "formula": "Li60X", "eps_r": 5.0,
                             "source": "test", "last_updated": datetime(2026, 1, 1, tzinfo=timezone.utc)}])
    run_builders(_builders(s))
    document = s["anderson_stuart"].query_one({"composition_id": "ge"})
    assert document["barrier_eV"] is None and "the dopant Ge (+4) is not an anion" in document["missing_reason"]


def test_legacy_training_keys_are_read_into_reference_aimd(caplog):
    data = _smoke(training={"mode": "shared", "aimd_steps": 120, "aimd_temperatures_K": [300, 800]})
    data.pop("reference_aimd")
    study = study_from_dict(data)
    assert (study.reference_aimd.n_steps, study.reference_aimd.temperature_end_K) == (120, 800)
    assert "please move them there" in caplog.text


def test_cli_and_firetask_share_the_stage_settings():
    """Defaults are declared once: dopwf ann train's options come from TrainingSettings."""
    from dopant_workflows.ann.settings import TrainingSettings
    from dopant_workflows.cli import build_parser

    args = build_parser().parse_args(["ann", "train", "x.extxyz", "--out", "m"])
    settings = TrainingSettings(**{k: getattr(args, k) for k in TrainingSettings.model_fields if hasattr(args, k)})
    assert settings == TrainingSettings()
    assert json.loads(json.dumps(settings.as_record())) == TrainingSettings(**settings.as_record()).as_record()


def test_a_protocol_section_without_preset_overrides_the_demo_preset():
    study = study_from_dict(_smoke(protocol={"production_ps": 8.0}))
    assert (study.protocol.preset, study.protocol.heating_ps, study.protocol.production_ps) == ("demo", 1.0, 8.0)


def test_active_learning_explores_only_the_cells_the_workflow_is_given():
    """get_wf_dopant_study(study, substitutions): active learning explored the study's whole enumeration, also cells
    a caller left out and never simulated. Now: the training cell and the substitutions given."""
    study = study_from_dict(_smoke(active_learning={"enabled": True}))
    substitutions = study.enumerate_substitutions()
    cl_free, one_cl = sorted(substitutions, key=lambda s: s.dopant_count)

    def explored(subset):
        wf = get_wf_dopant_study(study, subset)
        rounds = [fw.tasks[0] for fw in wf.fws if isinstance(fw.tasks[0], ActiveLearningRound)]
        assert len(rounds) == 1
        simulated = {fw.tasks[0]["substitution"]["id"] for fw in wf.fws if isinstance(fw.tasks[0], RunANNMD)}
        assert simulated == {s.id for s in (substitutions if subset is None else subset)}
        return [name for name, _ in rounds[0]["cells"]]

    # one_cl is the host itself (the paper's cell, site order and images aside): explored once, as the training cell
    assert explored(None) == explored(substitutions) == ["training", cl_free.id]
    assert explored([one_cl]) == ["training"]  # cl_free was explored too
    assert explored([cl_free]) == ["training", cl_free.id]


def test_a_simulated_cell_that_is_the_training_cell_is_explored_once():
    """examples/lgps_validation.yaml (the host undoped, count 0) explored and confirmed the same 50-atom cell twice
    a round: ``Structure.__eq__`` told the host from its substitution by site properties and periodic images."""
    study = study_from_dict(example_data("lgps_validation.yaml"))
    (only,) = study.enumerate_substitutions()
    assert only.structure != load_host(study.host)  # what the old test compared
    wf = get_wf_dopant_study(study)
    (first,) = [fw.tasks[0] for fw in wf.fws if isinstance(fw.tasks[0], ActiveLearningRound)]
    assert [name for name, _ in first["cells"]] == ["training"]
