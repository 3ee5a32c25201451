"""`dopwf ann train`, `dopwf ann eval` and `dopwf ann validate`."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.cli.types import file_label, finite_float, output_dir, positive_float, temperature_K
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.names import AMP_MODEL_FILE, MODEL_FILE, VALIDATION_FILE, VALIDATION_PLOT

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
    p.add_argument("--out", type=output_dir, required=True,
                   help="model directory (model.json, model.amp, training.json, plots)")
    option("descriptor", choices=list(TrainingSettings.model_fields["descriptor"].annotation.__args__))
    option("hidden_layers", type=int, nargs="+")
    option("cutoff_A", type=finite_float)
    p.add_argument("--cutoff", dest="cutoff_A", type=finite_float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the older spelling
    option("activation", choices=["tanh", "sigmoid", "linear"])
    option("optimizer", choices=["lbfgs", "adam"])
    option("max_steps", type=int)
    option("force_coefficient", type=finite_float)
    option("energy_coefficient", type=finite_float)
    option("overfit", type=finite_float)
    option("jacobian_memory_GB", type=finite_float)
    option("learning_rate", type=finite_float)
    option("final_learning_rate", type=finite_float)
    option("batch_size", type=int)
    option("patience", type=int)
    option("validate_every", type=int)
    option("test_fraction", type=finite_float)
    option("validation_fraction", type=finite_float)
    option("seed", type=int)
    p.add_argument("--no-core-repulsion", dest="core_repulsion", action="store_false",
                   help="no wall beneath the closest approach of each element pair in the data (pure AMP model)")
    p.add_argument("--warm-start", metavar="MODEL_DIR", default=None,
                   help="continue from this trained model directory (DP-GEN's init-model): its images must be the "
                        "first IMAGES, unchanged; they keep its train/validation/test split")
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.set_defaults(func=cmd_ann_train)

    p = ann.add_parser("eval", help="errors of a model (model.json, model directory or AMP .amp) on images")
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", type=output_dir, help="write parity and residual plots (PNG) here")
    p.add_argument("--label", type=file_label, default="eval", help="name used in plot files")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=cmd_ann_eval)

    p = ann.add_parser("scan", help="model selection like the paper's Table 1 and Fig. 3: a grid of descriptor sets "
                                    "and topologies trained on the same frames, their errors side by side")
    p.add_argument("images", nargs="+", help="training frames (as dopwf ann train)")
    p.add_argument("--out", type=output_dir, required=True,
                   help="directory: one model per grid point, scan.json, scan.csv, scan.png")
    p.add_argument("--descriptors", nargs="+", default=["gaussian"],
                   help="descriptor sets: "
                   + ", ".join(TrainingSettings.model_fields["descriptor"].annotation.__args__))
    p.add_argument("--topologies", nargs="+", default=["5,5"],
                   help="hidden layers, comma-separated nodes per layer (e.g. 5,5 10,10 20,20)")
    p.add_argument("--eval-images", nargs="+", default=[],
                   help="labelled frames to judge every network on as well (e.g. ANN-MD frames relabelled by the "
                        "reference: the error where the network is used)")
    for name in ("cutoff_A", "activation", "optimizer", "max_steps", "force_coefficient", "energy_coefficient",
                 "learning_rate", "final_learning_rate", "batch_size", "patience", "validate_every", "seed"):
        field = TrainingSettings.model_fields[name]
        p.add_argument(f"--{name.replace('_', '-')}", default=field.default, type=type(field.default),
                       help=f"{field.description or name} (default %(default)s)")
    p.add_argument("--force", action="store_true", help="retrain grid points whose model directory exists")
    p.set_defaults(func=cmd_ann_scan)

    from dopant_workflows.cli.md import PROTOCOL_OPTIONS
    from dopant_workflows.md.settings import PRESETS, MDProtocol
    from dopant_workflows.validation.settings import ValidationSettings, ValidationThresholds

    p = ann.add_parser("validate", help="the paper's section 3.2 for any network: reference MD vs ANN-MD of one "
                                        "cell (D(T), both Arrhenius fits, errors on its own ANN-MD frames)")
    p.add_argument("model", help="model.json, its directory, or an AMP .amp file")
    p.add_argument("structure", help="the cell to simulate: built-in host name or structure file (the network's own "
                                     "training cell is the fair test)")
    p.add_argument("--engine", default="embedded", help="reference engine: embedded (CHGNet 0.3.0) or embedded:sevenn")
    p.add_argument("--temperatures-K", type=temperature_K, nargs="+", required=True, help="at least two")
    p.add_argument("--seeds", type=int, default=ValidationSettings.model_fields["seeds"].default,
                   help="independent runs per temperature and engine (default %(default)s)")
    p.add_argument("--ann-seeds", type=int, default=None,
                   help="ANN-MD runs per temperature, if not --seeds (ANN-MD is cheap: more runs sharpen D)")
    p.add_argument("--relabel-frames", type=int, default=ValidationSettings.model_fields["relabel_frames"].default,
                   help="ANN-MD frames per run relabelled by the reference (default %(default)s)")
    p.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    for name in PROTOCOL_OPTIONS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=positive_float,
                       help=f"{MDProtocol.model_fields[name].description}; overrides the preset")
    for name, field in ValidationThresholds.model_fields.items():
        p.add_argument(f"--max-{name.replace('_', '-')}", dest=f"threshold_{name}", type=finite_float,
                       default=field.default, help=f"threshold: {field.description} (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="every run's seed derives from it")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=output_dir, required=True,
                   help="directory: one run directory per MD run (interrupted runs resume), validation.json, "
                        "validation.png")
    p.set_defaults(func=cmd_ann_validate)


def _print_metrics(rows) -> None:
    """rows: (part, images, energy RMSE eV/atom, force RMSE eV/A or None)."""
    print(f"{'part':12s} {'images':>7s} {'E RMSE (eV/atom)':>17s} {'F RMSE (eV/A)':>14s}")
    for part, n_images, energy, force in rows:
        print(f"{part:12s} {n_images:7d} {energy:17.5f} {'-' if force is None else f'{force:.4f}':>14s}")


def cmd_ann_train(args: argparse.Namespace) -> int:
    from dopant_workflows.jobs.training import train_network

    values = {name: getattr(args, name) for name in TrainingSettings.model_fields if hasattr(args, name)}
    document = train_network(args.images, TrainingSettings(**values), args.out, replace=args.force,
                             warm_start=args.warm_start)
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


def cmd_ann_validate(args: argparse.Namespace) -> int:
    """Runs every validation MD here, one after the other (a study runs them as Fireworks), then compares."""
    from dopant_workflows.cli.md import PROTOCOL_OPTIONS
    from dopant_workflows.jobs.validation import check_validation_inputs, validate_network, validation_run
    from dopant_workflows.md.protocol import protocol_from_preset
    from dopant_workflows.names import derive_seed
    from dopant_workflows.report import VALIDATION, VALIDATION_FITS, markdown, validation_tables
    from dopant_workflows.structures.hosts import load_cell
    from dopant_workflows.validation.settings import ValidationSettings, ValidationThresholds

    protocol = protocol_from_preset(args.preset, **{name: getattr(args, name) for name in PROTOCOL_OPTIONS})
    thresholds = ValidationThresholds(**{name: getattr(args, f"threshold_{name}")
                                         for name in ValidationThresholds.model_fields})
    settings = ValidationSettings(temperatures_K=args.temperatures_K, seeds=args.seeds, ann_seeds=args.ann_seeds,
                                  protocol=protocol,
                                  relabel_frames=args.relabel_frames, thresholds=thresholds)
    structure = load_cell(args.structure)
    check_validation_inputs(structure, args.model, args.engine)
    out = Path(args.out)
    runs = []
    models = {"reference": args.engine, "ann": args.model}
    for temperature in settings.temperatures_K:
        for role, k in settings.run_keys():
            seed = derive_seed(args.seed, role, float(temperature), k)
            log.info("== validation %s MD at %g K, run %d of %d", role, temperature, k + 1,
                     settings.runs_per_temperature(role))
            runs.append(validation_run(structure, models[role], role, protocol, temperature,
                                       out / f"{role}-{temperature:g}K-{k + 1}", seed, device=args.device))
    document = validate_network(args.model, runs, settings, reference_engine=args.engine, out_dir=out,
                                device=args.device)
    rows, fits = validation_tables([document.model_dump()])
    print(markdown(VALIDATION, rows) + "\n" + markdown(VALIDATION_FITS, fits))
    print(f"{document.status.upper()}" + "".join(f"\n  - {reason}" for reason in document.reasons))
    print(f"written: {out / VALIDATION_FILE}, {out / VALIDATION_PLOT}")
    return 0 if document.passed else 1


def cmd_ann_scan(args: argparse.Namespace) -> int:
    from dopant_workflows.jobs.scan import scan_grid

    for option, values in (("--descriptors", args.descriptors), ("--topologies", args.topologies)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise DopwfInputError(f"{option}: {', '.join(repeated)} given more than once (each grid point is "
                                  "trained once)")
    grid = [(d, t) for d in args.descriptors for t in args.topologies]
    common = {name: getattr(args, name) for name in ("cutoff_A", "activation", "optimizer", "max_steps",
                                                     "force_coefficient", "energy_coefficient", "learning_rate",
                                                     "final_learning_rate", "batch_size", "patience",
                                                     "validate_every", "seed")}
    result = scan_grid(args.images, grid, common, args.out, eval_images=args.eval_images, replace=args.force)
    print(result.table)
    print(f"written: {Path(args.out) / 'scan.json'}, scan.csv, scan.png")
    return 0
