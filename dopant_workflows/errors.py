"""Errors users see: each names the input at fault and what was expected."""

from __future__ import annotations

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
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append((field_path(error["loc"]), message))
    return problems


def settings_problems(what: str, exc) -> str:
    """One line naming every bad field of a settings model, e.g. ``training settings: max_steps: ...``."""
    return f"{what}: " + "; ".join(f"{path}: {message}" for path, message in validation_problems(exc))


def duplicates(values) -> list:
    """The values that occur more than once, sorted (for validators that refuse repeated entries)."""
    values = list(values)
    return sorted({v for v in values if values.count(v) > 1})


def distinct_temperatures(value: list[float] | None) -> list[float] | None:
    """A pydantic field validator's body: temperatures must not repeat."""
    repeated = duplicates(value or [])
    if repeated:
        raise ValueError(f"duplicate temperatures {repeated}")
    return value
