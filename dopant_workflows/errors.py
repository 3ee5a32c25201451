"""Errors users see: each names the input at fault and what was expected."""

from __future__ import annotations

import math
from typing import Any


class DopwfInputError(ValueError):
    """Bad user input (file, option, study field). The message names the input and what was expected."""


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a field path: ``("substitutions", "counts", 1)`` -> ``substitutions.counts[1]``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def validation_problems(exc) -> list[tuple[str, str]]:
    """(field path, message) for every error of a pydantic ``ValidationError``."""
    errors = exc.errors()
    problems = []
    for error in errors:
        if error["type"] == "too_short" and _has_item_errors(error["loc"], errors):
            continue  # "at least 1 item after validation, not 0": the items' own errors already say it
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append((field_path(error["loc"]), message))
    return problems


def _has_item_errors(loc: tuple[Any, ...], errors: list[dict]) -> bool:
    return any(len(other["loc"]) > len(loc) and tuple(other["loc"][:len(loc)]) == tuple(loc) for other in errors)


def settings_problems(what: str, exc) -> str:
    """One line naming every bad field of a settings model, e.g. ``training settings: max_steps: ...``."""
    return f"{what}: " + "; ".join(f"{path}: {message}" for path, message in validation_problems(exc))


def duplicates(values) -> list:
    """The values that occur more than once, sorted (for validators that refuse repeated entries)."""
    values = list(values)
    return sorted({v for v in values if values.count(v) > 1})


#: below this an MD temperature is taken for a unit mistake (``run_md`` refuses it; validation refuses it first)
MIN_MD_TEMPERATURE_K = 5.0


#: above this an MD "temperature" of a solid electrolyte is a typo (the melts of these sulfides are near 1,000 K;
#: AIMD training ramps stop well below 3,000 K)
MAX_MD_TEMPERATURE_K = 5000.0
#: MD of Li (the lightest moving atom) is unstable beyond a few fs; 10 fs is a unit mistake, not a setting
MAX_TIME_STEP_FS = 10.0


def check_md_temperature(temperature_K: float, what: str = "temperature_K") -> float:
    """A finite MD temperature in [:data:`MIN_MD_TEMPERATURE_K`, :data:`MAX_MD_TEMPERATURE_K`] K, or an error
    naming ``what``."""
    if not math.isfinite(temperature_K) or temperature_K <= 0:
        raise DopwfInputError(f"{what}={temperature_K!r}: expected a finite temperature > 0 K")
    if temperature_K < MIN_MD_TEMPERATURE_K:
        raise DopwfInputError(f"{what}={temperature_K:g}: below {MIN_MD_TEMPERATURE_K:g} K; is it in K?")
    if temperature_K > MAX_MD_TEMPERATURE_K:
        raise DopwfInputError(f"{what}={temperature_K:g}: above {MAX_MD_TEMPERATURE_K:g} K; a typo?")
    return temperature_K


def distinct_temperatures(value: list[float] | None) -> list[float] | None:
    """A pydantic field validator's body for a list of MD temperatures: none repeated, none below 5 K."""
    repeated = duplicates(value or [])
    problems = [f"duplicate temperatures {repeated}"] if repeated else []
    cold = [t for t in value or [] if t < MIN_MD_TEMPERATURE_K]
    if cold:
        problems.append(f"temperatures {cold} are below {MIN_MD_TEMPERATURE_K:g} K: are they in K?")
    hot = [t for t in value or [] if t > MAX_MD_TEMPERATURE_K]
    if hot:
        problems.append(f"temperatures {hot} are above {MAX_MD_TEMPERATURE_K:g} K: a typo?")
    if problems:
        raise ValueError("; ".join(problems))
    return value
