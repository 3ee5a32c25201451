"""Benchmark: ANN-MD against reference-engine MD (CHGNet) on the same cells, in the same run (the paper's Fig. 5b).

    .venv/bin/python bench/md_speed.py [--sizes 50 150 400 1200] [--steps 300] [--chgnet-steps 20]
                                       [--model bench/data/lsips_demo_network.json] [--out bench/results]

Network: the one `make demo` hands on (bench/data/lsips_demo_network.json: Gaussian radial-8 + G4, 100 functions,
6.5 A cosine cutoff, (5, 5) tanh, core repulsion), on the 50-atom LSiPS host (Li20Si3P3S23Cl) repeated to 150,
400 and 1,200 atoms. MD: the product's integrator (ASE's Nose-Hoover chain, 2 fs, 600 K, started from a
Maxwell-Boltzmann draw), timed over ``--steps`` steps after a warm-up; the same for CHGNet over ``--chgnet-steps``.

Printed, per size: ANN-MD steps/s and ns/day three ways, in the same run: the baseline (fingerprints, networks
and forces as three kernel calls, a neighbour search at every step: no Verlet list, no fused kernel), the Verlet
list alone (skin 1 A), and the default (Verlet list + the fused kernel, one compiled pass per centre atom); the
default's speed-up over the baseline; the default's force call alone (a search included); CHGNet-MD steps/s
and ANN/CHGNet. Then a committee of 4 networks on one descriptor (DP-GEN's model deviation, one fused pass)
against one network, 150 atoms. Writes md_speed.json and md_speed.png (time per force call vs atoms: our
network, CHGNet, and AMP 1.0.1 as recorded by bench/ann_speed.py: bench/results/amp_force_call_recorded.json).
Measured figures, by commit: bench/results/md_speed.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.engines.speed import md_steps_per_s

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bench" / "data" / "lsips_demo_network.json"
AMP_RECORDED = ROOT / "bench" / "results" / "amp_force_call_recorded.json"
REPEATS = {50: (1, 1, 1), 150: (3, 1, 1), 400: (2, 2, 2), 1200: (4, 3, 2)}
TIME_STEP_FS, TEMPERATURE_K = 2.0, 600.0


def cell(n_atoms: int):
    from dopant_workflows.structures.hosts import lsips_host

    return AseAtomsAdaptor.get_atoms(lsips_host()).repeat(REPEATS[n_atoms])


def force_call_s(atoms, calculator, calls: int = 5) -> float:
    """Best time of one energy + forces call on fresh positions (a new neighbour search every call)."""
    atoms = atoms.copy()
    atoms.calc = calculator
    atoms.get_forces()
    rng, best = np.random.default_rng(1), np.inf
    for _ in range(calls):
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        t0 = time.perf_counter()
        atoms.get_forces()
        best = min(best, time.perf_counter() - t0)
    return best


def ns_per_day(steps_per_s: float) -> float:
    return steps_per_s * TIME_STEP_FS * 86400 * 1e-6


def committee_timing(potential, atoms, size: int = 4, calls: int = 30) -> dict:
    """One network vs a committee of ``size`` on its descriptor (weights perturbed: other members), per frame."""
    from dopant_workflows.ann.committee import committee_evaluate
    from dopant_workflows.ann.model import BPNNPotential
    from dopant_workflows.ann.network import AtomicNeuralNetwork

    rng = np.random.default_rng(2)
    members = [potential] + [
        BPNNPotential(potential.descriptor, AtomicNeuralNetwork(
            {el: replace(n, weights=tuple(w * (1 + 0.05 * rng.standard_normal(w.shape)) for w in n.weights))
             for el, n in potential.network.networks.items()}, potential.network.activation), {},
            potential.core_repulsion) for _ in range(size - 1)]

    variants = {"one": lambda: potential.evaluate(atoms, forces=True),
                "separately": lambda: [m.evaluate(atoms, forces=True) for m in members],
                "shared": lambda: committee_evaluate(members, atoms)}
    times = {name: [] for name in variants}
    for fn in variants.values():
        fn()
    for _ in range(calls):  # interleaved, medians: this VM's speed drifts between blocks of calls
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    one, separately, shared = (float(np.median(times[name])) for name in variants)
    return {"size": size, "n_atoms": len(atoms), "one_network_s": one, "one_by_one_s": separately,
            "shared_descriptor_s": shared, "shared_over_one": shared / one, "one_by_one_over_one": separately / one}


def plot(results: list[dict], amp: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    sizes = [r["n_atoms"] for r in results]
    ax.loglog(sizes, [r["ann_force_call_s"] for r in results], "o-", label="our network (numba, 2 cores)")
    chg = [(r["n_atoms"], r["chgnet_force_call_s"]) for r in results if r.get("chgnet_force_call_s")]
    if chg:
        ax.loglog(*zip(*chg, strict=True), "s-", label="CHGNet (reference engine, 2 cores)")
    if amp:
        ax.loglog([int(k) for k in amp["seconds"]], list(amp["seconds"].values()), "^--",
                  label=f"AMP 1.0.1 ({amp['model']}, recorded)")
    ax.set_xlabel("atoms")
    ax.set_ylabel("time per energy + force call (s)")
    ax.set_title("Cost per force call (cf. Rao et al. 2020, Fig. 5b)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150, 400, 1200], choices=sorted(REPEATS))
    parser.add_argument("--steps", type=int, default=300, help="timed ANN-MD steps per size")
    parser.add_argument("--chgnet-steps", type=int, default=20, help="timed CHGNet-MD steps per size (0: skip)")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from dopant_workflows.ann.calculator import DEFAULT_SKIN_A, BPNNCalculator
    from dopant_workflows.ann.model_io import load_potential

    potential = load_potential(args.model)
    reference = None
    if args.chgnet_steps:
        from dopant_workflows.engines.universal import make_calculator

        reference, _ = make_calculator("chgnet")
    results = []
    print(f"{'atoms':>6} | {'baseline (3 kernels, search)':>28} | {'+ Verlet list':>13} | "
          f"{'default (+ fused kernel)':>26} | {'speed-up':>8} | {'force call':>10} | {'CHGNet-MD':>10} | "
          f"{'ANN/CHGNet':>10}")
    for n in args.sizes:
        atoms = cell(n)
        baseline = md_steps_per_s(atoms, BPNNCalculator(potential, skin_A=0.0, fused_kernel=False), args.steps)
        verlet = md_steps_per_s(atoms, BPNNCalculator(potential, skin_A=DEFAULT_SKIN_A, fused_kernel=False),
                                args.steps)
        default_calc = BPNNCalculator(potential)
        default = md_steps_per_s(atoms, default_calc, args.steps)
        call = force_call_s(atoms, BPNNCalculator(potential, skin_A=0.0))
        row = {"n_atoms": n, "ann_md_baseline_steps_per_s": baseline, "ann_md_verlet_steps_per_s": verlet,
               "ann_md_default_steps_per_s": default, "default_over_baseline": default / baseline,
               "verlet_builds": default_calc.neighbor_list.n_builds,
               "verlet_calls": default_calc.neighbor_list.n_calls, "ann_force_call_s": call,
               "ann_md_default_ns_per_day": ns_per_day(default)}
        chg_text = ratio_text = "-"
        if reference is not None:
            chg = md_steps_per_s(atoms, reference, args.chgnet_steps, warmup=2)
            row.update(chgnet_md_steps_per_s=chg, chgnet_force_call_s=force_call_s(atoms, reference, calls=3),
                       ann_over_chgnet=default / chg)
            chg_text, ratio_text = f"{chg:7.2f}/s", f"{default / chg:8.0f}x"
        results.append(row)
        print(f"{n:6d} | {baseline:8.1f}/s {ns_per_day(baseline):6.1f} ns/day     | {verlet:11.1f}/s | "
              f"{default:7.1f}/s {ns_per_day(default):6.1f} ns/day | {default / baseline:7.2f}x | "
              f"{1e3 * call:7.1f} ms | {chg_text:>10} | {ratio_text:>10}")
    committee = committee_timing(potential, cell(150))
    print(f"committee of {committee['size']} at {committee['n_atoms']} atoms: shared descriptor "
          f"{1e3 * committee['shared_descriptor_s']:.1f} ms = {committee['shared_over_one']:.2f}x one network "
          f"({1e3 * committee['one_network_s']:.1f} ms); one by one {committee['one_by_one_over_one']:.2f}x")
    amp = json.loads(AMP_RECORDED.read_text()) if AMP_RECORDED.is_file() else {}
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"machine": f"{platform.node()} {platform.processor() or platform.machine()}",
              "model": str(args.model), "time_step_fs": TIME_STEP_FS, "temperature_K": TEMPERATURE_K,
              "steps": args.steps, "chgnet_steps": args.chgnet_steps, "sizes": results, "committee": committee}
    (args.out / "md_speed.json").write_text(json.dumps(record, indent=1))
    plot(results, amp, args.out / "md_speed.png")
    print(f"wrote {args.out / 'md_speed.json'} and {args.out / 'md_speed.png'}")


if __name__ == "__main__":
    main()
