"""Benchmark: study throughput of `dopwf run --workers 2` against one worker, on independent ANN-MD Fireworks.

    .venv/bin/python bench/workers_throughput.py [--runs 8] [--workers 1 2] [--production-ps 2] [--out bench/results]

The Fireworks: ``--runs`` production runs of the 150-atom LSiPS supercell (3x1x1 of Li20Si3P3S23Cl) with the
network `make demo` hands on (bench/data/lsips_demo_network.json), at 600-900 K, demo protocol with
``--production-ps`` of production, each with its diffusion analysis (kinisi) and its document: the extra MD that
arrangements and adaptive precision add to a study. Each worker count runs them all in a fresh embedded
configuration with the product's launchers (one worker: rapidfire, one Firework at a time with every core; N:
reservation + offline workers, cores / N threads each). Printed: wall time per worker count, Fireworks per
minute, the speed-up over one worker, and CHGNet MD steps/s on the 50-atom cell measured in the same run (the
machine's speed). Writes workers_throughput.json. Measured figures: bench/results/workers_throughput.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bench" / "data" / "lsips_demo_network.json"


def _one_count(workers: int, runs: int, production_ps: float, directory: Path) -> dict:
    """Run the Fireworks with ``workers`` in a fresh configuration, in a fresh process (FireWorks reads its
    configuration once per process)."""
    code = f"""
import json, sys, time
from pathlib import Path
from dopant_workflows.fireworks.config import init_fw_config, use_fw_config
config = init_fw_config(Path({str(directory)!r}))
use_fw_config(config.directory)
from fireworks import FWorker, Workflow
from dopant_workflows.fireworks.precision import md_firework
from dopant_workflows.fireworks.runner import _initialised, _launch_all, open_launchpad
from dopant_workflows.fireworks.parallel import launch_parallel
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.names import MODEL_PATH_KEY
from dopant_workflows.structures.hosts import lsips_host
cell = lsips_host() * (3, 1, 1)
meta = {{"id": "bench-150", "formula": cell.composition.formula.replace(" ", ""), "dopant": "Cl", "dopant_count": 3,
         "dopant_fraction": 0.02}}
protocol = MDProtocol(preset="demo", heating_ps=0.5, production_ps={production_ps}).model_dump()
temperatures = [600.0, 700.0, 800.0, 900.0]
fws = [md_firework("bench", meta, cell.as_dict(), temperatures[k % 4], protocol, {{}}, 1000 + k, "bench", replica=k,
                   spec={{MODEL_PATH_KEY: {str(MODEL)!r}}}) for k in range({runs})]
lpad = _initialised(open_launchpad(False))
lpad.add_wf(Workflow(fws))
worker = FWorker.auto_load()
launches = Path(worker.env["runs_dir"]) / "launches"
start = time.perf_counter()
done = _launch_all(lpad, worker, launches, False) if {workers} == 1 else launch_parallel(lpad, worker, launches,
                                                                                       {workers})
wall = time.perf_counter() - start
states = sorted({{fw["state"] for fw in lpad.fireworks.find({{}}, {{"state": 1}})}})
print(json.dumps({{"workers": {workers}, "wall_s": wall, "finished": done, "states": states}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=directory.parent,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _chgnet_speed() -> float:
    from dopant_workflows.engines.speed import reference_speed

    return reference_speed("embedded:chgnet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--production-ps", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    chgnet = _chgnet_speed()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; CHGNet MD on the 50-atom "
          f"cell: {chgnet:.1f} steps/s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dopwf-workers-") as tmp:
        for workers in args.workers:
            row = _one_count(workers, args.runs, args.production_ps, Path(tmp) / f"w{workers}")
            if not row["finished"] or row["states"] != ["COMPLETED"]:
                raise RuntimeError(f"{workers} worker(s): the Fireworks did not all complete: {row}")
            rows.append(row)
            print(f"{workers} worker(s): {args.runs} ANN-MD Fireworks in {row['wall_s']:.1f} s "
                  f"({60 * args.runs / row['wall_s']:.2f} per min)", flush=True)
    base = next(r for r in rows if r["workers"] == 1)["wall_s"] if any(r["workers"] == 1 for r in rows) else None
    for row in rows:
        row["speedup_over_one_worker"] = base / row["wall_s"] if base else None
        if base:
            print(f"{row['workers']} worker(s): {row['speedup_over_one_worker']:.2f}x one worker's throughput")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "workers_throughput.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "chgnet_50_atom_steps_per_s": chgnet,
         "runs": args.runs, "production_ps": args.production_ps, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
