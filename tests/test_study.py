from pathlib import Path

import pytest
import yaml

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.study import StudyValidationError, load_study, study_from_dict
from tests.helpers import example_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["lsips_cl_study.yaml", "lgps_cl_study.yaml", "lgps_validation.yaml",
                                  "lsips_cl_vasp.yaml", "lsips_halides.yaml", "lsips_cl_cp2k.yaml"])
def test_examples_are_valid(name):
    study = load_study(EXAMPLES / name)
    # the paper's (5,5), but Cl-doped LGPS: a (5,5) network stalled in active learning where (10,10) converged
    # (bench/results/lgps_cl_study/README.md)
    wide = name == "lgps_cl_study.yaml"
    assert study.ann.cutoff_A == 6.5 and study.ann.hidden_layers == ((10, 10) if wide else (5, 5))
    assert all(t > 0 for t in study.temperatures_K)


def test_the_cp2k_example_trains_on_dft_labels_of_the_papers_cell_and_its_chgnet_twin_differs_only_there():
    """examples/lsips_cl_cp2k.yaml (issue 32's softening measurement): CP2K labels every training frame of the
    paper's 50-atom cell; without its labels section it is the CHGNet-trained counterpart, which must still load."""
    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.structures.io import structure_fingerprint

    raw = example_data("lsips_cl_cp2k.yaml")
    study = study_from_dict(raw)
    assert study.labels is not None and study.labels.engine == "cp2k" and study.engine == "embedded"
    (cell,) = study.enumerate_substitutions()  # the paper's cell itself: what the CP2K labels train on is simulated
    assert structure_fingerprint(cell.structure) == structure_fingerprint(load_host(study.host))
    twin = study_from_dict({key: value for key, value in raw.items() if key != "labels"})
    assert twin.labels is None and twin.protocol == study.protocol and twin.precision == study.precision


def test_paper_study_carries_dielectric_provenance():
    study = load_study(EXAMPLES / "lsips_cl_study.yaml")
    eps = {entry.formula: entry.eps_r for entry in study.dielectric}
    assert eps == {"Li60Si7P11S71Cl1": 5.13, "Li60Si8P10S70Cl2": 5.24, "Li60Si9P9S69Cl3": 4.92}
    assert all("Rao" in entry.source for entry in study.dielectric)


def _write(tmp_path, data):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _paper(**changes):
    data = example_data("lsips_cl_study.yaml")
    data.update(changes)
    return data


def test_every_problem_is_reported_at_once_with_its_path(tmp_path):
    data = _paper(temperatures_K=[600, -5, 0], engine="gaussian09", protocol={"preset": "fast"}, colour="blue")
    data["substitutions"]["counts"] = [1, 1, -2]
    data["substitutions"]["supercell"] = [3, 0, 1]
    data["ann"]["hidden_layers"] = [5, 0]
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    paths = [path for path, _ in info.value.problems]
    for expected in ["temperatures_K[1]", "temperatures_K[2]", "engine", "protocol.preset", "colour",
                     "substitutions.counts", "substitutions.supercell", "ann.hidden_layers[1]"]:
        assert expected in paths, (expected, paths)
    message = str(info.value)
    assert "unknown field" in message and "duplicate counts [1]" in message


@pytest.mark.parametrize("supercell", [[1.5, 1, 1], [[1, 0, 0], [0, 1, 0], [0, 0, "a"]], "3x1x1"])
def test_bad_supercell_and_layers_are_one_line_each_without_pydantic_internals(tmp_path, supercell):
    data = _paper()
    data["substitutions"]["supercell"] = supercell
    data["ann"]["hidden_layers"] = [-5]
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    assert [path for path, _ in info.value.problems] == ["substitutions.supercell", "ann.hidden_layers[0]"]
    assert "expected 3 positive integers (e.g. 3 1 1) or a 3x3 integer matrix" in str(info.value)
    assert "list[" not in str(info.value) and "Tuple should have" not in str(info.value)


def test_dielectric_entries_that_a_vasp_study_would_ignore_are_refused(tmp_path):
    with pytest.raises(StudyValidationError, match="with engine vasp every cell's eps_r comes from its own DFPT"):
        load_study(_write(tmp_path, _paper(engine="vasp")))
    vasp = _paper(engine="vasp", dielectric=[])
    vasp["active_learning"].pop("confirm_ps")  # the demo's uniform selection confirms in the round: not with VASP
    assert load_study(_write(tmp_path, vasp)).engine == "vasp"


