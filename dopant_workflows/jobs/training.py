"""The training stage: a network on reference frames, written with its report and plots, all or nothing."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.names import AMP_MODEL_FILE, MODEL_FILE, TRAINING_FILE
from dopant_workflows.schemas.tasks import ModelDocument

log = logging.getLogger(__name__)


def train_network(frame_files: Sequence[str | Path], settings: TrainingSettings, out_dir: str | Path, *,
                  study: str | None = None, label: str | None = None, replace: bool = False,
                  progress: bool = True) -> ModelDocument:
    """Train on every image of ``frame_files`` (extxyz, ASE .traj, vasprun.xml, OUTCAR) into ``out_dir``:
    model.json, model.amp, training.json, training_curve.png, parity_test.png, residuals_test.png.

    Everything is written to a staging directory and moved into place at the end: an interrupted run leaves no
    half-written model. An ``out_dir`` that holds files is refused unless ``replace``."""
    from dopant_workflows.ann.amp_io import save_amp
    from dopant_workflows.ann.dataset import load_images
    from dopant_workflows.ann.evaluation import evaluate_potential
    from dopant_workflows.ann.model_io import model_sha256, save_potential
    from dopant_workflows.ann.plots import plot_training_curve
    from dopant_workflows.ann.training import train_potential
    from dopant_workflows.fileio import file_sha256

    out = Path(out_dir)
    if not frame_files:
        raise DopwfInputError("training frames: none given (a reference AIMD passes its frames.extxyz)")
    if out.exists() and any(out.iterdir()) and not replace:
        raise DopwfInputError(f"--out {str(out)!r}: exists and is not empty; use --force to replace it")
    images = load_images([str(f) for f in frame_files], need_forces=settings.force_coefficient > 0)
    log.info("training on %d images from %s", len(images), ", ".join(map(str, frame_files)))
    result = train_potential(images, settings, progress=progress)
    potential, sha = result.potential, model_sha256(result.potential)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-staging-"))
    try:
        save_potential(potential, staging / MODEL_FILE)
        save_amp(potential, staging / AMP_MODEL_FILE)
        plot_training_curve(result.history, staging / "training_curve.png", result.best_step)
        evaluate_potential(potential, [images[i] for i in result.split["test"]]).write_plots(staging, "test")
        report = {"settings": settings.as_record(), "metrics": {p: asdict(m) for p, m in result.metrics.items()},
                  "best_step": result.best_step, "stopped_early": result.stopped_early,
                  "wall_time_s": result.wall_time_s, "split": {p: i.tolist() for p, i in result.split.items()},
                  "history": asdict(result.history), "model_sha256": sha}
        (staging / TRAINING_FILE).write_text(json.dumps(report, indent=1, default=float))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelDocument(
        model_sha256=sha, study=study, label=label, model_path=str((out / MODEL_FILE).resolve()),
        training_frames_sha256=[file_sha256(f) for f in frame_files],
        energy_rmse_eV_atom={k: m.energy_rmse_eV_atom for k, m in result.metrics.items()},
        force_rmse_eV_A={k: m.force_rmse_eV_A for k, m in result.metrics.items()},
        n_images={k: m.n_images for k, m in result.metrics.items()}, settings=settings.as_record(),
        seed=settings.seed, best_step=result.best_step, stopped_early=result.stopped_early,
        wall_time_s=result.wall_time_s)
