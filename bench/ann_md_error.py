"""A network's force error where it is used: short ANN-MD of a study's simulated cells, frames relabelled by the
study's reference engine (the validation stage's measure, without the reference MD).

    .venv/bin/python bench/ann_md_error.py MODEL [MODEL ...] [--study examples/lsips_cl_study.yaml]
        [--counts 1 3] [--temperatures-K 600 900] [--relabel 8] [--out bench/ann_md_error]

Per model, cell (dopant count) and temperature: ANN-MD with 0.3 ps heating, 0.1 ps equilibration and 1 ps
production (a frame every 20 fs, seed 11), then ``--relabel`` frames spread over the production relabelled by the
reference; prints force RMSE (eV/A) and the largest core-repulsion energy (eV) of each run, one JSON line per
model. Compare with the model's test-split error in its training.json. One process at a time on 2 cores.

``--write-labelled FILE --label-frames K``: also write K frames of each run, relabelled by the reference engine
(extxyz with energies and forces), for training: one active-learning round by hand, selected by position in
the run rather than by committee deviation.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--study", default=str(ROOT / "examples" / "lsips_cl_study.yaml"))
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--temperatures-K", type=float, nargs="+", default=[600.0, 900.0])
    parser.add_argument("--relabel", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "ann_md_error"))
    parser.add_argument("--write-labelled", help="extxyz: frames of every run relabelled by the reference")
    parser.add_argument("--label-frames", type=int, default=25, help="frames per run for --write-labelled")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from ase.io import read, write

    from dopant_workflows.active_learning.deviation import evenly_spaced
    from dopant_workflows.fireworks.study_workflow import study_substitutions
    from dopant_workflows.jobs.active_learning import label
    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.jobs.validation import relabel_errors, validation_run
    from dopant_workflows.md.settings import MDProtocol
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    cells = {s.dopant_count: s for s in study_substitutions(study) if s.rank == 0}  # each count's first arrangement
    protocol = MDProtocol(preset="demo", heating_ps=0.3, equilibration_ps=0.1, production_ps=1.0,
                          sample_interval_fs=20)
    reference, _ = potential_calculator(study.engine)
    labelled = []
    for model in args.models:
        network, _ = potential_calculator(model)
        rows = []
        for count in args.counts:
            for temperature in args.temperatures_K:
                t0 = time.perf_counter()
                record = validation_run(cells[count].structure, model, "ann", protocol, temperature,
                                        Path(args.out) / Path(model).name / f"{count}-{temperature:g}K", seed=11)
                if record["status"] != "completed":
                    rows.append({"count": count, "T": temperature, "failed": record.get("failure_reason")})
                    continue
                trajectory = record["document"]["trajectory_path"]
                errors = relabel_errors([trajectory], network, reference, args.relabel)
                if args.write_labelled:
                    frames = read(trajectory, index=":")
                    labelled += label([frames[i] for i in evenly_spaced(len(frames), args.label_frames)],
                                      study.engine)
                rows.append({"count": count, "T": temperature, "force_rmse_eV_A": round(errors.force_rmse_eV_A, 4),
                             "core_repulsion_max_eV": record["document"]["core_repulsion_max_eV"],
                             "seconds": round(time.perf_counter() - t0)})
        print(json.dumps({"model": model, "runs": rows}), flush=True)
    if args.write_labelled:
        write(args.write_labelled, labelled)
        print(f"{len(labelled)} relabelled frames -> {args.write_labelled}")


if __name__ == "__main__":
    main()
