"""The MD stage's one settings model (the paper's protocol, section 2.2, and its presets). Light on purpose: study
files are validated without loading the MD machinery."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from dopant_workflows.analysis.diffusion import MIN_FRAMES
from dopant_workflows.errors import MAX_TIME_STEP_FS, DopwfInputError, settings_problems
from dopant_workflows.settings_base import StrictSettings

PRESETS: dict[str, dict[str, float]] = {
    "paper": {"heating_ps": 4.0, "equilibration_ps": 1.0, "production_ps": 20.0},
    "demo": {"heating_ps": 1.0, "equilibration_ps": 0.5, "production_ps": 4.0},
    "smoke": {"heating_ps": 0.04, "equilibration_ps": 0.04, "production_ps": 0.4, "sample_interval_fs": 4.0},
}


class MDProtocol(StrictSettings):
    """The MD stage's one settings model: a preset (``paper``, ``demo``, ``smoke``) and any field overriding it.

    ``MDProtocol(preset="demo", heating_ps=0.5)`` is the demo preset with half a picosecond of heating; the study
    file's ``protocol`` section and ``dopwf md``'s options are read into it."""

    preset: Literal["paper", "demo", "smoke"] = Field("paper", description="durations a field does not override")
    time_step_fs: float = Field(2.0, gt=0, le=MAX_TIME_STEP_FS, description="MD time step (fs)")
    initial_temperature_K: float = Field(100.0, gt=0, description="Maxwell-Boltzmann start (K)")
    heating_ps: float = Field(4.0, gt=0, description="linear velocity scaling to the target (ps)")
    equilibration_ps: float = Field(1.0, gt=0, description="Nose-Hoover chain at the target before production (ps)")
    production_ps: float = Field(20.0, gt=0, description="NVT production analysed for D (ps)")
    sample_interval_fs: float = Field(10.0, gt=0, description="time between stored production frames (fs)")
    thermostat_damping_fs: float = Field(100.0, gt=0, description="Nose-Hoover chain damping time (fs)")

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            preset = data.get("preset", "paper")
            if preset in PRESETS:  # an unknown preset is reported by the field's own check
                data = {**PRESETS[preset], **{k: v for k, v in data.items() if v is not None}}
        return data

    @model_validator(mode="after")
    def _sampling(self) -> MDProtocol:
        if self.sample_interval_fs < self.time_step_fs:
            raise ValueError("sample_interval_fs is shorter than time_step_fs")
        return self

    def diffusion_problem(self) -> str | None:
        """Why this protocol's production cannot give a diffusivity (too few frames for the MSD fit), or None.
        Exploration runs (active learning) need no MSD; the MD stage and validation runs call this before any
        work."""
        frames = int(self.production_ps * 1000.0 / self.sample_interval_fs + 1e-9)
        if frames < MIN_FRAMES:
            return (f"production_ps {self.production_ps:g} sampled every {self.sample_interval_fs:g} fs gives "
                    f"{frames} frames; the MSD fit needs at least {MIN_FRAMES}")
        return None

    def steps(self, duration_ps: float) -> int:
        return int(round(duration_ps * 1000.0 / self.time_step_fs))

    @property
    def sample_every(self) -> int:
        return max(1, int(round(self.sample_interval_fs / self.time_step_fs)))

    @property
    def stage_steps(self) -> dict[str, int]:
        return {"heating": self.steps(self.heating_ps), "equilibration": self.steps(self.equilibration_ps),
                "production": self.steps(self.production_ps)}


def protocol_from_preset(name: str, **overrides) -> MDProtocol:
    """``MDProtocol(preset=name, **overrides)``; None overrides are ignored; bad values raise DopwfInputError."""
    if name not in PRESETS:
        raise DopwfInputError(f"preset {name!r}: expected one of {sorted(PRESETS)}")
    try:
        return MDProtocol(preset=name, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise DopwfInputError(settings_problems("MD protocol", exc)) from None
