import json
import subprocess
import sys
from pathlib import Path

from pymatgen.core import Structure

from dopant_workflows.cli import main

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
    assert "12 ANN-MD runs" in out and "eps_r = 5.24 (Rao et al. 2020" in out
    assert len(list(tmp_path.glob("*/POSCAR"))) == 3


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
