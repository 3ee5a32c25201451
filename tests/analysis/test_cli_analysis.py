"""dopwf analyze and dopwf arrhenius on synthetic trajectories with an Arrhenius law built in."""

import json
import math

import numpy as np
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


def test_analyze_bad_input(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.extxyz"), "--temperature-K", "600"]) == 2
    assert "not found" in capsys.readouterr().err
    _trajectory(tmp_path / "t.extxyz", 700.0, seed=9)
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "700", "--species", "Na"]) == 2
    assert "no Na atoms" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "t.extxyz"), "--temperature-K", "0.7"]) == 2
    assert "is it in K" in capsys.readouterr().err
