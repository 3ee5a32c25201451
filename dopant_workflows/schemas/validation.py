"""The validation document: one per trained network (the paper's section 3.2 as a record)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from dopant_workflows.schemas.base import Document


class DiffusivityPoint(BaseModel):
    diffusivity_cm2_s: float
    std_cm2_s: float | None = Field(description="standard error of the mean over seeds (see combine_runs)")
    per_run_cm2_s: list[float]


class TemperatureRecord(BaseModel):
    """Both engines at one temperature, and the network's errors on its own ANN-MD frames there."""

    temperature_K: float
    reference: DiffusivityPoint
    ann: DiffusivityPoint
    ratio: float = Field(description="D_ann / D_ref")
    z_score: float = Field(description="(D_ann - D_ref) / combined standard error")
    passed: bool = Field(description="within the factor or within the sigmas")
    force_rmse_eV_A: float | None = Field(None, description="ANN-MD frames at this temperature relabelled by the "
                                                            "reference engine")
    energy_rmse_eV_atom: float | None = None
    n_frames_relabelled: int = 0
    core_repulsion_max_eV: float | None = Field(None, description="largest wall energy in these ANN-MD runs")


class ArrheniusRecord(BaseModel):
    activation_energy_eV: float
    activation_energy_std_eV: float | None
    prefactor_cm2_s: float
    conductivity_300K_mS_cm: float
    conductivity_300K_95_mS_cm: list[float] | None = Field(
        None, description="95 % interval; None: the fit has no error estimate (two temperatures, no errors)")
    linear: bool


class CheckRecord(BaseModel):
    name: str
    value: float | None
    threshold: float
    passed: bool | None = Field(description="None: not evaluated")
    detail: str = ""


class RunRecord(BaseModel):
    role: Literal["reference", "ann"]
    temperature_K: float
    seed: int
    status: Literal["completed", "failed"]
    run_dir: str
    diffusivity_cm2_s: float | None = None
    diffusivity_std_cm2_s: float | None = None
    core_repulsion_max_eV: float | None = None
    failure_reason: str | None = None


class ValidationDocument(Document):
    """Reference MD vs ANN-MD of one network's cell: ``passed`` only when every check holds; ``status`` 'skipped'
    (never 'passed') when the reference could not run here, with the reason."""

    validation_id: str = Field(description="stable key: study-label-model sha256 (12 characters)")
    study: str | None = None
    label: str | None = Field(None, description="'shared' or the substitution id the network was trained for")
    model_sha256: str
    model_path: str
    ensemble_sha256: list[str] = Field(default_factory=list, description="every network validated together "
                                       "(training.networks > 1: the ANN runs spread over them, each relabelled with "
                                       "its own network); [model_sha256] for one network")
    reference_engine: str
    formula: str | None = Field(None, description="the validated cell")
    n_atoms: int | None = None
    status: Literal["passed", "failed", "skipped"]
    passed: bool
    reasons: list[str] = Field(default_factory=list, description="why it failed or was skipped")
    temperatures: list[TemperatureRecord] = Field(default_factory=list)
    reference_fit: ArrheniusRecord | None = None
    ann_fit: ArrheniusRecord | None = None
    force_rmse_eV_A: float | None = Field(None, description="all relabelled ANN-MD frames")
    energy_rmse_eV_atom: float | None = None
    checks: list[CheckRecord] = Field(default_factory=list)
    thresholds: dict = Field(default_factory=dict)
    settings: dict = Field(default_factory=dict, description="the validation stage's settings")
    training_temperature_range_K: list[float] | None = None
    runs: list[RunRecord] = Field(default_factory=list)
    plot_path: str | None = None
    warnings: list[str] = Field(default_factory=list)
    fw_id: int | None = None
