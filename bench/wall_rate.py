"""Benchmark: how often a network's ANN-MD reaches its core-repulsion wall (the validation's safety-net criterion).

    .venv/bin/python bench/wall_rate.py --model NAME=path/to/model.json [--model ...]
        [--study examples/lsips_cl_study.yaml] [--seeds 4] [--temperatures 600 700 800 900] [--workers 1]
        [--json out.json] [--png out.png]

One production run of a study decides whether the wall stayed below its threshold (0.05 eV); whether that run
crossed it is chance, so one study run says little about a recipe. This runs, for each network, ``--seeds``
independent production runs (the study's protocol, the MD driver of a study's MD Firework: run_md) of
every cell the study simulates at every temperature, with seeds no study uses, and prints per network and
temperature: the runs whose wall energy ever exceeded the threshold (the criterion), those in which the wall was
active at all, the largest wall energy, and runs that blew up. Writes the per-run records (json) and a
PNG of the per-run wall maximum against temperature, one panel per network.

``--workers N`` runs N single-threaded processes (numba, BLAS and torch limited to one thread each): for a many-core
machine; on 2 cores leave it at 1. The figures are statistics of runs, not timings: any machine gives the same
numbers to round-off (a chaotic trajectory amplifies round-off, so individual runs differ between machines, their
distribution does not).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_BASE = 900_000  # far from the seeds a study derives (derive_seed hashes), distinct per run below


def one_run(job: dict) -> dict:
    """One production run of the MD driver a study's MD Firework runs (run_md: the protocol, the network with its
    wall, the blow-up limits); the record keeps what the statistics need (a blow-up is a result, not an error).
    The diffusion analysis is left out: it does not change the trajectory and needs kinisi."""
    import logging
    import warnings

    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.md.protocol import MDBlowUp, run_md
    from dopant_workflows.md.settings import MDProtocol

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # per-run notes (a short run's mean temperature) would bury the progress lines
    record = {k: job[k] for k in ("network", "cell", "temperature_K", "seed")}
    started = time.perf_counter()
    atoms = AseAtomsAdaptor.get_atoms(Structure.from_dict(job["structure"]))
    calculator, provenance = potential_calculator(job["model"])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            md = run_md(atoms, calculator, MDProtocol(**job["protocol"]), job["temperature_K"], tmp, seed=job["seed"],
                        provenance=provenance, progress=False)
            record.update(status="completed", wall_max_eV=md.core_repulsion_max_eV or 0.0,
                          wall_fraction=md.core_repulsion_contact_fraction or 0.0,
                          closest_A=closest_approach_by_pair(md.trajectory_path))
        except MDBlowUp as exc:
            record.update(status="blew up", reason=str(exc)[:200], wall_max_eV=math.inf)
    record["seconds"] = time.perf_counter() - started
    return record


def closest_approach_by_pair(trajectory: Path, cutoff_A: float = 6.0) -> dict[str, float]:
    """Closest distance of every element pair over the production frames (pairs never within the cutoff left out):
    the same measure the wall's onsets are taken from (core_repulsion.closest_approach_A)."""
    import numpy as np
    from ase.io import iread

    from dopant_workflows.ann.core_repulsion import closest_approach_A, pair_key
    from dopant_workflows.ann.neighbors import neighbor_pairs

    frames = list(iread(str(trajectory), index=":"))
    elements = sorted(set(frames[0].get_chemical_symbols())) if frames else []
    closest = np.full((len(elements), len(elements)), np.inf)
    for atoms in frames:
        species = np.array([elements.index(x) for x in atoms.get_chemical_symbols()])
        pairs = neighbor_pairs(atoms, cutoff_A)
        closest = np.minimum(closest, closest_approach_A(species, pairs.centers, pairs.neighbor, pairs.vectors,
                                                         len(elements)))
    return {pair_key(x, y): float(closest[i, j]) for i, x in enumerate(elements) for j, y in enumerate(elements)
            if j >= i and np.isfinite(closest[i, j])}