def test_no_hidden_layer_at_all_is_named(tmp_path):
    data = _paper()
    data["ann"]["hidden_layers"] = []
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    assert [path for path, _ in info.value.problems] == ["ann.hidden_layers"]


def test_physics_problems_are_reported_with_schema_problems(tmp_path):
    data = _paper(temperatures_K=[-1])
    data["substitutions"]["dopant"] = "Br:O"
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    problems = dict(info.value.problems)
    assert "temperatures_K[0]" in problems
    assert "contains no O" in problems["substitutions"]


def test_unknown_host_is_reported(tmp_path):
    with pytest.raises(StudyValidationError, match=r"host: host 'nothing.cif': neither a built-in host"):
        load_study(_write(tmp_path, _paper(host="nothing.cif")))


def test_host_paths_are_relative_to_the_study_file(tmp_path, lsips):
    (tmp_path / "cells").mkdir()
    lsips.to(filename=str(tmp_path / "cells" / "POSCAR"))
    study = load_study(_write(tmp_path, _paper(host="cells/POSCAR")))
    assert Path(study.host) == (tmp_path / "cells" / "POSCAR").resolve()


def test_not_a_mapping_and_not_yaml(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(StudyValidationError, match="expected a mapping"):
        load_study(path)
    path.write_text("name: [unclosed\n")
    with pytest.raises(StudyValidationError, match="not valid YAML"):
        load_study(path)
    with pytest.raises(DopwfInputError, match="not found"):
        load_study(tmp_path / "absent.yaml")


def test_dielectric_needs_a_source_and_unique_formulas(tmp_path):
    data = _paper(dielectric=[{"formula": "Li60Si7P11S71Cl1", "eps_r": 5.1},
                              {"formula": "Li60Si7P11S71Cl1", "eps_r": 5.2, "source": "DFPT"}])
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    assert ("dielectric[0].source", "Field required") in info.value.problems


def test_validation_is_on_by_default_and_its_section_is_checked(tmp_path):
    from dopant_workflows.study import StudyValidationError, study_from_dict

    study = load_study(EXAMPLES / "lgps_validation.yaml")
    assert study.validation.enabled and study.validation_temperatures() == study.temperatures_K
    assert study.validation.seeds == 3 and study.validation_protocol() == study.protocol
    raw = yaml.safe_load((EXAMPLES / "lgps_validation.yaml").read_text())
    raw["validation"] = {"temperatures_K": [800], "seeds": 0, "protocol": {"production_ps": 2},
                         "thresholds": {"activation_energy_eV": -1}}
    with pytest.raises(StudyValidationError) as error:
        study_from_dict(raw)
    assert {path for path, _ in error.value.problems} == {
        "validation.temperatures_K", "validation.seeds", "validation.thresholds.activation_energy_eV"}
    raw["validation"] = {"temperatures_K": [700, 900], "protocol": {"production_ps": 2}}
    study = study_from_dict(raw)
    # a protocol without a preset overrides the demo preset, as the study's own protocol section does
    assert study.validation_protocol().preset == "demo" and study.validation_protocol().production_ps == 2
    assert study.validation_temperatures() == [700, 900]


def test_max_seeds_is_refused_below_seeds_and_advised_against_beside_an_aimd_reference():
    from dopant_workflows.study import StudyValidationError, study_from_dict

    raw = yaml.safe_load((EXAMPLES / "lgps_validation.yaml").read_text())
    raw["validation"] = {"seeds": 4, "max_seeds": 3}
    with pytest.raises(StudyValidationError, match="max_seeds 3 is below seeds 4"):
        study_from_dict(raw)
    raw["validation"] = {"seeds": 2, "max_seeds": 6}
    assert study_from_dict(raw).validation.max_seeds == 6
    for embedded in ("embedded", "embedded:chgnet", "embedded:sevenn"):  # every in-process engine adds its MD runs
        study = study_from_dict({**raw, "engine": embedded})
        assert study.validation_adds_runs and "(up to 6)" in study.validation_resolution()
        assert not any("max_seeds" in note for note in study.advice())
    raw["engine"] = "vasp"  # AIMD reference runs are not added: the study says so before it runs
    del raw["active_learning"]["confirm_ps"]  # with VASP and uniform selection, refused on its own (test_confirmation)
    assert any(note.startswith("validation.max_seeds adds reference MD runs of the embedded engines only")
               for note in study_from_dict(raw).advice())


def test_numbers_must_be_finite_and_temperatures_in_kelvin(tmp_path):
    """inf/NaN anywhere (YAML's .inf, .nan) and MD temperatures below 5 K are refused, each with its field."""
    data = _paper(temperatures_K=[600, float("inf")])
    data["protocol"] = {"production_ps": float("nan")}
    data["dielectric"][0]["eps_r"] = float("inf")
    data["validation"]["temperatures_K"] = [3, 900]
    data["active_learning"]["temperatures_K"] = [2.5]
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    problems = dict(info.value.problems)
    for path in ("temperatures_K[1]", "protocol.production_ps", "dielectric[0].eps_r"):
        assert "finite number" in problems[path], (path, problems)
    assert "below 5 K: are they in K?" in problems["validation.temperatures_K"]
    assert "below 5 K" in problems["active_learning.temperatures_K"]


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text((EXAMPLES / "quick_study.yaml").read_text() + "seed: 7\nseed: 8\n")
    with pytest.raises(StudyValidationError, match=r"key 'seed' given twice \(first on line \d+\)"):
        load_study(path)


def test_dielectric_entries_must_match_a_substitution(tmp_path):
    data = _paper()
    data["dielectric"][1]["formula"] = "Li60Si8P10S70Cl3"  # a typo of the 2-Cl cell's formula
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    message = dict(info.value.problems)["dielectric[1].formula"]
    assert "'Li60Si8P10S70Cl3' is none of the study's substitutions" in message
    assert "Li60Si8P10S70Cl2" in message  # names the formulas it could have meant


def test_a_host_with_two_atoms_on_one_spot_is_refused(tmp_path, lsips):
    doubled = lsips.copy()
    doubled.append(doubled[0].specie, doubled[0].frac_coords + [0.005, 0, 0])
    doubled.to(filename=str(tmp_path / "POSCAR"))
    with pytest.raises(StudyValidationError, match=r"host: .* are 0\.0\d\d A apart .* a site given twice"):
        load_study(_write(tmp_path, _paper(host=str(tmp_path / "POSCAR"))))


def test_validate_refuses_what_training_and_diffusion_would_refuse_later(tmp_path):
    """A training cell that cannot be read, a production too short for an MSD fit, an AIMD that gives fewer
    training frames than a split needs: all named at once, each with its field."""
    data = _paper(protocol={"production_ps": 0.1, "sample_interval_fs": 10})
    data["training"] = {"cell": str(tmp_path / "missing.cif")}
    with pytest.raises(StudyValidationError) as info:
        study_from_dict(data)
    text = str(info.value)
    assert "production_ps 0.1 sampled every 10 fs gives 10 frames" in text and "training.cell" in text
    data = _paper(reference_aimd={"n_steps": 100, "sample_every": 50})
    with pytest.raises(StudyValidationError, match="2 training frames; training needs at least 3"):
        study_from_dict(data)


def test_typos_beyond_physical_ranges_are_refused(tmp_path):
    data = _paper(temperatures_K=[600, 1e9], name="x" * 65, reference_aimd={"time_step_fs": 100},
                  protocol={"time_step_fs": 50})
    with pytest.raises(StudyValidationError) as info:
        study_from_dict(data)
    text = str(info.value)
    for expected in ("above 5000 K: a typo?", "name: String should have at most 64 characters",
                     "reference_aimd.time_step_fs: Input should be less than or equal to 10",
                     "protocol.time_step_fs: Input should be less than or equal to 10"):
        assert expected in text, (expected, text)


def test_shared_mode_fields_are_refused_in_per_substitution_mode():
    data = _paper(training={"mode": "per_substitution", "simulated_cells": {"temperatures_K": [800]}})
    with pytest.raises(StudyValidationError, match="simulated_cells: shared and per_group modes only"):
        study_from_dict(data)


def test_shipped_paper_study_takes_its_reference_data_past_the_hottest_md():
    study = load_study(EXAMPLES / "lsips_cl_study.yaml")
    assert study.md_temperatures() == [600.0, 700.0, 800.0, 900.0]
    assert study.hottest_reference_data_K() == 1200.0
    assert study.advice() == []


def test_reference_data_no_hotter_than_the_md_is_advised_against_with_the_numbers():
    data = _paper()
    data["reference_aimd"]["temperature_end_K"] = 1000
    data["training"]["simulated_cells"]["temperatures_K"] = [800]
    study = study_from_dict(data)
    assert study.hottest_reference_data_K() == 1000.0
    (note,) = study.advice()
    assert "1000 K" in note and "900 K" in note and ">= 1080 K" in note and "temperature_end_K" in note
    data["training"]["simulated_cells"]["temperatures_K"] = [1100]  # hot supercell MD is reference data too
    assert study_from_dict(data).advice() == []


def test_validation_and_exploration_temperatures_count_as_md_and_no_wall_means_no_advice():
    data = _paper()
    data["validation"]["temperatures_K"] = [600, 1100]
    study = study_from_dict(data)
    assert max(study.md_temperatures()) == 1100.0 and ">= 1320 K" in study.advice()[0]
    data["ann"]["core_repulsion"] = False
    assert study_from_dict(data).advice() == []


def _groups(*groups, **changes):
    """The paper's study with these groups, on the paper's own cell (it holds 3 Cl in 3x1x1)."""
    data = _paper(**{"host": "Li20Si3P3S23Cl", **changes})
    data["substitutions"] = [{**data["substitutions"], **group} for group in groups]
    data["dielectric"] = []
    return data


def test_several_substitution_groups_in_one_study():
    """A list of groups; the mapping of earlier files is one group; a cell in two groups is simulated once; each
    cell says its group and is neutral."""
    bromide = {"dopant": "Br:S", "compensate": "vacancy:Li", "counts": [3, 4], "arrangements": 1}
    study = study_from_dict(_groups({"counts": [1, 2], "arrangements": 2}, bromide))
    assert [g.label for g in study.substitutions] == ["Cl:S + Si:P", "Br:S + vacancy:Li"]
    cells = study.enumerate_substitutions()
    assert [(c.group, c.formula, c.rank) for c in cells] == [
        ("Cl:S + Si:P", "Li60Si7P11S71Cl1", 0), ("Cl:S + Si:P", "Li60Si7P11S71Cl1", 1),
        ("Cl:S + Si:P", "Li60Si8P10S70Cl2", 0), ("Cl:S + Si:P", "Li60Si8P10S70Cl2", 1),
        ("Br:S + vacancy:Li", "Li57Si9P9S66Br3Cl3", 0), ("Br:S + vacancy:Li", "Li56Si9P9S65Br4Cl3", 0)]
    assert all(c.net_charge_e == 0 for c in cells) and all(c.meta["composition_id"] == c.formula for c in cells)
    assert len(study_from_dict(_paper()).substitutions) == 1  # the single mapping still loads
    shared = study_from_dict(_groups({"counts": [3]}, {"dopant": "Cl:S", "compensate": "vacancy:Li", "counts": [3]}))
    assert len(shared.enumerate_substitutions()) == 1  # the host cell of both groups: once


def test_arrangements_default_to_two_and_max_per_count_is_their_earlier_name(caplog):
    data = _paper()
    data["substitutions"].pop("arrangements")
    assert study_from_dict(data).substitutions[0].arrangements == 2
    data["substitutions"]["max_per_count"] = 3
    assert study_from_dict(data).substitutions[0].arrangements == 3
    assert caplog.text.count("max_per_count is read as arrangements") == 1  # said once, not per check


def test_group_problems_name_their_group(tmp_path):
    data = _groups({"counts": [1]}, {"dopant": "Br:S", "counts": [1, 70]}, {"counts": [2]})
    with pytest.raises(StudyValidationError, match=r"substitutions: .*groups given twice: Cl:S \+ Si:P in \[3, 1, 1\]"):
        load_study(_write(tmp_path, data))
    data = _groups({"counts": [1]}, {"dopant": "Br:S", "counts": [1, 70]})
    with pytest.raises(StudyValidationError) as info:
        load_study(_write(tmp_path, data))
    assert [path for path, _ in info.value.problems] == ["substitutions[1]"]
    assert "count 70 needs 70 S sites" in str(info.value)
    data = _groups({"counts": [1], "compensate": "vacancy:Xx"})
    with pytest.raises(StudyValidationError, match=r"substitutions\[0\]\.compensate: .*'Xx' is not an element"):
        load_study(_write(tmp_path, data))


def test_labels_are_refused_where_they_cannot_hold():
    """CP2K labels with VASP (which labels itself) or beside a validation against the exploring engine's MD."""
    with pytest.raises(StudyValidationError, match="with engine vasp every label is a VASP single point"):
        study_from_dict(_paper(engine="vasp", dielectric=[], labels={"engine": "cp2k"},
                               validation={"enabled": False}))
    with pytest.raises(StudyValidationError, match=r"set validation: \{enabled: false\}"):
        study_from_dict(_paper(labels={"engine": "cp2k"}))
    study = study_from_dict(_paper(labels={"cp2k": {"cutoff_Ry": 350}, "reference_frames": 40},
                                   validation={"enabled": False}))
    assert study.labels.engine == "cp2k" and study.labels.cp2k.cutoff_Ry == 350
    with pytest.raises(StudyValidationError, match="labels.cp2k.cutof_Ry"):
        study_from_dict(_paper(labels={"cp2k": {"cutof_Ry": 350}}, validation={"enabled": False}))


def test_a_computed_dielectric_constant_has_one_source_and_the_study_s_level_of_theory():
    """dielectric_calculation: refused beside VASP (its own DFPT) and beside dielectric entries (two sources); its
    CP2K settings default to the labels' level of theory; the workflow then runs one CP2K dielectric Firework per
    composition (first arrangement) instead of recording the study file's value."""
    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study

    with pytest.raises(StudyValidationError, match="dielectric_calculation: with engine vasp"):
        study_from_dict(_paper(engine="vasp", dielectric=[], dielectric_calculation={"engine": "cp2k"}))
    with pytest.raises(StudyValidationError, match="dielectric and dielectric_calculation both given"):
        study_from_dict(_paper(dielectric_calculation={"engine": "cp2k"}))
    with pytest.raises(StudyValidationError, match="dielectric_calculation.displacement_A"):
        study_from_dict(_paper(dielectric=[], dielectric_calculation={"displacement_A": 0.5}))
    study = study_from_dict(_paper(dielectric=[], dielectric_calculation={"ionic": False},
                                   labels={"cp2k": {"cutoff_Ry": 350}}, validation={"enabled": False}))
    assert study.dielectric_cp2k_settings().cutoff_Ry == 350
    own = study_from_dict(_paper(dielectric=[], dielectric_calculation={"cp2k": {"cutoff_Ry": 500}}))
    assert own.dielectric_cp2k_settings().cutoff_Ry == 500
    assert study_from_dict(_paper(dielectric=[], dielectric_calculation={})).dielectric_cp2k_settings().cutoff_Ry == 400
    wf = get_wf_dopant_study(study)
    dielectric = [fw for fw in wf.fws if fw.name.endswith(" dielectric")]
    compositions = {s.composition_id for s in study.enumerate_substitutions()}
    assert len(dielectric) == len(compositions)
    for fw in dielectric:
        task = fw.tasks[0]
        assert type(task).__name__ == "RunCp2kDielectric"
        assert task["cp2k"]["cutoff_Ry"] == 350 and task["calculation"]["ionic"] is False


def test_the_demo_says_before_it_runs_what_its_validation_can_resolve():
    """Ea check: |difference| <= 0.05 eV judged once known to +- 0.05 eV; a perfect network then fails it with
    probability 2 Phi(-1) = 31.7 %, at +- 0.025 eV 2 Phi(-2) = 4.6 %."""
    note = load_study(EXAMPLES / "lsips_cl_study.yaml").validation_resolution()
    assert "at 600/900 K, 4 (up to 8) reference runs per temperature" in note
    assert "fails the check in 32 % of runs (at +- 0.025 eV in 5 %)" in note
    tighter = study_from_dict(_paper(validation={"temperatures_K": [600, 900], "seeds": 4, "thresholds": {
        "activation_energy_eV": 0.05, "activation_energy_sigma_eV": 0.02}}))
    assert "4 reference runs" in tighter.validation_resolution() and "in 1 % of runs" in tighter.validation_resolution()
    assert study_from_dict(_paper(validation={"enabled": False})).validation_resolution() is None
