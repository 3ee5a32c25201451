"""The document describing one training-image data set (the frames live in a file, referenced by sha256)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from ase.io import read
from pydantic import BaseModel, Field

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import file_sha256
from dopant_workflows.names import AIMD_FRAMES_FILE as FRAMES_FILE
from dopant_workflows.names import AIMD_RUN_FILE as RUN_FILE


class TrainingSetDocument(BaseModel):
    """A reference AIMD's frames: who made them, how, and where they are."""

    schema_version: Literal[1] = Field(1, description="version of this document layout")
    set_id: str = Field(description="stable key: engine + first 16 hex digits of the frames file's sha256")
    last_updated: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    engine: str = Field(description="'embedded:chgnet', 'embedded:sevenn', 'cp2k' or 'vasp'")
    model: str | None = Field(None, description="universal-potential model, CP2K's level of theory, or null for VASP")
    model_package_version: str | None = None
    code_version: str = Field(description="dopant_workflows version that ran it")
    formula: str
    n_atoms: int = Field(gt=0)
    n_frames: int = Field(ge=0)
    time_step_fs: float = Field(gt=0)
    sample_every_steps: int = Field(gt=0)
    steps_done: int = Field(ge=0)
    target_temperature_start_K: float = Field(gt=0)
    target_temperature_end_K: float = Field(gt=0)
    temperature_min_K: float | None = Field(None, description="lowest instantaneous temperature over the frames")
    temperature_max_K: float | None = Field(None, description="highest instantaneous temperature over the frames")
    seed: int
    status: Literal["completed", "failed", "running"]
    failure_reason: str | None = None
    frames_path: str = Field(description="extxyz file with energy (eV), forces (eV/A), stress (eV/A^3) per frame")
    frames_sha256: str
    steps_per_s: float | None = Field(None, description="MD throughput of the run (embedded engine, CP2K)")


def describe_training_set(run_dir: str | Path) -> TrainingSetDocument:
    """The document for a finished (or failed) run directory holding frames.extxyz and run.json."""
    run_dir = Path(run_dir)
    frames_path, run_path = run_dir / FRAMES_FILE, run_dir / RUN_FILE
    if not run_path.is_file():
        raise DopwfInputError(f"{run_dir}: no {RUN_FILE}; not an AIMD run directory")
    run = json.loads(run_path.read_text())
    frames = read(frames_path, index=":") if frames_path.exists() else []
    temperatures = [f.info["temperature_K"] for f in frames if "temperature_K" in f.info]
    prov, settings = run["provenance"], run["provenance"]["settings"]
    engine = prov["model"]["engine"]
    engine = engine if engine in ("vasp", "cp2k") else f"embedded:{engine}"
    sha = file_sha256(frames_path) if frames_path.exists() else hashlib.sha256(b"").hexdigest()
    return TrainingSetDocument(
        set_id=f"{engine}-{sha[:16]}", engine=engine, model=prov["model"].get("model"),
        model_package_version=prov["model"].get("package_version"), code_version=prov["code"],
        formula=prov["formula"], n_atoms=prov["n_atoms"], n_frames=len(frames),
        time_step_fs=settings["time_step_fs"], sample_every_steps=settings["sample_every"],
        steps_done=run["steps_done"], target_temperature_start_K=settings["temperature_start_K"],
        target_temperature_end_K=settings["temperature_end_K"],
        temperature_min_K=min(temperatures) if temperatures else None,
        temperature_max_K=max(temperatures) if temperatures else None,
        seed=settings["seed"], status=run["status"], failure_reason=run["failure_reason"],
        frames_path=str(frames_path.resolve()), frames_sha256=sha, steps_per_s=run.get("steps_per_s"),
    )


class LabelSetDocument(BaseModel):
    """Reference frames relabelled by another engine (a study's ``labels``): which frames, by whom, where."""

    schema_version: Literal[1] = Field(1, description="version of this document layout")
    set_id: str = Field(description="stable key: engine + first 16 hex digits of the labelled frames file's sha256")
    last_updated: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    study: str | None = None
    label: str | None = Field(None, description="the network these frames train (shared, a group, a substitution)")
    engine: str = Field(description="the labelling engine, e.g. 'cp2k'")
    level_of_theory: str = Field(description="functional, basis, pseudopotential, cutoffs")
    source_frames_paths: list[str] = Field(description="the reference MD frame files the frames were taken from")
    source_frames_sha256: list[str]
    n_source_frames: int = Field(ge=0, description="frames in those files")
    n_frames: int = Field(ge=0, description="frames labelled (evenly spaced over the source frames)")
    frames_path: str = Field(description="extxyz with the labelling engine's energy (eV), forces (eV/A), stress")
    frames_sha256: str
    corrections: int = Field(ge=0, description="custodian corrections over all the labelling runs")
    wall_time_s: float = Field(ge=0, description="time spent labelling in this launch (0 when all were done before)")
