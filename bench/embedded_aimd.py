"""Benchmark: embedded reference AIMD throughput (MD steps/s) on the 50-atom LSiPS cell, 2 cores.

    .venv/bin/python bench/embedded_aimd.py [--engine chgnet|sevenn] [--steps 200] [--sample-every 10]

Baselines in the same run: one bare force call of the same model on the same cell (the best MD can do; the
ratio shows the MD driver's overhead: thermostat, neighbour check, frame writing, checkpoints), and for CHGNet
the same AIMD with CHGNet's own ASE calculator, which runs task "efsm" (stress and magnetic moments too) at
every step where ours runs "ef" unless the stress is asked for (stored frames).
Target: >= 10 steps/s with CHGNet, so that 12,000 training frames take < 20 min. Measured figures:
bench/results/embedded_aimd.md.
"""

import argparse
import tempfile
import time
import warnings

import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.engines.embedded import run_embedded_aimd
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.universal import make_calculator
from dopant_workflows.structures.hosts import lsips_host


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="chgnet", choices=["chgnet", "sevenn"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--sample-every", type=int, default=10,
                        help="store every n-th step as a frame (with its stress); the demo's reference AIMD: 10")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    atoms = AseAtomsAdaptor.get_atoms(lsips_host())
    calc, model = make_calculator(args.engine)
    probe = atoms.copy()
    probe.calc = calc
    probe.get_forces()
    times = []
    for _ in range(10):
        probe.positions += np.random.default_rng(0).normal(scale=1e-3, size=probe.positions.shape)
        t0 = time.perf_counter()
        probe.get_forces()
        times.append(time.perf_counter() - t0)
    force_call_s = float(np.median(times))
    settings = AIMDSettings(n_steps=args.steps, segment_steps=100, sample_every=args.sample_every)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_embedded_aimd(atoms, settings, tmp, engine=args.engine, progress=False)
    print(f"{model.model} (package {model.package_version}), 50 atoms, {args.steps} NVT steps, a frame every "
          f"{args.sample_every}")
    print(f"bare force call: {force_call_s * 1e3:.1f} ms -> at most {1 / force_call_s:.1f} steps/s")
    print(f"AIMD driver:     {result.steps_per_s:.1f} steps/s "
          f"({result.steps_per_s * force_call_s:.0%} of the bare rate); "
          f"12,000 steps in {12000 / result.steps_per_s / 60:.1f} min")
    if args.engine == "chgnet":
        from chgnet.model.dynamics import CHGNetCalculator

        with tempfile.TemporaryDirectory() as tmp:
            own = run_embedded_aimd(atoms, settings, tmp, engine="chgnet",
                                    calculator=CHGNetCalculator(model=calc.model), progress=False)
        print(f"CHGNet's own calculator (task efsm every step): {own.steps_per_s:.1f} steps/s -> ours "
              f"{result.steps_per_s / own.steps_per_s:.2f}x")


if __name__ == "__main__":
    main()
