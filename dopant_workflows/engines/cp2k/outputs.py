"""CP2K's output file to energy (eV), forces (eV/A) and stress (ASE's sign, eV/A^3).

CP2K prints the total energy and the forces in atomic units (Hartree, Hartree/bohr) and the stress in GPa with the
sign of a pressure (positive: compressed). pymatgen's Cp2kOutput leaves forces in Ha/bohr; here every number leaves
in ASE's units, converted once, with ASE's CODATA constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import units

from dopant_workflows.errors import DopwfInputError

ENERGY_LINE = "ENERGY| Total FORCE_EVAL ( QS ) energy [a.u.]:"
FORCES_HEADER = "ATOMIC FORCES in [a.u.]"
FORCES_END = "SUM OF ATOMIC FORCES"
STRESS_HEADER = "STRESS| Analytical stress tensor [GPa]"
NOT_CONVERGED = "SCF run NOT converged"
ENDED = "PROGRAM ENDED AT"


@dataclass(frozen=True)
class Cp2kSinglePoint:
    energy_eV: float
    forces_eV_A: np.ndarray  # (n_atoms, 3)
    stress_eV_A3: np.ndarray | None  # Voigt (xx, yy, zz, yz, xz, xy), ASE's sign: negative when compressed
    scf_steps: int


def read_single_point(path: str | Path, n_atoms: int) -> Cp2kSinglePoint:
    """The last energy, forces and stress of a finished ENERGY_FORCE run; an unfinished or unconverged run, or one
    whose force block does not hold ``n_atoms`` atoms, is an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DopwfInputError(f"CP2K output {path}: not found")
    lines = path.read_text(errors="replace").splitlines()
    text_has = {marker: any(marker in line for line in lines) for marker in (NOT_CONVERGED, ENDED)}
    if not text_has[ENDED]:
        raise DopwfInputError(f"CP2K output {path}: the run did not finish (no '{ENDED}')")
    if text_has[NOT_CONVERGED]:
        raise DopwfInputError(f"CP2K output {path}: the SCF did not converge; its energy and forces are not a label")
    energies = [float(line.split(":")[-1]) for line in lines if ENERGY_LINE in line]
    if not energies:
        raise DopwfInputError(f"CP2K output {path}: no '{ENERGY_LINE}' line")
    forces = _last_forces(lines, path, n_atoms)
    stress = _last_stress(lines, path)
    scf_steps = sum(1 for line in lines if re.match(r"^\s+\d+\s+OT\s", line))
    return Cp2kSinglePoint(energies[-1] * units.Hartree, forces * units.Hartree / units.Bohr,
                           None if stress is None else _ase_voigt(stress), scf_steps)


def _last_forces(lines: list[str], path: Path, n_atoms: int) -> np.ndarray:
    starts = [n for n, line in enumerate(lines) if FORCES_HEADER in line]
    if not starts:
        raise DopwfInputError(f"CP2K output {path}: no '{FORCES_HEADER}' block (RUN_TYPE ENERGY_FORCE with "
                              "&PRINT &FORCES ON expected)")
    rows = []
    for line in lines[starts[-1] + 1:]:
        if FORCES_END in line:
            break
        tokens = line.split()
        if len(tokens) == 6 and tokens[0].isdigit():
            rows.append([float(value) for value in tokens[3:]])
    if len(rows) != n_atoms:
        raise DopwfInputError(f"CP2K output {path}: its force block holds {len(rows)} atoms, expected {n_atoms}")
    return np.array(rows)


def _last_stress(lines: list[str], path: Path) -> np.ndarray | None:
    starts = [n for n, line in enumerate(lines) if STRESS_HEADER in line]
    if not starts:
        return None
    rows = [line.split()[2:5] for line in lines[starts[-1] + 2:starts[-1] + 5]]
    try:
        return np.array([[float(value) for value in row] for row in rows])
    except ValueError:
        raise DopwfInputError(f"CP2K output {path}: unreadable stress tensor after '{STRESS_HEADER}'") from None


def _ase_voigt(stress_GPa: np.ndarray) -> np.ndarray:
    """CP2K's tensor (GPa, positive = compressed) -> ASE's Voigt stress (eV/A^3, positive = stretched)."""
    s = -stress_GPa * units.GPa
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
