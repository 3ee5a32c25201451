"""Benchmark: the Zernike descriptor's force call, ours vs AMP 1.0.1 and vs our Gaussian kernel, same cells.

    .venv/bin/python bench/zernike_speed.py [--sizes 50 150] [--amp-sizes 50] [--amp-calls 1]

Cells: the ordered 50-atom LGPS host rattled by 0.05 A, repeated to 150 atoms (bench/ann_speed.py's cells).
Whole energy + force calls (neighbour search, fingerprints, (5, 5) tanh networks, derivatives; a fresh search
every call, as AMP does) of the AMP models tests/data/amp_reference/lgps_zernike.amp (Zernike nmax 5, 12
functions) and lgps_default.amp (Gaussian-56), ours in this process and AMP's (its own venv, .amp-venv, Fortran,
serial) as a subprocess in the same run. Then the descriptor alone (fingerprints + the force contraction for a
random dE/dG) for the paper's Table 1 sizes: Zernike nmax 5 / 7 / 12 (12 / 20 / 49 functions) and the Gaussian
sets. Best of several calls after a warm-up; CHGNet's MD speed on the 50-atom LSiPS cell printed as the
machine's speed (docs/benchmarks: quote times beside it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from ann_speed import cells, time_amp  # noqa: E402

MODELS = {"zernike-nmax5 (AMP model)": ROOT / "tests" / "data" / "amp_reference" / "lgps_zernike.amp",
          "gaussian-56 (AMP model)": ROOT / "tests" / "data" / "amp_reference" / "lgps_default.amp"}
DESCRIPTORS = ["zernike-nmax5", "zernike-nmax7", "zernike-nmax12", "gaussian", "gaussian-radial8"]


def _best(call, calls: int) -> float:
    call()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return min(times)


def time_model(path: Path, atoms, calls: int) -> tuple[float, float]:
    from dopant_workflows.ann.amp_io import load_amp_potential
    from dopant_workflows.ann.calculator import BPNNCalculator

    atoms = atoms.copy()
    atoms.calc = BPNNCalculator(load_amp_potential(path), skin_A=0.0)
    energy = float(atoms.get_potential_energy())
    rng = np.random.default_rng(0)

    def call():
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        atoms.get_forces()

    return _best(call, calls), energy


def time_descriptor(name: str, atoms, calls: int) -> tuple[int, float]:
    from dopant_workflows.ann.descriptor import descriptor_from_set
    from dopant_workflows.ann.neighbors import neighbor_pairs

    descriptor = descriptor_from_set(name, sorted(set(atoms.get_chemical_symbols())))
    pairs = neighbor_pairs(atoms, descriptor.cutoff_A)
    weights = np.random.default_rng(1).normal(size=(len(atoms), descriptor.max_functions))

    def call():
        _, species, _ = descriptor.fingerprints(atoms, pairs)
        descriptor.energy_gradient(species, pairs, weights)

    return descriptor.max_functions, _best(call, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150])
    parser.add_argument("--amp-sizes", type=int, nargs="*", default=[50])
    parser.add_argument("--amp-calls", type=int, default=1, help="timed AMP calls per cell, after a warm-up call")
    args = parser.parse_args()
    import numba

    from dopant_workflows.engines.speed import reference_speed

    print(f"machine speed: CHGNet MD on the 50-atom LSiPS cell, {reference_speed():.1f} steps/s; our kernels on "
          f"{numba.get_num_threads()} threads", flush=True)
    structures = cells(args.sizes)
    amp_cells = {n: structures[n] for n in args.amp_sizes if n in structures}
    amp = {label: time_amp(amp_cells, args.amp_calls, path) for label, path in MODELS.items()}
    print(f"\nwhole energy + force call (AMP: Fortran, serial, best of {args.amp_calls} after a warm-up"
          f"{'' if any(amp.values()) else '; not installed: .amp-venv missing'})")
    print("| model | atoms | ours (ms) | AMP (s) | AMP / ours | abs dE vs AMP (eV) |\n|---|---|---|---|---|---|")
    for label, path in MODELS.items():
        for n, atoms in structures.items():
            seconds, energy = time_model(path, atoms, calls=5)
            row = f"| {label} | {n} | {seconds * 1e3:.1f} |"
            if n in amp[label]:
                theirs = amp[label][n]
                row += (f" {theirs['seconds']:.2f} | {theirs['seconds'] / seconds:.0f}x | "
                        f"{abs(theirs['energy_eV'] - energy):.1e} |")
            else:
                row += " - | - | - |"
            print(row, flush=True)
    print("\ndescriptor alone: fingerprints + force contraction (ours)")
    print("| descriptor | functions | " + " | ".join(f"{n} atoms (ms)" for n in structures) + " |")
    print("|---|---|" + "---|" * len(structures))
    for name in DESCRIPTORS:
        times = [time_descriptor(name, atoms, calls=5) for atoms in structures.values()]
        print(f"| {name} | {times[0][0]} | " + " | ".join(f"{t * 1e3:.1f}" for _, t in times) + " |", flush=True)


if __name__ == "__main__":
    main()
