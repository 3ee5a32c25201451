"""`dopwf ann train` and `dopwf ann eval`."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")


def add_ann_parser(sub: argparse._SubParsersAction) -> None:
    ann = sub.add_parser("ann", help="train and evaluate Behler-Parrinello potentials").add_subparsers(
        dest="ann_command", required=True)

    p = ann.add_parser("train", help="train a network on reference images (energies + forces)")
    p.add_argument("images", nargs="+", help="ASE-readable files: extxyz, ASE .traj, vasprun.xml, OUTCAR")
    p.add_argument("--out", required=True, help="model directory (model.json, model.amp, training.json, plots)")
    p.add_argument("--hidden-layers", type=int, nargs="+", default=[5, 5])
    p.add_argument("--cutoff", type=float, default=6.5, help="cutoff radius in A (default 6.5)")
    p.add_argument("--activation", default="tanh", choices=["tanh", "sigmoid", "linear"])
    p.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"],
                   help="lbfgs: full batch, as AMP/the paper; adam: minibatches, for thousands of images")
    p.add_argument("--max-steps", type=int, default=5000, help="L-BFGS iterations or Adam epochs")
    p.add_argument("--force-coefficient", type=float, default=0.04, help="AMP's weight of the force term (0: energy only)")
    p.add_argument("--energy-coefficient", type=float, default=1.0)
    p.add_argument("--learning-rate", type=float, default=1e-2, help="Adam")
    p.add_argument("--batch-size", type=int, default=32, help="Adam: images per step")
    p.add_argument("--patience", type=int, default=20, help="validation checks without improvement before stopping")
    p.add_argument("--validate-every", type=int, default=10, help="L-BFGS iterations between validation checks")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--validation-fraction", type=float, default=0.1, help="fraction of the non-test images")
    p.add_argument("--seed", type=int, default=0)
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


def _print_metrics(metrics: dict) -> None:
    print(f"{'part':12s} {'images':>7s} {'E RMSE (eV/atom)':>17s} {'F RMSE (eV/A)':>14s}")
    for part, m in metrics.items():
        force = "-" if m.force_rmse_eV_A is None else f"{m.force_rmse_eV_A:.4f}"
        print(f"{part:12s} {m.n_images:7d} {m.energy_rmse_eV_atom:17.5f} {force:>14s}")


def cmd_ann_train(args: argparse.Namespace) -> int:
    from dopant_workflows.ann.amp_io import save_amp
    from dopant_workflows.ann.dataset import load_images
    from dopant_workflows.ann.evaluation import evaluate_potential
    from dopant_workflows.ann.model_io import model_sha256, save_potential
    from dopant_workflows.ann.plots import plot_training_curve
    from dopant_workflows.ann.training import TrainingSettings, train_potential

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise DopwfInputError(f"--out {str(out)!r}: exists and is not empty; use --force to replace it")
    settings = TrainingSettings(
        cutoff_A=args.cutoff, hidden_layers=tuple(args.hidden_layers), activation=args.activation,
        energy_coefficient=args.energy_coefficient, force_coefficient=args.force_coefficient,
        optimizer=args.optimizer, max_steps=args.max_steps, learning_rate=args.learning_rate,
        batch_size=args.batch_size, patience=args.patience, validate_every=args.validate_every,
        test_fraction=args.test_fraction, validation_fraction=args.validation_fraction, seed=args.seed,
        core_repulsion=args.core_repulsion,
    )
    images = load_images(args.images, need_forces=settings.force_coefficient > 0)
    log.info("read %d images from %s", len(images), ", ".join(args.images))
    result = train_potential(images, settings, progress=True)
    potential = result.potential
    # everything goes to a staging directory first: an interrupted run leaves no half-written model
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-staging-"))
    try:
        save_potential(potential, staging / "model.json")
        save_amp(potential, staging / "model.amp")
        plot_training_curve(result.history, staging / "training_curve.png", result.best_step)
        test_images = [images[i] for i in result.split["test"]]
        evaluate_potential(potential, test_images).write_plots(staging, "test")
        report = {
            "settings": {**asdict(settings), "hidden_layers": list(settings.hidden_layers)},
            "metrics": {part: asdict(m) for part, m in result.metrics.items()},
            "best_step": result.best_step,
            "stopped_early": result.stopped_early,
            "wall_time_s": result.wall_time_s,
            "split": {part: idx.tolist() for part, idx in result.split.items()},
            "history": asdict(result.history),
            "model_sha256": model_sha256(potential),
        }
        (staging / "training.json").write_text(json.dumps(report, indent=1, default=float))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _print_metrics(result.metrics)
    print(f"model: {out / 'model.json'} (AMP copy: {out / 'model.amp'}); plots: training_curve.png, "
          f"parity_test.png, residuals_test.png; best step {result.best_step}, {result.wall_time_s:.1f} s")
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
        _print_metrics({args.label: evaluation.metrics})
    return 0
