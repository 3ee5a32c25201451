import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pymatgen.core import Structure

from dopant_workflows.cli import main
from tests.helpers import example_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PAPER_ARGS = ["substitutions", "Li20Si3P3S23Cl", "--dopant", "Cl:S", "--compensate", "Si:P",
              "--supercell", "3", "1", "1", "--counts", "1", "2", "3"]


def test_substitutions_json_lines(capsys):
    assert main([*PAPER_ARGS, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["formula"], r["dopant_count"]) for r in rows] == [
        ("Li60Si7P11S71Cl1", 1), ("Li60Si8P10S70Cl2", 2), ("Li60Si9P9S69Cl3", 3)]
    assert [round(100 * r["dopant_fraction"], 2) for r in rows] == [0.67, 1.33, 2.0]
    assert all(r["n_sites"] == 150 and r["id"].startswith(r["formula"]) for r in rows)


def test_substitutions_out_writes_one_poscar_each(tmp_path, capsys):
    assert main([*PAPER_ARGS, "--max-per-count", "2", "--out", str(tmp_path / "cells")]) == 0
    table = capsys.readouterr().out
    assert "Li60Si8P10S70Cl2" in table and "exhaustive" in table
    summary = json.loads((tmp_path / "cells" / "substitutions.json").read_text())
    assert len(summary) == 5  # two per count, but count 3 has only the host configuration
    for row in summary:
        structure = Structure.from_file(tmp_path / "cells" / row["id"] / "POSCAR")
        assert structure.composition.formula.replace(" ", "") == row["formula"]
    assert not list((tmp_path / "cells").glob(".staging-*"))


