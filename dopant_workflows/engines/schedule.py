"""The reference-AIMD protocol shared by every engine: NVT Nose-Hoover, 2 fs steps, a temperature schedule.

The paper generated training images with "large temperature fluctuations" (LSiPS: 300 -> 1000 K). The schedule
is a linear ramp from ``temperature_start_K`` to ``temperature_end_K`` over the whole run, cut into segments
of at most ``segment_steps`` steps: a segment is one VASP run (TEBEG/TEEND = the ramp at its ends, continued
from the previous CONTCAR) and one checkpoint of the embedded engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class AIMDSettings:
    n_steps: int = 2000
    time_step_fs: float = 2.0
    temperature_start_K: float = 300.0
    temperature_end_K: float = 1000.0
    segment_steps: int = 500
    sample_every: int = 1  # write a frame every n steps
    thermostat_damping_fs: float = 50.0  # Nose-Hoover chain damping time (embedded engine)
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        for name in ("n_steps", "segment_steps", "sample_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r}: expected a positive integer")
        for name in ("time_step_fs", "thermostat_damping_fs", "temperature_start_K", "temperature_end_K"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}={getattr(self, name)!r}: expected > 0")
        if max(self.temperature_start_K, self.temperature_end_K) < 5:
            problems.append("temperatures below 5 K: are they in K? (expected e.g. 300:1000)")
        if problems:
            raise DopwfInputError("AIMD settings: " + "; ".join(problems))

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
    if len(values) != 2 or min(values) <= 0:
        raise DopwfInputError(f"--temperatures {text!r}: expected START:END in K, both > 0, e.g. 300:1000")
    return values[0], values[1]
