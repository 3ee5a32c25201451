"""`dopwf ann train` and `dopwf ann eval`."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.names import AMP_MODEL_FILE, MODEL_FILE

log = logging.getLogger("dopwf")


def add_ann_parser(sub: argparse._SubParsersAction) -> None:
    ann = sub.add_parser("ann", help="train and evaluate Behler-Parrinello potentials").add_subparsers(
        dest="ann_command", required=True)

    def option(name: str, **kwargs) -> None:
        """An option whose default and help come from TrainingSettings (the training stage's one model)."""
        field = TrainingSettings.model_fields[name]
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        p.add_argument(f"--{name.replace('_', '-')}", default=default, help=f"{field.description or name} "
                       "(default %(default)s)", **kwargs)

    p = ann.add_parser("train", help="train a network on reference images (energies + forces)")
    p.add_argument("images", nargs="+", help="ASE-readable files: extxyz, ASE .traj, vasprun.xml, OUTCAR")
    p.add_argument("--out", required=True, help="model directory (model.json, model.amp, training.json, plots)")
    option("hidden_layers", type=int, nargs="+")
    option("cutoff_A", type=float)
    p.add_argument("--cutoff", dest="cutoff_A", type=float, default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the older spelling
    option("activation", choices=["tanh", "sigmoid", "linear"])
    option("optimizer", choices=["lbfgs", "adam"])
    option("max_steps", type=int)
    option("force_coefficient", type=float)
    option("energy_coefficient", type=float)
    option("learning_rate", type=float)
    option("final_learning_rate", type=float)
    option("batch_size", type=int)
    option("patience", type=int)
    option("validate_every", type=int)
    option("test_fraction", type=float)
    option("validation_fraction", type=float)
    option("seed", type=int)
    p.add_argument("--no-core-repulsion", dest="core_repulsion", action="store_false",
                   help="no wall beneath the closest approach of each element pair in the data (pure AMP model)")
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.set_defaults(func=cmd_ann_train)

    p = ann.add_parser("eval", help="errors of a model (model.json, model directory or AMP .amp) on images")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", help="write parity and residual plots (PNG) here")
    p.add_argument("--label", default="eval", help="name used in plot files")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=cmd_ann_eval)


def _print_metrics(rows) -> None:
    """rows: (part, images, energy RMSE eV/atom, force RMSE eV/A or None)."""
    print(f"{'part':12s} {'images':>7s} {'E RMSE (eV/atom)':>17s} {'F RMSE (eV/A)':>14s}")
    for part, n_images, energy, force in rows:
        print(f"{part:12s} {n_images:7d} {energy:17.5f} {'-' if force is None else f'{force:.4f}':>14s}")


def cmd_ann_train(args: argparse.Namespace) -> int:
    from dopant_workflows.jobs.training import train_network

    values = {name: getattr(args, name) for name in TrainingSettings.model_fields if hasattr(args, name)}
    document = train_network(args.images, TrainingSettings(**values), args.out, replace=args.force)
    _print_metrics([(part, n, document.energy_rmse_eV_atom[part], document.force_rmse_eV_A.get(part))
                    for part, n in document.n_images.items()])
    out = Path(args.out)
    print(f"model: {out / MODEL_FILE} (AMP copy: {out / AMP_MODEL_FILE}); plots: training_curve.png, "
          f"parity_test.png, residuals_test.png; best step {document.best_step}, {document.wall_time_s:.1f} s")
    return 0


def cmd_ann_eval(args: argparse.Namespace) -> int:
    from dopant_workflows.ann.dataset import load_images
    from dopant_workflows.ann.evaluation import evaluate_potential
    from dopant_workflows.ann.model_io import load_potential

    potential = load_potential(args.model)
    images = load_images(args.images, need_forces=False)
    evaluation = evaluate_potential(potential, images, progress=True)
    if args.out:
        for path in evaluation.write_plots(args.out, args.label):
            log.info("wrote %s", path)
    if args.json:
        print(json.dumps(asdict(evaluation.metrics)))
    else:
        m = evaluation.metrics
        _print_metrics([(args.label, m.n_images, m.energy_rmse_eV_atom, m.force_rmse_eV_A)])
    return 0
