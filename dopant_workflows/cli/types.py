"""argparse types for the ``dopwf`` options: a bad number is refused at the door, naming the option (argparse
prefixes the message with it), before any work or any file is written."""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from dopant_workflows.errors import MAX_MD_TEMPERATURE_K, MIN_MD_TEMPERATURE_K


def finite_float(text: str) -> float:
    """Any finite number (argparse's ``float`` takes 'inf' and 'nan')."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (durations, time steps)."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number > 0")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (counts: workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return value


def permittivity(text: str) -> float:
    """A relative permittivity: finite and at least 1 (vacuum's)."""
    value = finite_float(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a relative permittivity of at least 1 (vacuum)")
    return value


def file_label(text: str) -> str:
    """A name used inside file names: letters, digits, '_', '.', '-'."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected letters, digits, '_', '.' or '-' (it names files)")
    return text


def temperature_K(text: str) -> float:
    """An MD temperature in K: finite and at least 5 K (below is taken for a unit mistake)."""
    value = finite_float(text)
    if value < MIN_MD_TEMPERATURE_K:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a temperature in K of at least "
                                         f"{MIN_MD_TEMPERATURE_K:g} (is it in K?)")
    if value > MAX_MD_TEMPERATURE_K:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a temperature in K of at most "
                                         f"{MAX_MD_TEMPERATURE_K:g} (a typo?)")
    return value


def _writable_dir_problem(path: Path) -> str | None:
    if not path.is_dir():
        return "is not a directory" if path.exists() else "does not exist (create it first)"
    if not os.access(path, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def output_dir(text: str) -> str:
    """A directory to write into: an existing writable directory, or a new one whose parent is one."""
    path = Path(text).absolute()
    if path.exists():
        problem = _writable_dir_problem(path)
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r} {'exists and ' if problem.startswith('is not a') else ''}"
                                             f"{problem}; expected a directory to write into")
        return text
    problem = _writable_dir_problem(path.parent)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: its parent directory {str(path.parent)!r} {problem}")
    return text


def output_file(text: str) -> str:
    """A file to write: not a directory, in an existing writable directory (an existing file is replaced)."""
    path = Path(text).absolute()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not writable")
    problem = _writable_dir_problem(path.parent)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: its directory {str(path.parent)!r} {problem}")
    return text