def test_bad_input_exits_2_names_the_input_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "cells"
    args = [*PAPER_ARGS[:-4], "--counts", "1", "40", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "dopwf substitutions: error:" in err and "count 40" in err
    assert not out.exists()


def test_unreadable_host_file(tmp_path, capsys):
    bad = tmp_path / "host.cif"
    bad.write_text("garbage")
    assert main(["substitutions", str(bad), "--dopant", "Cl:S", "--counts", "1"]) == 2
    assert "host.cif" in capsys.readouterr().err


def test_validate_and_plan(capsys, tmp_path):
    assert main(["validate", str(EXAMPLES / "lsips_cl_study.yaml")]) == 0
    assert "valid study 'lsips-cl'" in capsys.readouterr().out
    assert main(["plan", str(EXAMPLES / "lsips_cl_study.yaml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "24 ANN-MD runs" in out and "eps_r = 5.24 (Rao et al. 2020" in out and "advice:" not in out
    assert "3 compositions in 6 arrangements, every cell neutral" in out
    assert "precision: more production where sigma(Ea) > 0.02 eV, up to 4 rounds and 64 ps" in out
    assert out.count("eps_r = ") == 3  # one per composition
    assert len(list(tmp_path.glob("*/POSCAR"))) == 6


def test_validate_and_plan_give_the_studys_advice(capsys, tmp_path):
    data = example_data("lsips_cl_study.yaml")
    data["reference_aimd"]["temperature_end_K"] = 950
    data["training"].pop("simulated_cells")
    path = tmp_path / "cold.yaml"
    path.write_text(yaml.safe_dump(data))
    for command in ("validate", "plan"):
        assert main([command, str(path)]) == 0  # advice, not an error
        out = capsys.readouterr().out
        assert "advice: reference data reach 950 K" in out and ">= 1080 K" in out


def test_hosts_listing_and_export(tmp_path, capsys):
    assert main(["hosts"]) == 0
    listing = capsys.readouterr().out
    assert "Li20Ge2P4S24" in listing and "Li20Si3P3S23Cl1" in listing
    assert main(["hosts", "LSiPS", "--out", str(tmp_path / "POSCAR")]) == 0
    assert Structure.from_file(tmp_path / "POSCAR").composition.reduced_formula == "Li20Si3P3S23Cl"


def test_init_refusal_exit_code(tmp_path, capsys):
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"export FW_CONFIG_FILE={tmp_path / 'FW_config.yaml'}"
    assert main(["init", "--dir", str(tmp_path), "--mongodb-uri", "mongodb://h.example.edu/db"]) == 2
    assert "--force" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([Path(sys.executable).parent / "dopwf", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("dopwf ")


@pytest.mark.parametrize("args, option, expected", [
    (["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "1e9"], "--temperature-K", "at most 5000"),
    (["arrhenius", "a", "b", "--anion", "Cl", "--eps-r", "0.5"], "--eps-r", "at least 1 (vacuum)"),
    (["ann", "eval", "m", "t.extxyz", "--label", "a/b"], "--label", "it names files"),
    (["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "inf"], "--temperature-K", "finite number"),
    (["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "3"], "--temperature-K", "is it in K?"),
    (["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "600", "--production-ps", "inf"],
     "--production-ps", "finite number"),
    (["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "600", "--heating-ps", "-1"], "--heating-ps",
     "number > 0"),
    (["analyze", "t.extxyz", "--temperature-K", "600", "--time-step-fs", "-2"], "--time-step-fs", "number > 0"),
    (["analyze", "t.extxyz", "--temperature-K", "nan"], "--temperature-K", "finite number"),
    (["ann", "validate", "--model", "m", "--temperatures-K", "600", "2"], "--temperatures-K", "is it in K?"),
])
def test_bad_numbers_are_refused_before_any_work(tmp_path, capsys, args, option, expected):
    """argparse's float takes 'inf' and 'nan'; our option types refuse them (and non-physical values), naming the
    option, exit 2, and nothing is written."""
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and expected in err
    assert not out.exists()


def test_aimd_temperature_range_must_be_finite(tmp_path, capsys):
    out = tmp_path / "aimd"
    assert main(["aimd", "LGPS", "--steps", "10", "--temperatures", "300:inf", "--out", str(out)]) == 2
    assert "both finite and at least 5 K" in capsys.readouterr().err
    assert not out.exists()


def test_user_paths_the_system_refuses_are_one_line_not_a_traceback(tmp_path, capsys):
    """init under a file (NotADirectoryError), bad oxidation states: exit 2, the path or value named."""
    (tmp_path / "a_file").write_text("x")
    assert main(["init", "--dir", str(tmp_path / "a_file" / "sub")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(tmp_path / "a_file") in err
    for states in ("Li:nan", "Li:inf", ":1"):
        assert main(["substitutions", "Li20Si3P3S23Cl", "--dopant", "Cl:S", "--compensate", "Si:P", "--counts", "1",
                     "--oxidation-states", states]) == 2
        assert "expected ELEMENT:CHARGE pairs" in capsys.readouterr().err


def test_md_refuses_what_would_fail_after_the_run_before_any_file(tmp_path, capsys):
    """A species absent from the cell, a production too short for an MSD fit: refused before the first step."""
    out = tmp_path / "md"
    assert main(["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "600", "--species", "Na",
                 "--out", str(out)]) == 2
    assert "species 'Na': no such atoms in" in capsys.readouterr().err and not out.exists()
    assert main(["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "600", "--production-ps", "0.001",
                 "--sample-interval-fs", "100", "--out", str(out)]) == 2
    assert "the MSD fit needs at least 20" in capsys.readouterr().err and not out.exists()


def test_a_directory_or_an_empty_name_where_a_file_is_expected_is_named_as_such(tmp_path, capsys):
    for args, expected in ((["validate", str(tmp_path)], "a directory (expected a study YAML file)"),
                           (["hosts", str(tmp_path)], "a directory (expected a CIF, POSCAR or extxyz file)"),
                           (["hosts", ""], "host '': empty")):
        assert main(args) == 2
        assert expected in capsys.readouterr().err


def test_ann_validate_checks_its_network_and_engine_before_the_reference_runs(tmp_path, capsys):
    out = tmp_path / "v"
    for args, expected in ((["nope", "LGPS"], "model 'nope': not found"),
                           (["nope", "LGPS", "--engine", "bogus"], "engine 'bogus': unknown embedded model")):
        assert main(["ann", "validate", *args, "--temperatures-K", "600", "900", "--out", str(out)]) == 2
        assert expected in capsys.readouterr().err and not out.exists()


def test_fw_config_file_that_is_missing_or_not_yaml_is_named(tmp_path, capsys, monkeypatch):
    for path, text, expected in ((tmp_path / "nope.yaml", None, "not found"),
                                 (tmp_path / "garbage.yaml", b"\xa3\x00\xff", "not a YAML FireWorks configuration")):
        if text is not None:
            path.write_bytes(text)
        monkeypatch.setenv("FW_CONFIG_FILE", str(path))
        assert main(["status"]) == 2
        assert f"FW_CONFIG_FILE {str(path)!r}: {expected}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [
    ["md", "{cell}", "--model", "embedded:chgnet", "--temperature-K", "600"],
    ["aimd", "{cell}", "--steps", "10"],
    ["ann", "validate", "m", "{cell}", "--temperatures-K", "600", "700"],
])
def test_a_disordered_cell_is_refused_before_any_work(tmp_path, capsys, command):
    """Partial occupancies cannot be simulated: named (how many sites, one of them), exit 2, nothing written."""
    from pymatgen.core import Lattice, Structure

    cell = tmp_path / "disordered.cif"
    Structure(Lattice.cubic(5.0), [{"Li": 0.5}, "S"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(filename=str(cell))
    out = tmp_path / "run"
    assert main([*(str(cell) if a == "{cell}" else a for a in command), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "disordered (1 sites with partial occupancies, e.g. site 0: Li0.5)" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("command", [
    ["substitutions", "LGPS", "--dopant", "Cl:S", "--counts", "1"],
    ["md", "LGPS", "--model", "embedded:chgnet", "--temperature-K", "600"],
    ["aimd", "LGPS", "--steps", "10"],
    ["run", str(EXAMPLES / "quick_study.yaml")],
    ["report"],
    ["ann", "scan", "frames.extxyz"],
])
def test_output_directories_are_checked_before_any_work(tmp_path, capsys, command):
    """--out an existing file, or under a missing directory: refused at the door, naming it; no traceback."""
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    for out, expected in ((a_file, "exists and is not a directory"),
                          (tmp_path / "missing" / "run", "its parent directory")):
        with pytest.raises(SystemExit) as info:
            main([*command, "--out", str(out)])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "argument --out" in err and expected in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_output_files_are_checked_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["hosts", "LGPS", "--out", str(tmp_path / "no" / "POSCAR")])
    assert "its directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["submit", str(EXAMPLES / "quick_study.yaml"), "--dry-run", "-o", str(tmp_path)])
    assert "is a directory; expected a file name" in capsys.readouterr().err


def test_an_absurd_supercell_is_refused_before_any_allocation(capsys):
    assert main(["substitutions", "LGPS", "--dopant", "Cl:S", "--supercell", "1000", "1", "1", "--counts", "1"]) == 2
    err = capsys.readouterr().err
    assert "50,000 atoms" in err and "at most 10,000 atoms" in err


@pytest.mark.parametrize("command", [["md", "--model", "embedded:chgnet", "--temperature-K", "600"],
                                     ["aimd", "--steps", "5"]])
def test_overlapping_atoms_are_named_and_leave_no_run_directory(tmp_path, capsys, command):
    from dopant_workflows.structures.hosts import load_host

    host = load_host("LGPS").copy()
    host.append(host[0].specie, host[0].frac_coords + [0.003, 0, 0])
    host.to(filename=str(tmp_path / "POSCAR"))
    out = tmp_path / "run"
    assert main([command[0], str(tmp_path / "POSCAR"), *command[1:], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "atoms 50 (Li) and 0 (Li) are 0.026 A apart" in err and "a site given twice" in err
    assert not out.exists()
