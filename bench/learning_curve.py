"""Learning curve: a network's force error on held-out AIMD frames and on frames of its own ANN-MD (relabelled by
the reference engine) against the number of reference frames it was trained on.

    .venv/bin/python bench/learning_curve.py FRAMES.extxyz [--sizes 75 150 300 600] [--force-coefficient 1]
        [--study examples/lsips_cl_study.yaml] [--out bench/learning_curve]

Each size trains on frames spread evenly over the file (the reference AIMD's ramp), with the study's ``ann``
settings except those given here; then short ANN-MD (0.3 ps heating, 0.2 ps equilibration, 1 ps production)
of the study's smallest- and largest-dopant cells at its lowest and highest temperature, and ``--relabel`` frames
of each run relabelled by the study's engine. Prints a table and writes learning_curve.json and .png. The held-out
error is what training reports; the ANN-MD error is where the network is used (the validation stage's figure).
One process at a time on 2 cores: nothing else may run while it does.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
from ase.io import read, write

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames")
    parser.add_argument("--sizes", type=int, nargs="+", default=[75, 150, 300, 600])
    parser.add_argument("--study", default=str(ROOT / "examples" / "lsips_cl_study.yaml"))
    parser.add_argument("--force-coefficient", type=float)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--relabel", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "learning_curve"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")

    from dopant_workflows.fireworks.study_workflow import study_substitutions
    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.jobs.training import train_network
    from dopant_workflows.jobs.validation import relabel_errors, validation_run
    from dopant_workflows.md.settings import MDProtocol
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    overrides = {k: v for k, v in {"force_coefficient": args.force_coefficient, "max_steps": args.max_steps}.items()
                 if v is not None}
    settings = study.ann.model_copy(update=overrides)
    subs = sorted((s for s in study_substitutions(study) if s.rank == 0), key=lambda s: s.dopant_count)
    cells = [subs[0], subs[-1]] if len(subs) > 1 else subs
    temperatures = sorted({min(study.temperatures_K), max(study.temperatures_K)})
    protocol = MDProtocol(preset="demo", heating_ps=0.3, equilibration_ps=0.2, production_ps=1.0)
    reference, _ = potential_calculator(study.engine)
    frames = read(args.frames, index=":")
    out = Path(args.out)
    rows = []
    for size in args.sizes:
        if size > len(frames):
            print(f"size {size}: only {len(frames)} frames, skipped")
            continue
        subset = [frames[i] for i in np.unique(np.round(np.linspace(0, len(frames) - 1, size)).astype(int))]
        directory = out / f"n{size}"
        directory.mkdir(parents=True, exist_ok=True)
        write(directory / "frames.extxyz", subset)
        t0 = time.perf_counter()
        model = train_network([directory / "frames.extxyz"], settings, directory / "model", replace=True,
                              progress=False)
        train_min = (time.perf_counter() - t0) / 60
        network, _ = potential_calculator(model.model_path)
        md_errors, walls = [], []
        for sub in cells:
            for temperature in temperatures:
                record = validation_run(sub.structure, model.model_path, "ann", protocol, temperature,
                                        directory / f"{sub.id}-{temperature:g}K", seed=1)
                if record["status"] != "completed":
                    md_errors.append(float("nan"))
                    continue
                errors = relabel_errors([record["document"]["trajectory_path"]], network, reference, args.relabel)
                md_errors.append(errors.force_rmse_eV_A)
                walls.append(record["document"]["core_repulsion_max_eV"] or 0.0)
        row = {"frames": size, "test_force_rmse_eV_A": model.force_rmse_eV_A["test"],
               "ann_md_force_rmse_eV_A": md_errors, "ann_md_force_rmse_max_eV_A": float(np.nanmax(md_errors)),
               "core_repulsion_max_eV": max(walls) if walls else None, "train_min": round(train_min, 2),
               "best_step": model.best_step}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n| frames | test F RMSE (eV/A) | ANN-MD F RMSE, worst of {len(cells) * len(temperatures)} runs (eV/A) | "
          "core repulsion max (eV) | training (min) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['frames']} | {r['test_force_rmse_eV_A']:.3f} | {r['ann_md_force_rmse_max_eV_A']:.3f} | "
              f"{r['core_repulsion_max_eV']:.3g} | {r['train_min']:.1f} |")
    (out / "learning_curve.json").write_text(json.dumps({"settings": settings.as_record(), "rows": rows}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    x = [r["frames"] for r in rows]
    ax.plot(x, [r["test_force_rmse_eV_A"] for r in rows], "o-", label="held-out AIMD frames (test split)")
    ax.plot(x, [r["ann_md_force_rmse_max_eV_A"] for r in rows], "s--",
            label="own ANN-MD frames, relabelled (worst run)")
    ax.axhline(study.validation.thresholds.force_rmse_eV_A, color="tab:red", linestyle=":",
               label="validation threshold")
    ax.set_xscale("log")
    ax.set_xlabel("reference frames")
    ax.set_ylabel("force RMSE (eV/Å)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=120)


if __name__ == "__main__":
    main()
