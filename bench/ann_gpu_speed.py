"""Benchmark: the torch backend of our network on a GPU, 150 to 100,000 atoms, beside the numba kernels.

    python bench/ann_gpu_speed.py [--device cuda] [--sizes 150 1200 10000 100000] [--json out.json]

Model: tests/data/amp_reference/lgps_default.amp (AMP's Gaussian-56, 6.5 A cosine cutoff, (5, 5) tanh). Cells: the
ordered 50-atom LGPS host repeated, rattled by 0.05 A. For each size, in the same run: the neighbour list alone
(vesin, on the CPU), one energy + forces call of the torch backend on the device with that host list and with
vesin-torch's list built on the device (when installed: extra "gpu"), each the best of several calls on fresh
positions after a warm-up (float64), the numba kernels on this machine's CPU threads, their agreement (max |dF|,
|dE| per atom), the GPU memory peak and the number of centre blocks the call was cut into, and ANN-MD steps/s
(ASE velocity Verlet, 2 fs) with the torch backend. The device machine is not the 2-core laptop: its CPU figures
are its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from ase.io import read

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "data" / "amp_reference" / "lgps_default.amp"
REPEATS = {50: (1, 1, 1), 150: (3, 1, 1), 1200: (4, 3, 2), 10000: (5, 5, 8), 100000: (10, 10, 20)}


def cell(n_atoms: int):
    if n_atoms not in REPEATS:
        raise SystemExit(f"--sizes: {n_atoms} is not one of {sorted(REPEATS)}")
    atoms = read(ROOT / "tests" / "data" / "amp_reference" / "images.extxyz", index=0).repeat(REPEATS[n_atoms])
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def best_of(call, atoms, calls: int, sync=lambda: None) -> tuple[float, object]:
    """Best wall time of ``calls`` calls on slightly moved positions (new neighbour list each call), after a warm-up."""
    result = call(atoms)
    rng = np.random.default_rng(1)
    best = np.inf
    moved = atoms.copy()
    for _ in range(calls):
        moved.positions = atoms.positions + rng.normal(scale=1e-3, size=atoms.positions.shape)
        sync()
        t0 = time.perf_counter()
        call(moved)
        sync()
        best = min(best, time.perf_counter() - t0)
    return best, result


def md_rate(potential, atoms, device: str, steps: int) -> float:
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    from dopant_workflows.ann.calculator import BPNNCalculator

    atoms = atoms.copy()
    atoms.calc = BPNNCalculator(potential, backend="torch", device=device)
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(2))
    dyn = VelocityVerlet(atoms, timestep=2 * units.fs)
    dyn.run(2)  # warm-up
    t0 = time.perf_counter()
    dyn.run(steps)
    return steps / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", type=int, nargs="+", default=[150, 1200, 10000, 100000])
    parser.add_argument("--md-steps", type=int, default=20, help="MD steps timed per size (fewer above 10,000)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    import numba
    import torch

    from dopant_workflows.ann.amp_io import load_amp_potential
    from dopant_workflows.ann.neighbors import neighbor_pairs
    from dopant_workflows.ann.torch_backend import TorchPotential

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: torch sees no CUDA device", file=sys.stderr)
        return 2
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name() if cuda else "cpu"
    potential = load_amp_potential(MODEL)
    from dopant_workflows.ann.torch_backend import _vesin_torch

    host = TorchPotential(potential, args.device, device_neighbour_list=False)
    backend = TorchPotential(potential, args.device, device_neighbour_list=_vesin_torch() is not None)
    print(f"model {MODEL.name}; torch {torch.__version__} on {name}; numba on {numba.get_num_threads()} CPU threads; "
          f"'torch' column: neighbour list {'on the device (vesin-torch)' if backend._device_list else 'on the host'}")
    header = (f"{'atoms':>7s} {'pairs':>9s} {'blocks':>6s} {'nbr list (ms)':>13s} {'host list (ms)':>14s} "
              f"{'torch (ms)':>10s} "
              f"{'us/atom':>8s} {'numba (ms)':>10s} {'GPU peak (GB)':>13s} {'max|dF| (eV/A)':>14s} "
              f"{'|dE|/atom (eV)':>14s} {'MD steps/s':>10s} {'ns/day':>7s}")
    print(header)
    rows = []
    for n in args.sizes:
        atoms = cell(n)
        calls = 5 if n <= 10000 else 2
        t_nbr, pairs = best_of(lambda a: neighbor_pairs(a, potential.descriptor.cutoff_A), atoms, calls)
        t_host, _ = best_of(lambda a: host.evaluate(a, forces=True), atoms, calls, sync)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t_torch, ours = best_of(lambda a: backend.evaluate(a, forces=True), atoms, calls, sync)
        peak = torch.cuda.max_memory_allocated() / 1e9 if cuda else float("nan")
        t_numba, reference = best_of(lambda a: potential.evaluate(a, forces=True), atoms, calls)
        steps = args.md_steps if n <= 10000 else max(2, args.md_steps // 10)
        rate = md_rate(potential, atoms, args.device, steps)
        row = {"atoms": n, "pairs": int(pairs.n_pairs), "blocks": len(backend.blocks(np.asarray(pairs.first))),
               "neighbour_list_ms": 1e3 * t_nbr, "torch_host_list_ms": 1e3 * t_host,
               "device_neighbour_list": backend._device_list is not None, "torch_ms": 1e3 * t_torch,
               "torch_us_per_atom": 1e6 * t_torch / n,
               "numba_ms": 1e3 * t_numba, "gpu_peak_GB": peak,
               "max_force_difference_eV_A": float(np.abs(ours.forces_eV_A - reference.forces_eV_A).max()),
               "energy_difference_eV_atom": abs(ours.energy_eV - reference.energy_eV) / n,
               "md_steps_per_s": rate, "ns_per_day": rate * 2e-6 * 86400}
        rows.append(row)
        print(f"{n:7d} {row['pairs']:9d} {row['blocks']:6d} {row['neighbour_list_ms']:13.1f} {1e3 * t_host:14.1f} "
              f"{row['torch_ms']:10.1f} "
              f"{row['torch_us_per_atom']:8.2f} {row['numba_ms']:10.1f} {peak:13.2f} "
              f"{row['max_force_difference_eV_A']:14.1e} {row['energy_difference_eV_atom']:14.1e} "
              f"{rate:10.2f} {row['ns_per_day']:7.2f}", flush=True)
    big = [r for r in rows if r["atoms"] >= 1200]
    if len(big) > 1:
        per_atom = [r["torch_us_per_atom"] for r in big]
        print(f"torch time per atom, max/min over sizes >= 1200: {max(per_atom) / min(per_atom):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "torch": torch.__version__,
                                         "numba_threads": numba.get_num_threads(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