def run_in_workers(jobs: list[dict], workers: int):
    """Yield the records of ``jobs`` run by ``workers`` independent single-threaded processes (this script with
    --worker), each taking every workers-th job and appending a JSON line per finished run; no shared pipes or
    semaphores between them (a process pool hung on one sandboxed machine)."""
    import subprocess

    env = {**os.environ, **{k: "1" for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS")}}
    with tempfile.TemporaryDirectory() as tmp:
        processes, outputs = [], []
        for w in range(workers):
            jobs_file, out = Path(tmp) / f"jobs-{w}.json", Path(tmp) / f"runs-{w}.jsonl"
            jobs_file.write_text(json.dumps(jobs[w::workers]))
            out.touch()
            processes.append(subprocess.Popen([sys.executable, __file__, "--worker", str(jobs_file), str(out)],
                                              env=env))
            outputs.append(out)
        seen = [0] * workers
        while True:
            running = any(p.poll() is None for p in processes)
            for w, out in enumerate(outputs):
                lines = out.read_text().splitlines()
                for line in lines[seen[w]:]:
                    yield json.loads(line)
                seen[w] = len(lines)
            if not running:
                break
            time.sleep(2)
        failed = [p.returncode for p in processes if p.returncode]
        if failed:
            raise SystemExit(f"{len(failed)} worker(s) failed (exit codes {failed})")


def worker(jobs_file: str, out: str) -> int:
    # ANN-MD on the CPU needs neither torch nor cupy, which vesin imports when it finds them: on a GPU machine
    # that is seconds to minutes per process (CUDA libraries) times the number of workers
    import importlib.abc

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] in ("torch", "cupy"):
                raise ImportError(f"{name}: not needed by a CPU worker")

    sys.meta_path.insert(0, Refuse())
    started = time.perf_counter()
    import dopant_workflows.jobs.md  # noqa: F401
    import dopant_workflows.md.protocol  # noqa: F401

    print(f"worker {Path(out).stem}: imports {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    with open(out, "a") as sink:
        for job in json.loads(Path(jobs_file).read_text()):
            sink.write(json.dumps(one_run(job)) + "\n")
            sink.flush()
    return 0


def summarise(records: list[dict], threshold: float) -> list[dict]:
    rows = []
    for network in dict.fromkeys(r["network"] for r in records):
        for t in sorted({r["temperature_K"] for r in records if r["network"] == network}) + ["all"]:
            these = [r for r in records if r["network"] == network and (t == "all" or r["temperature_K"] == t)]
            walls = [r["wall_max_eV"] for r in these]
            rows.append({"network": network, "temperature_K": t, "runs": len(these),
                         "above_threshold": sum(w > threshold for w in walls),
                         "wall_active": sum(w > 0 for w in walls), "wall_max_eV": max(walls),
                         "blew_up": sum(r["status"] != "completed" for r in these)})
    return rows


def write_json(path: Path, *, study_path: Path, threshold: float, seeds: int, models: dict, records: list[dict]
               ) -> None:
    path.write_text(json.dumps({"study": str(study_path), "threshold_eV": threshold, "seeds": seeds, "models": models,
                                "summary": summarise(records, threshold), "runs": records}, indent=1))


def plot(records: list[dict], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    networks = list(dict.fromkeys(r["network"] for r in records))
    fig, axes = plt.subplots(1, len(networks), figsize=(4.5 * len(networks), 3.6), sharey=True, squeeze=False)
    for ax, network in zip(axes[0], networks, strict=True):
        these = [r for r in records if r["network"] == network]
        t = np.array([r["temperature_K"] for r in these], float)
        w = np.array([r["wall_max_eV"] for r in these], float)
        jitter = np.random.default_rng(0).uniform(-12, 12, len(t))
        shown = np.clip(np.where(np.isfinite(w), w, 10.0), 1e-4, 10.0)
        ax.scatter(t + jitter, shown, s=14, c=np.where(w > threshold, "tab:red", "tab:blue"), alpha=0.7)
        ax.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:g} eV")
        crossed = int((w > threshold).sum())
        ax.set_title(f"{network}: {crossed} of {len(w)} runs above", fontsize=9)
        ax.set_yscale("log")
        ax.set_xlabel("temperature (K)")
    axes[0][0].set_ylabel("largest wall energy in a run (eV)")
    fig.text(0.01, 0.01, "1e-4: wall never active; 10: blew up", fontsize=7)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", metavar="NAME=PATH",
                        help="a network to test (model.json or its directory), named for the table; repeatable")
    parser.add_argument("--study", type=Path, default=ROOT / "examples" / "lsips_cl_study.yaml",
                        help="its simulated cells, temperatures and production protocol are used")
    parser.add_argument("--seeds", type=int, default=4, help="runs per network, cell and temperature")
    parser.add_argument("--temperatures", type=float, nargs="+", help="default: the study's")
    parser.add_argument("--cells", choices=["simulated", "host", "both"], default="simulated",
                        help="the study's substitution cells (production), its host cell (what validation simulates "
                             "in a shared-network study), or both")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=None, help="default: the study's validation threshold")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--png", type=Path)
    parser.add_argument("--worker", nargs=2, metavar=("JOBS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker)
    if not args.model:
        parser.error("at least one --model NAME=PATH is required")

    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    substitutions = study.enumerate_substitutions()  # no FireWorks import: light on a bare machine
    threshold = args.threshold if args.threshold is not None else study.validation.thresholds.core_repulsion_eV
    models = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep or not name or not Path(path).exists():
            raise SystemExit(f"--model {item!r}: expected NAME=PATH to an existing model.json or model directory")
        models[name] = str(Path(path).resolve())
    cells = [(sub.id, sub.structure.as_dict()) for sub in substitutions] if args.cells != "host" else []
    if args.cells != "simulated":
        cells.insert(0, ("host " + study.host, load_host(study.host).as_dict()))
    temperatures = args.temperatures or study.temperatures_K
    jobs = [{"network": n, "model": m, "cell": cid, "structure": cell, "temperature_K": float(t),
             "seed": SEED_BASE + 1000 * k + 10 * i + j, "protocol": study.protocol.model_dump()}
            for n, m in models.items() for i, (cid, cell) in enumerate(cells) for j, t in enumerate(temperatures)
            for k in range(args.seeds)]
    print(f"{len(jobs)} production runs ({len(models)} networks x {len(cells)} cells x {len(temperatures)} "
          f"temperatures x {args.seeds} seeds), {args.workers} worker(s); threshold {threshold:g} eV", flush=True)
    records, started = [], time.perf_counter()

    def done(record: dict, n: int) -> None:
        records.append(record)
        print(f"  {n}/{len(jobs)} done ({time.perf_counter() - started:.0f} s; this run {record['seconds']:.0f} s)",
              flush=True)
        if args.json:  # after every run: a run stopped at its time limit keeps what finished
            write_json(args.json, study_path=args.study, threshold=threshold, seeds=args.seeds, models=models,
                       records=records)

    if args.workers > 1:
        for n, record in enumerate(run_in_workers(jobs, args.workers), 1):
            done(record, n)
    else:
        for n, job in enumerate(jobs, 1):
            done(one_run(job), n)
    rows = summarise(records, threshold)
    print(f"\n{'network':<16} {'T (K)':>6} {'runs':>5} {'> thr':>6} {'wall on':>8} {'wall max (eV)':>14} "
          f"{'blew up':>8}")
    for r in rows:
        print(f"{r['network']:<16} {str(r['temperature_K']):>6} {r['runs']:>5} {r['above_threshold']:>6} "
              f"{r['wall_active']:>8} {r['wall_max_eV']:>14.4g} {r['blew_up']:>8}")
    print("\nclosest approach per element pair over all production frames (A):")
    for network in models:
        closest: dict[str, float] = {}
        for r in records:
            if r["network"] == network:
                for key, d in r.get("closest_A", {}).items():
                    closest[key] = min(closest.get(key, math.inf), d)
        print(f"  {network}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(closest.items())))
    if args.json:
        write_json(args.json, study_path=args.study, threshold=threshold, seeds=args.seeds, models=models,
                   records=records)
    if args.png:
        plot(records, threshold, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
