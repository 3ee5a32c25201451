"""The reference-AIMD protocol shared by every engine: NVT Nose-Hoover, 2 fs steps, a temperature schedule.

The paper generated training images with "large temperature fluctuations" (LSiPS: 300 -> 1000 K). The schedule
is a linear ramp from ``temperature_start_K`` to ``temperature_end_K`` over the whole run, cut into segments
of at most ``segment_steps`` steps: a segment is one VASP run (TEBEG/TEEND = the ramp at its ends, continued
from the previous CONTCAR, within ``walltime_s``) and one checkpoint of the embedded engine.

:class:`AIMDSettings` is the reference-AIMD stage's one settings model: the study file's ``reference_aimd``
section, the Firetasks' parameters and ``dopwf aimd``'s defaults all come from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field, model_validator

from dopant_workflows.errors import MAX_MD_TEMPERATURE_K, MAX_TIME_STEP_FS, MIN_MD_TEMPERATURE_K, DopwfInputError
from dopant_workflows.settings_base import StrictSettings


class AIMDSettings(StrictSettings):
    """How the reference AIMD runs (any engine)."""

    n_steps: int = Field(2000, gt=0, description="MD steps of the reference AIMD")
    time_step_fs: float = Field(2.0, gt=0, le=MAX_TIME_STEP_FS, description="MD time step (fs)")
    temperature_start_K: float = Field(300.0, gt=0, description="thermostat target at the first step (K)")
    temperature_end_K: float = Field(1000.0, gt=0, description="thermostat target at the last step (K); linear ramp")
    segment_steps: int = Field(500, gt=0, description="steps per segment: one VASP run / one embedded checkpoint")
    sample_every: int = Field(1, gt=0, description="keep every n-th step as a training image")
    thermostat_damping_fs: float = Field(50.0, gt=0, description="Nose-Hoover chain damping time (fs)")
    walltime_s: int | None = Field(None, gt=0, description="VASP: wall time of one segment's job (s); custodian's "
                                                           "WalltimeHandler stops VASP cleanly before it")
    seed: int = Field(0, description="Maxwell-Boltzmann start (embedded engine); a study derives it from its seed")

    @model_validator(mode="after")
    def _temperatures_in_kelvin(self) -> AIMDSettings:
        if max(self.temperature_start_K, self.temperature_end_K) < MIN_MD_TEMPERATURE_K:
            raise ValueError("temperatures below 5 K: are they in K? (expected e.g. 300 and 1000)")
        if max(self.temperature_start_K, self.temperature_end_K) > MAX_MD_TEMPERATURE_K:
            raise ValueError(f"temperatures above {MAX_MD_TEMPERATURE_K:g} K: a typo? (expected e.g. 300 and 1000)")
        return self

    def temperature_at_K(self, step: int) -> float:
        """The schedule's target temperature at ``step`` (0 .. n_steps)."""
        fraction = min(max(step / self.n_steps, 0.0), 1.0)
        return self.temperature_start_K + fraction * (self.temperature_end_K - self.temperature_start_K)

    def segments(self) -> list[Segment]:
        out = []
        for index, start in enumerate(range(0, self.n_steps, self.segment_steps)):
            stop = min(start + self.segment_steps, self.n_steps)
            out.append(Segment(index, start, stop, self.temperature_at_K(start), self.temperature_at_K(stop)))
        return out


@dataclass(frozen=True)
class Segment:
    index: int
    start_step: int
    stop_step: int
    temperature_begin_K: float
    temperature_end_K: float

    @property
    def n_steps(self) -> int:
        return self.stop_step - self.start_step


def parse_temperature_range(text: str) -> tuple[float, float]:
    """'300:1000' -> (300.0, 1000.0); '600' -> (600.0, 600.0)."""
    parts = str(text).split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise DopwfInputError(f"--temperatures {text!r}: expected START:END in K, e.g. 300:1000") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(math.isfinite(v) and MIN_MD_TEMPERATURE_K <= v <= MAX_MD_TEMPERATURE_K
                                   for v in values):
        raise DopwfInputError(f"--temperatures {text!r}: expected START:END in K, both finite and at least "
                              f"{MIN_MD_TEMPERATURE_K:g} K, e.g. 300:1000 (at most {MAX_MD_TEMPERATURE_K:g} K)")
    return values[0], values[1]
