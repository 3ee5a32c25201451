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
                  progress: bool = True, warm_start: str | Path | None = None) -> ModelDocument:
    """Train on every image of ``frame_files`` (extxyz, ASE .traj, vasprun.xml, OUTCAR) into ``out_dir``:
    model.json, model.amp, training.json, training_curve.png, parity_test.png, residuals_test.png.

    ``warm_start``: a directory this function wrote, whose frame files are the first of ``frame_files``: its
    network is the starting point and its split is kept (DP-GEN's init-model; see ``training.WarmStart``).

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
    frames_sha256 = [file_sha256(f) for f in frame_files]
    start = _warm_start(warm_start, frames_sha256) if warm_start is not None else None
    log.info("training on %d images from %s%s", len(images), ", ".join(map(str, frame_files)),
             f", starting from {warm_start}" if start else "")
    result = train_potential(images, settings, progress=progress, start=start)
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
                  "history": asdict(result.history), "model_sha256": sha, "frames_sha256": frames_sha256,
                  "warm_start": {"model_sha256": start.sha256, "path": str(Path(warm_start).resolve())}
                  if start else None}
        (staging / TRAINING_FILE).write_text(json.dumps(report, indent=1, default=float))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelDocument(
        model_sha256=sha, study=study, label=label, model_path=str((out / MODEL_FILE).resolve()),
        training_frames_sha256=frames_sha256,
        energy_rmse_eV_atom={k: m.energy_rmse_eV_atom for k, m in result.metrics.items()},
        force_rmse_eV_A={k: m.force_rmse_eV_A for k, m in result.metrics.items()},
        n_images={k: m.n_images for k, m in result.metrics.items()}, settings=settings.as_record(),
        seed=settings.seed, best_step=result.best_step, stopped_early=result.stopped_early,
        wall_time_s=result.wall_time_s)


def _warm_start(directory: str | Path, frames_sha256: list[str]):
    """The network in ``directory`` (model.json + training.json) as a start, after checking that the frames it was
    trained on are the first of ours, unchanged."""
    import numpy as np

    from dopant_workflows.ann.model_io import load_potential, model_sha256
    from dopant_workflows.ann.training import WarmStart

    directory = Path(directory)
    report_path = directory / TRAINING_FILE
    if not (directory / MODEL_FILE).is_file() or not report_path.is_file():
        raise DopwfInputError(f"warm start {str(directory)!r}: expected a trained network's directory "
                              f"({MODEL_FILE} and {TRAINING_FILE})")
    try:
        report = json.loads(report_path.read_text())
        split = {part: np.asarray(report["split"][part], dtype=int) for part in ("train", "validation", "test")}
    except (ValueError, KeyError, TypeError) as exc:
        raise DopwfInputError(f"warm start {str(report_path)!r}: unreadable or without a split ({exc})") from exc
    theirs = report.get("frames_sha256")
    if theirs is not None and frames_sha256[: len(theirs)] != theirs:
        raise DopwfInputError(f"warm start {str(directory)!r}: it was trained on other frames than the first "
                              f"{len(theirs)} frame files given now; its split would not carry over")
    potential = load_potential(directory)
    return WarmStart(potential, split, model_sha256(potential))
