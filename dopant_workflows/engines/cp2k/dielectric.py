"""The electronic (clamped-ion, high-frequency) dielectric tensor from CP2K's linear response.

CP2K's ``&PROPERTIES &LINRES &POLAR`` with the Berry-phase dipole operator (``PERIODIC_DIPOLE_OPERATOR``) gives the
cell's polarizability tensor alpha = dM/dE (M the cell's dipole, E the macroscopic field), so

    eps_inf = 1 + 4 pi alpha / V        (Gaussian atomic units: alpha in bohr^3, V the cell volume in bohr^3).

Checked with the real program against finite fields (``&PERIODIC_EFIELD``, Berry-phase dipoles at +-E:
tests/engines/test_cp2k_dielectric.py). The static eps_r the Anderson-Stuart model needs adds the ionic part (Born
effective charges and the Gamma-point force constants), which this module does not compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from dopant_workflows.engines.cp2k.inputs import OUTPUT_FILE, check_kinds, input_text
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.errors import DopwfInputError

POLAR_HEADER = "POLAR| Polarizability tensor [a.u.]"
LINRES = """  &PROPERTIES
    &LINRES
      EPS 1.0E-8
      MAX_ITER 200
      PRECONDITIONER FULL_ALL
      &POLAR
        DO_RAMAN T
        PERIODIC_DIPOLE_OPERATOR T
      &END POLAR
    &END LINRES
  &END PROPERTIES
"""


@dataclass(frozen=True)
class ElectronicDielectric:
    polarizability_bohr3: np.ndarray  # (3, 3), symmetrised
    epsilon_electronic: np.ndarray  # (3, 3)
    volume_A3: float
    level_of_theory: str
    corrections: int

    @property
    def eps_electronic(self) -> float:
        """The isotropic average, trace / 3."""
        return float(np.trace(self.epsilon_electronic) / 3)


def polarizability_text(atoms: Atoms, settings: Cp2kSettings) -> str:
    """A ground state (no forces, no stress) followed by the linear response to a homogeneous field."""
    return input_text(atoms, settings.model_copy(update={"stress": False}), run_type="ENERGY",
                      force_eval_tail=LINRES)


def read_polarizability_bohr3(path: str | Path) -> np.ndarray:
    """CP2K's polarizability tensor (bohr^3), symmetrised (the printed tensor is symmetric to the response's
    convergence: its off-diagonal pairs differ by ~1e-2 of the diagonal at most)."""
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    starts = [n for n, line in enumerate(lines) if POLAR_HEADER in line]
    if not starts:
        raise DopwfInputError(f"CP2K output {path}: no '{POLAR_HEADER}' (a finished &LINRES &POLAR run expected)")
    try:
        diagonal, upper, lower = ([float(v) for v in lines[starts[-1] + k].split()[-3:]] for k in (1, 2, 3))
    except (ValueError, IndexError):
        raise DopwfInputError(f"CP2K output {path}: unreadable polarizability tensor after '{POLAR_HEADER}'") \
            from None
    alpha = np.diag(diagonal)
    for (i, j), above, below in zip(((0, 1), (0, 2), (1, 2)), upper, lower, strict=True):
        alpha[i, j] = alpha[j, i] = 0.5 * (above + below)
    return alpha


def electronic_permittivity(polarizability_bohr3: np.ndarray, volume_A3: float) -> np.ndarray:
    """eps_inf = 1 + 4 pi alpha / V (Gaussian units)."""
    volume_bohr3 = volume_A3 / units.Bohr ** 3
    return np.eye(3) + 4 * math.pi * np.asarray(polarizability_bohr3) / volume_bohr3


def run_electronic_dielectric(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None
                              ) -> ElectronicDielectric:
    """CP2K's linear response of ``atoms`` (a periodic 3D cell) under custodian; resumable like a single point."""
    from dopant_workflows.engines.cp2k.runs import run_input

    settings = settings or Cp2kSettings()
    if not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-6:
        raise DopwfInputError(f"structure {atoms.get_chemical_formula()}: a dielectric tensor needs a periodic 3D "
                              "cell")
    check_kinds(sorted(set(atoms.get_chemical_symbols())), settings)
    _, made = run_input(run_dir, polarizability_text(atoms, settings), settings)
    alpha = read_polarizability_bohr3(Path(run_dir) / OUTPUT_FILE)
    return ElectronicDielectric(alpha, electronic_permittivity(alpha, atoms.get_volume()), atoms.get_volume(),
                                settings.label(), len(made))
