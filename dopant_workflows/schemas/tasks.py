"""Documents written by the study's Firetasks (one per run), the input of the builders."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Document(BaseModel):
    schema_version: Literal[1] = Field(1, description="version of this document layout")
    last_updated: datetime = Field(default_factory=_now)
    code_version: str = Field(description="dopant_workflows version that wrote it")


class ModelDocument(_Document):
    """A trained network (the model file lives on disk; this document points at it)."""

    model_sha256: str = Field(description="stable key: sha256 of the model file's canonical content")
    study: str
    label: str = Field(description="'shared' or the substitution id it was trained for")
    model_path: str
    training_frames_sha256: list[str] = Field(description="sha256 of every frame file trained on")
    energy_rmse_eV_atom: dict[str, float] = Field(description="train / validation / test")
    force_rmse_eV_A: dict[str, float | None]
    n_images: dict[str, int]
    settings: dict
    seed: int
    fw_id: int | None = None


class MDTaskDocument(_Document):
    """One ANN-MD run of one substitution at one temperature, analysed."""

    task_id: str = Field(description="stable key: study-substitution_id-temperature")
    study: str
    substitution_id: str
    formula: str
    dopant: str
    dopant_count: int
    dopant_fraction: float = Field(description="dopant atoms / all atoms")
    temperature_K: float
    protocol: dict = Field(description="MD protocol (durations in ps/fs)")
    seed: int
    diffusivity_cm2_s: float
    diffusivity_std_cm2_s: float | None
    diffusivity_components_cm2_s: dict[str, float]
    conductivity_mS_cm: float | None
    conductivity_std_mS_cm: float | None
    rdf_first_peak_A: float | None
    n_carriers: int
    volume_A3: float
    composition: dict[str, int]
    n_frames: int
    mean_production_temperature_K: float
    thermostat_ok: bool
    core_repulsion_contact_fraction: float | None = Field(
        None, description="production samples in which the network's wall beneath its data was active")
    trajectory_path: str
    trajectory_sha256: str
    model_sha256: str
    engine: str = Field(description="potential that drove the MD: 'ann' (the trained network)")
    fw_id: int | None = None
    warnings: list[str] = Field(default_factory=list)


class DielectricDocument(_Document):
    """eps_r of one substitution with where it came from; eps_r None means missing, and why."""

    substitution_id: str
    study: str
    formula: str
    eps_r: float | None = Field(description="relative permittivity, electronic + ionic, dimensionless")
    source: str = Field(description="provenance (e.g. 'Rao et al. 2020, DFPT'), or why eps_r is missing")
    epsilon_electronic: list[list[float]] | None = None
    epsilon_ionic: list[list[float]] | None = None
    fw_id: int | None = None
