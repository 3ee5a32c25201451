"""Benchmark: energy + forces of the Behler-Parrinello network, ours vs AMP 1.0.1, same model, same cells.

    .venv/bin/python bench/ann_speed.py [--amp-sizes 50 150] [--sizes 50 150 400 1200 10000]

Model: tests/data/amp_reference/lgps_default.amp (Gaussian-56, 6.5 A cosine cutoff, (5, 5) tanh), saved by AMP.
Cells: the ordered 50-atom LGPS host, rattled by 0.05 A, repeated to 150, 400, 1200 and 10,000 atoms.
AMP runs in its own venv (.amp-venv, see shared/anchors/AMP.md) as a subprocess on the same cells, in the same
run; without that venv only our timings are printed. Each timing is the best of several calls on fresh
positions (new neighbour list, fingerprints and derivatives every call, as in MD), after one warm-up call (AMP:
``--amp-calls`` calls, default 3, after a warm-up call that also loads the model; at 8-94 s a call on 2 cores,
the AMP part takes (1 + calls) times that).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.io import read, write

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "data" / "amp_reference" / "lgps_default.amp"
AMP_PYTHON = ROOT / ".amp-venv" / "bin" / "python"
REPEATS = {50: (1, 1, 1), 150: (3, 1, 1), 400: (2, 2, 2), 1200: (4, 3, 2), 10000: (5, 5, 8)}

AMP_TIMER = r"""
import json, sys, tempfile, time
import numpy as np
from ase.io import read
from amp import Amp
calls, out = int(sys.argv[1]), {}
for path in sys.argv[2:]:
    atoms = read(path)
    with tempfile.TemporaryDirectory() as d:
        calc = Amp.load(MODEL, label=d + "/amp", dblabel=d + "/amp")
        atoms.calc = calc
        t0 = time.perf_counter()  # the warm-up: on the cell ours sees (its energy is compared), not timed
        energy = atoms.get_potential_energy(); forces = atoms.get_forces()
        cold = time.perf_counter() - t0
        rng, best = np.random.default_rng(0), float("inf")
        for _ in range(calls):  # fresh positions: AMP's fingerprint cache (keyed by the image) misses, as in MD
            atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
            t0 = time.perf_counter()
            atoms.get_potential_energy(); atoms.get_forces()
            best = min(best, time.perf_counter() - t0)
        out[len(atoms)] = {"seconds": best, "calls": calls, "cold_seconds": cold, "energy_eV": float(energy)}
print(json.dumps(out))
"""


def cells(sizes: list[int]) -> dict[int, object]:
    base = read(ROOT / "tests" / "data" / "amp_reference" / "images.extxyz", index=0)
    return {n: base.repeat(REPEATS[n]) for n in sizes}


def time_ours(atoms, calls: int) -> tuple[float, float]:
    from dopant_workflows.ann.amp_io import load_amp_potential
    from dopant_workflows.ann.calculator import BPNNCalculator

    calc = BPNNCalculator(load_amp_potential(MODEL), skin_A=0.0)  # a search every call, as AMP does
    atoms = atoms.copy()
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())  # on the cell AMP sees; also the warm-up (numba cache load)
    atoms.get_forces()
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(calls):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        t0 = time.perf_counter()
        atoms.get_forces()
        best = min(best, time.perf_counter() - t0)
    return best, energy


def time_parts(atoms, calls: int) -> tuple[float, float]:
    """Best times (s) of the call's two big parts on ``atoms``: the neighbour search, and the fused kernel on its
    pairs (energy and dE/d pair vectors): where the time per atom goes."""
    from dopant_workflows.ann import fused
    from dopant_workflows.ann.amp_io import load_amp_potential
    from dopant_workflows.ann.neighbors import neighbor_pairs

    potential = load_amp_potential(MODEL)
    pairs = neighbor_pairs(atoms, potential.descriptor.cutoff_A)
    species = potential.descriptor.species_indices(atoms)
    parts = (lambda: neighbor_pairs(atoms, potential.descriptor.cutoff_A),
             lambda: fused.evaluate(potential.descriptor, species, pairs, potential.packed_network, True))
    best = []
    for part in parts:
        part()
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            part()
            times.append(time.perf_counter() - t0)
        best.append(min(times))
    return best[0], best[1]


def time_amp(structures: dict[int, object], calls: int = 3, model: Path = MODEL) -> dict[int, dict]:
    """AMP's best time (s) of ``calls`` energy + force calls per cell of ``model``, after a warm-up call; {}
    without AMP."""
    if not AMP_PYTHON.exists():
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for n, atoms in structures.items():
            path = os.path.join(tmp, f"cell_{n}.extxyz")
            write(path, atoms)
            paths.append(path)
        code = AMP_TIMER.replace("MODEL", repr(str(model)))
        result = subprocess.run([str(AMP_PYTHON), "-c", code, str(calls), *paths], capture_output=True, text=True,
                                check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return {int(k): v for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150, 400, 1200, 10000])
    parser.add_argument("--amp-sizes", type=int, nargs="*", default=[50, 150])
    parser.add_argument("--amp-calls", type=int, default=3, help="timed AMP calls per cell, after a warm-up call")
    args = parser.parse_args()
    structures = cells(args.sizes)
    amp = time_amp({n: structures[n] for n in args.amp_sizes if n in structures}, args.amp_calls)
    import numba

    amp_note = (f"Fortran, serial, measured now, best of {args.amp_calls} calls after a warm-up" if amp
                else "not installed (.amp-venv missing): no ratio")
    print(f"model {MODEL.name}; our kernels on {numba.get_num_threads()} threads; AMP: {amp_note}")
    print(f"{'atoms':>6s} {'ours (ms)':>10s} {'us/atom':>8s} {'search':>7s} {'kernel':>7s} {'AMP (s)':>9s} "
          f"{'speed-up':>9s} {'|dE| vs AMP (eV)':>17s}   (search, kernel: us/atom)")
    per_atom = {}
    for n, atoms in structures.items():
        seconds, energy = time_ours(atoms, calls=5 if n <= 1200 else 2)
        search, kernel = time_parts(atoms, calls=5 if n <= 1200 else 2)
        per_atom[n] = seconds / n
        row = f"{n:6d} {seconds * 1e3:10.2f} {seconds / n * 1e6:8.1f} {search / n * 1e6:7.1f} {kernel / n * 1e6:7.1f}"
        if n in amp:
            row += (f" {amp[n]['seconds']:9.2f} {amp[n]['seconds'] / seconds:8.0f}x"
                    f" {abs(amp[n]['energy_eV'] - energy):17.2e}")
        print(row)
    if 150 in per_atom and len(per_atom) > 1:
        spread = max(per_atom[n] for n in per_atom if n >= 150) / min(per_atom[n] for n in per_atom if n >= 150)
        print(f"time per atom, max/min over sizes >= 150: {spread:.2f} (linear scaling: close to 1)")


if __name__ == "__main__":
    sys.exit(main())
