"""Benchmark: analysis of a 20 ps, 150-atom trajectory saved every 10 fs (2,000 frames), as the paper's runs.

    .venv/bin/python bench/analysis_speed.py

Baseline in the same run: pymatgen's DiffusionAnalyzer (the standard estimator the paper used) on the same
frames. Ours: MSD + D + lattice components (numpy), kinisi's uncertainty, and the Li-Li RDF.
"""

import math
import time
import warnings

import numpy as np
from ase import Atoms

from dopant_workflows.analysis.diffusion import analyze_diffusion
from dopant_workflows.analysis.rdf import radial_distribution


def trajectory(n_frames=2000, n_li=60, n_other=90, dt_fs=10.0, seed=0):
    rng = np.random.default_rng(seed)
    cell = np.diag([26.08, 8.69, 12.60])
    li = np.cumsum(rng.normal(scale=math.sqrt(2 * 3e-4 * dt_fs), size=(n_frames, n_li, 3)), axis=0)
    li += rng.uniform(0, 1, (n_li, 3)) @ cell
    other = rng.uniform(0, 1, (n_other, 3)) @ cell
    frames = []
    for n in range(n_frames):
        atoms = Atoms(["Li"] * n_li + ["S"] * n_other, positions=np.vstack([li[n], other]), cell=cell, pbc=True)
        atoms.info["time_fs"] = n * dt_fs
        frames.append(atoms)
    return frames


def main() -> None:
    warnings.simplefilter("ignore")
    frames = trajectory()
    t0 = time.perf_counter()
    result = analyze_diffusion(frames, "Li", temperature_K=800)
    t_diffusion = time.perf_counter() - t0
    t0 = time.perf_counter()
    rdf = radial_distribution(frames[::10], ("Li", "Li"))
    t_rdf = time.perf_counter() - t0

    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.io.ase import AseAtomsAdaptor

    t0 = time.perf_counter()
    structures = [AseAtomsAdaptor.get_structure(f) for f in frames]
    baseline = DiffusionAnalyzer.from_structures(structures, "Li", temperature=800, time_step=10, step_skip=1)
    t_pymatgen = time.perf_counter() - t0
    print("2000 frames x 150 atoms (60 Li), 20 ps at 10 fs")
    print(f"ours: D + components + kinisi uncertainty {t_diffusion:.1f} s; RDF (200 frames) {t_rdf:.1f} s, "
          f"first Li-Li peak found at {rdf.first_peak_A} A")
    print(f"pymatgen DiffusionAnalyzer (standard estimator only): {t_pymatgen:.1f} s")
    print(f"D ours {result.diffusivity_cm2_s:.3e} +- {result.diffusivity_std_cm2_s:.1e} (kinisi); "
          f"pymatgen {baseline.diffusivity:.3e} +- {baseline.diffusivity_std_dev:.1e}; true {3e-4 * 0.1:.3e} cm2/s")


if __name__ == "__main__":
    main()
