"""dopwf analyze and dopwf arrhenius on synthetic trajectories with an Arrhenius law built in."""

import json
import math

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.cli import main

EA_EV, D0_A2_FS = 0.25, 0.3  # D(T) = D0 exp(-Ea/kT): ~1e-3 A^2/fs (1e-4 cm^2/s) at 800 K


def _trajectory(path, temperature_K, seed):
    d = D0_A2_FS * math.exp(-EA_EV / (BOLTZMANN_EV_K * temperature_K))
    rng = np.random.default_rng(seed)
    dt = 10.0
    li = np.cumsum(rng.normal(scale=math.sqrt(2 * d * dt), size=(300, 30, 3)), axis=0) + rng.uniform(0, 15, (30, 3))
    s = rng.uniform(0, 15, (20, 3))
    frames = []
    for n, positions in enumerate(li):
        atoms = Atoms(["Li"] * 30 + ["S"] * 20, positions=np.vstack([positions, s]), cell=[15, 15, 15], pbc=True)
        atoms.info["time_fs"] = n * dt
        frames.append(atoms)
    write(path, frames, format="extxyz")


def test_analyze_then_arrhenius(tmp_path, capsys):
    temperatures = [600.0, 700.0, 800.0, 900.0]
    for n, t in enumerate(temperatures):
        _trajectory(tmp_path / f"t{t:g}.extxyz", t, seed=n)
        assert main(["analyze", str(tmp_path / f"t{t:g}.extxyz"), "--temperature-K", str(t),
                     "--out", str(tmp_path / f"a{t:g}"), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert {"diffusivity_cm2_s", "diffusivity_std_cm2_s", "conductivity_mS_cm", "diffusivity_components_cm2_s",
                "rdf_first_peak_A"} <= set(summary)
        assert (tmp_path / f"a{t:g}" / "msd.png").stat().st_size > 1000
    assert main(["arrhenius", *[str(tmp_path / f"a{t:g}") for t in temperatures], "--out", str(tmp_path / "arr"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert abs(report["activation_energy_eV"] - EA_EV) < 3 * report["activation_energy_std_eV"] + 0.01
    low, high = report["conductivity_95_mS_cm"]
    assert low < report["conductivity_mS_cm"] < high
    assert (tmp_path / "arr" / "arrhenius.png").stat().st_size > 1000
    # the paper-style table: lambda and the Anderson-Stuart barrier beside Ea
    assert main(["arrhenius", *[str(tmp_path / f"a{t:g}") for t in temperatures], "--anion", "S", "--eps-r", "5.2",
                 "--eps-r-source", "test value"]) == 0
    text = capsys.readouterr().out
    assert "lambda (mean Li-Li RDF first peak)" in text and "Anderson-Stuart: r_Li" in text and "(test value)" in text
    assert main(["arrhenius", *[str(tmp_path / f"a{t:g}") for t in temperatures], "--anion", "Cl", "--eps-r", "5"]) == 2
    assert "--anion Cl: not in the analysed cell" in capsys.readouterr().err
    # a single temperature cannot give an Arrhenius fit
    assert main(["arrhenius", str(tmp_path / "a600")]) == 2
    assert "needs at least two temperatures" in capsys.readouterr().err
    # an edited analysis (wrong types) or another species: named, no traceback
    good = json.loads((tmp_path / "a600" / "analysis.json").read_text())
    for name, change, expected in (("t", {"temperature_K": "hot"}, "temperature_K not as dopwf analyze writes"),
                                   ("c", {"diffusivity_components_cm2_s": None}, "diffusivity_components_cm2_s not"),
                                   ("d", {"diffusivity_cm2_s": None}, "diffusivity_cm2_s not as"),
                                   ("s", {"species": "Na"}, "analyses of different species")):
        (tmp_path / f"{name}.json").write_text(json.dumps({**good, **change}))
        assert main(["arrhenius", str(tmp_path / f"{name}.json"), str(tmp_path / "a800")]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, err


def test_analyze_bad_input(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.extxyz"), "--temperature-K", "600"]) == 2
    assert "not found" in capsys.readouterr().err
    _trajectory(tmp_path / "t.extxyz", 700.0, seed=9)
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "700", "--species", "Na"]) == 2
    assert "no Na atoms" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # refused by the option's type, before any work
        main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "0.7"])
    assert info.value.code == 2 and "is it in K" in capsys.readouterr().err


def test_analyze_refuses_a_temperature_the_trajectory_was_not_run_at(tmp_path, capsys):
    """Frames with momenta carry their temperature (their mean kinetic temperature); md_run.json names it exactly."""
    from ase.io import read
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    _trajectory(tmp_path / "t.extxyz", 400.0, seed=4)
    frames = read(tmp_path / "t.extxyz", index=":")
    rng = np.random.default_rng(0)
    for atoms in frames:
        thermalize_momenta(atoms, 400.0, rng=rng)
        Stationary(atoms)
    write(tmp_path / "t.extxyz", frames, format="extxyz")
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "900"]) == 2
    err = capsys.readouterr().err
    assert "was run at 40" in err and "mean kinetic temperature of its 300 frames" in err
    assert "pass --temperature-K 40" in err
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "410", "--json"]) == 0  # within 10 %
    capsys.readouterr()
    (tmp_path / "md_run.json").write_text(json.dumps({"temperature_K": 410.0}))
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "400"]) == 2  # the run's own record
    assert "was run at 410 K" in capsys.readouterr().err


def test_analyze_reads_the_temperature_frames_carry_without_momenta(tmp_path, capsys):
    from ase.io import read

    _trajectory(tmp_path / "t.extxyz", 600.0, seed=5)
    frames = read(tmp_path / "t.extxyz", index=":")
    for atoms in frames:
        atoms.info["temperature_K"] = 602.5
    write(tmp_path / "t.extxyz", frames, format="extxyz")
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "300"]) == 2
    assert "was run at 602 K (the temperature_K its frames carry (exact))" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "602.5", "--json"]) == 0


def test_arrhenius_names_a_truncated_or_foreign_analysis(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "analysis.json").write_text('{"temperature_K": 600, "diffusivity')
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "c.json").write_text("")
    assert main(["arrhenius", str(tmp_path / "a"), str(tmp_path / "b.json")]) == 2
    assert "analysis.json'" in (err := capsys.readouterr().err) and "not valid JSON" in err and "truncated?" in err
    assert main(["arrhenius", str(tmp_path / "b.json"), str(tmp_path / "c.json")]) == 2
    assert "lacks temperature_K, diffusivity_cm2_s" in capsys.readouterr().err
