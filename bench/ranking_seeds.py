"""Benchmark: does a study's ranking hold where it says it is sure? The same study run with other seeds.

    .venv/bin/python bench/ranking_seeds.py examples/lsips_cl_study.yaml --seeds 2020 2021 [--workers 1]
                                             [--out bench/results/ranking_seeds]

Each seed is a whole `dopwf run` of the study file with ``seed`` (every random step: AIMD, training, active learning,
MD) replaced, in its own fresh embedded configuration. From each run's conductivity documents: the ranking (rank,
p_above_next, tied_with_next per composition); from its validation documents: whether its network passed (the
demo's gate, issue 33). A *sure* order is a pair of compositions that a run puts in different ranks (a confident
step lies between them); it *holds* when every other run ranks the two the same way round (any rank, ties included
as "not reversed"); likewise a composition a run gives P(best) >= 0.95 holds when every other run ranks it
first. Printed: each run's table, the machine's CHGNet speed, and per run the sure orders and how many the other
runs reversed. Written to --out after every seed (a stopped benchmark keeps the seeds it finished):
ranking_seeds.json, and per seed its report.md, stages (the run's stage lines), conductivity.json and
validation.json. ``--previous JSON``: seeds of an earlier ranking_seeds.json (same study, same code) join the
comparison without being rerun. Measured: bench/results/ranking_seeds.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOPWF = Path(sys.executable).parent / "dopwf"
SURE = 0.95  # a run is sure of its best composition at this P(best), as of a ranking step (analysis.ranking)


def _study_copy(study_file: Path, seed: int, directory: Path) -> Path:
    data = yaml.safe_load(study_file.read_text())
    for holder, key in ((data, "host"), (data.get("training") or {}, "cell")):  # paths are relative to the file
        value = holder.get(key)
        if isinstance(value, str) and (study_file.parent / value).is_file():
            holder[key] = str((study_file.parent / value).resolve())
    data["seed"], data["name"] = seed, f"{data['name']}-seed{seed}"
    path = directory / f"study-{seed}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(study_file: Path, seed: int, workers: int, directory: Path, keep: Path) -> dict:
    config = directory / f"cfg-{seed}"
    subprocess.run([str(DOPWF), "init", "--dir", str(config)], check=True, capture_output=True)
    start, started = time.perf_counter(), time.strftime("%Y-%m-%d %H:%M:%S")
    report = directory / f"report-{seed}"
    done = subprocess.run([str(DOPWF), "run", str(_study_copy(study_file, seed, directory)), "--config",
                           str(config), "--workers", str(workers), "--out", str(report)],
                          capture_output=True, text=True)
    minutes = (time.perf_counter() - start) / 60
    speed = next((line for line in done.stdout.splitlines() if "machine speed" in line), "")
    results = config / "results"
    documents = json.loads((results / "conductivity.json").read_text()) if (results / "conductivity.json"
                                                                            ).is_file() else []
    rows = sorted(({k: d.get(k) for k in ("composition_id", "rank", "p_above_next", "tied_with_next",
                                          "conductivity_300K_mS_cm", "activation_energy_eV",
                                          "activation_energy_std_eV", "stopped_on", "validated", "p_best")}
                   for d in documents), key=lambda r: (r["rank"] or 99, -r["conductivity_300K_mS_cm"]))
    validations = json.loads((results / "validation.json").read_text()) if (results / "validation.json"
                                                                            ).is_file() else []
    kept = keep / f"seed-{seed}"
    kept.mkdir(parents=True, exist_ok=True)
    for source in (report / "report.md", results / "conductivity.json", results / "validation.json"):
        if source.is_file():
            shutil.copyfile(source, kept / source.name)
    (kept / "stages.log").write_text("\n".join(line for line in (done.stdout + done.stderr).splitlines()
                                               if " == " in line or "machine speed" in line) + "\n")
    return {"seed": seed, "exit_code": done.returncode, "started": started, "minutes": minutes,
            "machine_speed": speed, "rows": rows,
            "validation": [{"validation_id": v.get("validation_id"), "status": v.get("status"),
                            "reasons": v.get("reasons")} for v in validations]}


def sure_orders(rows: list[dict]) -> list[tuple[str, str]]:
    """(above, below) for every pair a run puts in different ranks."""
    return [(a["composition_id"], b["composition_id"]) for a, b in itertools.combinations(rows, 2)
            if a["rank"] is not None and b["rank"] is not None and a["rank"] < b["rank"]]


def _is_best(key: str, rows: list[dict]) -> bool:
    """Whether ``rows`` put ``key`` at the top (rank 1, a tie there included)."""
    return any(r["composition_id"] == key and r["rank"] == 1 for r in rows)


def reversed_in(order: tuple[str, str], rows: list[dict]) -> bool:
    rank = {r["composition_id"]: r["rank"] for r in rows}
    above, below = order
    return rank.get(above) is not None and rank.get(below) is not None and rank[above] > rank[below]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2020, 2021])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ranking_seeds")
    parser.add_argument("--previous", type=Path, help="an earlier ranking_seeds.json whose seeds join the comparison")
    args = parser.parse_args()
    runs = json.loads(args.previous.read_text())["runs"] if args.previous else []
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dopwf-ranking-") as tmp:
        for seed in args.seeds:
            run = _run(args.study.resolve(), seed, args.workers, Path(tmp), args.out) | {"commit": commit}
            runs.append(run)
            print(f"seed {seed}: exit {run['exit_code']}, {run['minutes']:.1f} min; {run['machine_speed']}; "
                  f"validation {', '.join(v['status'] for v in run['validation']) or 'none'}", flush=True)
            for r in run["rows"]:
                print(f"  rank {r['rank']}  {r['composition_id']:22s} sigma {r['conductivity_300K_mS_cm']:.3g} mS/cm  "
                      f"Ea {r['activation_energy_eV']:.3f} +- {r['activation_energy_std_eV']:.3f}  "
                      f"P(above next) {r['p_above_next'] if r['p_above_next'] is None else round(r['p_above_next'], 3)}"
                      f"  {r['stopped_on']}", flush=True)
            _write(args, runs)
    for entry in _write(args, runs):
        print(f"seed {entry['seed']}: {len(entry['sure_orders'])} sure order(s), "
              f"{len(entry['reversed_elsewhere'])} reversed by another seed; sure best "
              f"{entry['sure_best'] or 'none'}, {len(entry['best_overturned_elsewhere'])} overturned by another seed")
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


def _write(args, runs: list[dict]) -> list[dict]:
    """The comparison over the runs so far, written to ranking_seeds.json (after every seed)."""
    summary = []
    for run in runs:
        orders = sure_orders(run["rows"])
        reversals = [(order, other["seed"]) for order in orders for other in runs
                     if other is not run and reversed_in(order, other["rows"])]
        best = [r["composition_id"] for r in run["rows"] if (r.get("p_best") or 0) >= SURE]
        overturned = [(key, other["seed"]) for key in best for other in runs
                      if other is not run and not _is_best(key, other["rows"])]
        summary.append({"seed": run["seed"], "sure_orders": orders, "reversed_elsewhere": reversals,
                        "sure_best": best, "best_overturned_elsewhere": overturned})
    (args.out / "ranking_seeds.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                                             "study": str(args.study), "runs": runs,
                                                             "summary": summary}, indent=1, default=str))
    return summary


if __name__ == "__main__":
    sys.exit(main())
