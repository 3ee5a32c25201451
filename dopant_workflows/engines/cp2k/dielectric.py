"""Dielectric tensors with CP2K: the electronic part from linear response, the ionic part from finite displacements.

CP2K's ``&PROPERTIES &LINRES &POLAR`` with the Berry-phase dipole operator (``PERIODIC_DIPOLE_OPERATOR``) gives the
cell's polarizability tensor alpha = dM/dE (M the cell's dipole, E the macroscopic field), so

    eps_inf = 1 + 4 pi alpha / V        (Gaussian atomic units: alpha in bohr^3, V the cell volume in bohr^3).

Checked with the real program against finite fields (``&PERIODIC_EFIELD``, Berry-phase dipoles at +-E:
tests/engines/test_cp2k_dielectric.py). The static eps_r the Anderson-Stuart model needs adds the ionic part: Born
effective charges and Gamma-point force constants by finite displacements (:func:`run_ionic_dielectric`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from dopant_workflows.engines.cp2k.inputs import OUTPUT_FILE, check_cell, input_text
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.errors import DopwfInputError

log = logging.getLogger(__name__)

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
    check_cell(atoms, settings)
    _, made = run_input(run_dir, polarizability_text(atoms, settings), settings)
    alpha = read_polarizability_bohr3(Path(run_dir) / OUTPUT_FILE)
    return ElectronicDielectric(alpha, electronic_permittivity(alpha, atoms.get_volume()), atoms.get_volume(),
                                settings.label(), len(made))


# ---------------------------------------------------------------- relaxed positions (the ionic part needs them)
GEO_OPT_DONE = "GEOMETRY OPTIMIZATION COMPLETED"
GEO_OPT_STOPPED = "MAXIMUM NUMBER OF OPTIMIZATION STEPS REACHED"
HA_BOHR_PER_EV_A = units.Bohr / units.Hartree  # a force in eV/A times this is Ha/bohr


def relax_text(atoms: Atoms, settings: Cp2kSettings, max_force_eV_A: float, max_steps: int) -> str:
    """A fixed-cell BFGS relaxation of the positions to ``max_force_eV_A`` (largest force component)."""
    max_force = max_force_eV_A * HA_BOHR_PER_EV_A
    motion = (f"&MOTION\n  &GEO_OPT\n    OPTIMIZER BFGS\n    MAX_ITER {max_steps}\n    MAX_FORCE {max_force:.3E}\n"
              f"    RMS_FORCE {max_force / 1.5:.3E}\n  &END GEO_OPT\n&END MOTION\n")
    return input_text(atoms, settings.model_copy(update={"stress": False}), run_type="GEO_OPT", tail=motion)


def relax_positions(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None,
                    max_force_eV_A: float = 0.005, max_steps: int = 200) -> Atoms:
    """``atoms`` with its positions relaxed by CP2K in the fixed cell (what finite displacements need: a cell off
    its minimum has imaginary modes); resumable like a single point. A relaxation that ends without CP2K's
    convergence message is an error naming the run."""
    from ase.io import read

    from dopant_workflows.engines.cp2k.inputs import PROJECT
    from dopant_workflows.engines.cp2k.runs import Cp2kRunError, run_input

    settings = settings or Cp2kSettings()
    check_cell(atoms, settings)
    run_dir = Path(run_dir)
    not_converged = DopwfInputError(f"CP2K relaxation in {run_dir}: not converged to {max_force_eV_A:g} eV/A in "
                                    f"{max_steps} steps (no '{GEO_OPT_DONE}' in {OUTPUT_FILE})")
    try:
        run_input(run_dir, relax_text(atoms, settings, max_force_eV_A, max_steps), settings)
    except Cp2kRunError:
        # custodian's validator refuses a relaxation that ran out of steps; say that, not "validation failed"
        if GEO_OPT_STOPPED in (run_dir / OUTPUT_FILE).read_text(errors="replace"):
            raise not_converged from None
        raise
    if GEO_OPT_DONE not in (run_dir / OUTPUT_FILE).read_text(errors="replace"):
        raise not_converged
    last = read(run_dir / f"{PROJECT}-pos-1.xyz", index=-1, format="xyz")
    relaxed = atoms.copy()
    if last.get_chemical_symbols() != atoms.get_chemical_symbols():
        raise DopwfInputError(f"CP2K relaxation in {run_dir}: its trajectory's atoms are not the cell's")
    relaxed.positions = last.positions
    return relaxed


@dataclass(frozen=True)
class Cp2kDielectric:
    """The dielectric stage's result with CP2K: the electronic part, and the ionic part when it was asked for."""

    electronic: ElectronicDielectric
    ionic: IonicDielectric | None
    relaxed: bool  # the positions were relaxed before (the ionic part's cell)
    formula: str

    @property
    def epsilon_r(self) -> np.ndarray | None:
        """The static tensor, electronic + ionic (None without the ionic part)."""
        return None if self.ionic is None else self.electronic.epsilon_electronic + self.ionic.epsilon_ionic

    @property
    def eps_r(self) -> float | None:
        return None if self.ionic is None else float(np.trace(self.epsilon_r) / 3)

    @property
    def holds(self) -> str:
        return "electronic + ionic" if self.ionic is not None else "electronic"

    def source(self) -> str:
        """Provenance for the dielectric document and the Anderson-Stuart table."""
        parts = "linear response (&LINRES &POLAR)" + (
            " + Born charges and Gamma force constants by finite displacements" if self.ionic else "")
        return f"{self.electronic.level_of_theory}: {parts}{', relaxed positions' if self.relaxed else ''}, " \
               "this workflow"

    def missing(self) -> str | None:
        if self.ionic is not None:
            return None
        return (f"missing: only the electronic part was computed (eps_electronic {self.electronic.eps_electronic:.3f}, "
                "CP2K linear response); the static eps_r = electronic + ionic needs the ionic part (ionic: true)")

    def as_record(self) -> dict:
        """Everything, as JSON-ready values (``dopwf dielectric --json``)."""
        record = {"engine": "cp2k", "level_of_theory": self.electronic.level_of_theory, "formula": self.formula,
                  "volume_A3": self.electronic.volume_A3, "holds": self.holds, "relaxed": self.relaxed,
                  "polarizability_bohr3": self.electronic.polarizability_bohr3.tolist(),
                  "epsilon_electronic": self.electronic.epsilon_electronic.tolist(),
                  "eps_electronic": self.electronic.eps_electronic, "epsilon_ionic": None, "eps_ionic": None,
                  "epsilon_r": None, "eps_r": None, "missing": self.missing(), "source": self.source(),
                  "custodian_corrections": self.electronic.corrections}
        if self.ionic is not None:
            record.update(epsilon_ionic=self.ionic.epsilon_ionic.tolist(), eps_ionic=self.ionic.eps_ionic,
                          epsilon_r=self.epsilon_r.tolist(), eps_r=self.eps_r,
                          born_charges_e=self.ionic.born_charges_e.tolist(),
                          frequencies_THz=self.ionic.frequencies_THz.tolist(),
                          born_charge_sum_e=self.ionic.born_charge_sum_e)
        return record


def compute_dielectric(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None, ionic: bool = False,
                       relax: bool = False, step_A: float = 0.01) -> Cp2kDielectric:
    """The dielectric stage with CP2K, in ``run_dir``: [relax/ (positions)], linres/ (electronic part, on the
    relaxed cell when relaxed) and, with ``ionic``, displacements/ (6N + 1 runs). Every part resumes."""
    run_dir = Path(run_dir)
    settings = settings or Cp2kSettings()
    cell = relax_positions(run_dir / "relax", atoms, settings) if relax else atoms
    electronic = run_electronic_dielectric(run_dir / "linres", cell, settings)
    if ionic:
        log.info("ionic part: %d displaced CP2K runs", 6 * len(cell))
    ionic_part = run_ionic_dielectric(run_dir / "displacements", cell, settings, step_A) if ionic else None
    return Cp2kDielectric(electronic, ionic_part, relax, atoms.get_chemical_formula())


# ---------------------------------------------------------------- the ionic part: finite displacements
DEBYE_E_A = 0.20819434  # 1 Debye in e * Angstrom
COULOMB_EV_A = 14.399645  # e^2 / (4 pi eps0) in eV * Angstrom: Gaussian units' e^2
DIPOLE_PRINT = "    &PRINT\n      &MOMENTS ON\n        PERIODIC T\n      &END MOMENTS\n    &END PRINT\n"


@dataclass(frozen=True)
class IonicDielectric:
    born_charges_e: np.ndarray  # (N, 3, 3): Z*[a, i, j] = dM_i / du_(a j) / e, acoustic sum rule imposed
    force_constants_eV_A2: np.ndarray  # (3N, 3N), symmetric, acoustic sum rule imposed
    frequencies_THz: np.ndarray  # (3N,), imaginary ones negative
    epsilon_ionic: np.ndarray  # (3, 3)
    born_charge_sum_e: float  # largest |sum_a Z*[a]| before the sum rule was imposed: the calculation's noise

    @property
    def eps_ionic(self) -> float:
        return float(np.trace(self.epsilon_ionic) / 3)


def dipole_text(atoms: Atoms, settings: Cp2kSettings, wfn_guess: str | None = None) -> str:
    """Forces and the Berry-phase cell dipole of ``atoms`` (the SCF from ``wfn_guess`` when given)."""
    return input_text(atoms, settings.model_copy(update={"stress": False}), dft_tail=DIPOLE_PRINT,
                      wfn_guess=wfn_guess)


def read_dipole_e_A(path: str | Path) -> np.ndarray:
    """The last cell dipole CP2K printed (Debye) in e * Angstrom."""
    text = Path(path).read_text(errors="replace")
    block = text.rsplit("Dipole moment [Debye]", 1)
    if len(block) != 2:
        raise DopwfInputError(f"CP2K output {path}: no 'Dipole moment [Debye]' (&PRINT &MOMENTS expected)")
    fields = block[1].split()
    values = [float(fields[fields.index(name) + 1]) for name in ("X=", "Y=", "Z=")]
    return np.array(values) * DEBYE_E_A


def ionic_permittivity(born_charges_e: np.ndarray, force_constants_eV_A2: np.ndarray, masses_amu: np.ndarray,
                       volume_A3: float) -> tuple[np.ndarray, np.ndarray]:
    """(eps_ionic (3, 3), frequencies THz): eps_ion = (4 pi / V) e^2 sum_m p_m p_m^T / w_m^2 over the optical
    modes, p_m = sum_a Z*_a e_m,a / sqrt(m_a), w_m^2 the eigenvalues of the mass-weighted force constants."""
    n = len(masses_amu)
    inverse_sqrt_mass = np.repeat(1 / np.sqrt(masses_amu), 3)
    dynamical = force_constants_eV_A2 * np.outer(inverse_sqrt_mass, inverse_sqrt_mass)
    omega2, modes = np.linalg.eigh(dynamical)  # eV / (A^2 amu)
    order = np.argsort(np.abs(omega2))
    optical = order[3:]  # the three smallest |w^2| are the acoustic modes (zero by the sum rule)
    if np.any(omega2[optical] <= 0):
        raise DopwfInputError(f"force constants: {int(np.sum(omega2[optical] <= 0))} optical mode(s) with w^2 <= 0: "
                              "the cell is not at a minimum of its energy (relax the positions first)")
    z = born_charges_e.transpose(1, 0, 2).reshape(3, 3 * n)  # [i, (a j)]
    epsilon = np.zeros((3, 3))
    for m in optical:
        p = z @ (modes[:, m] * inverse_sqrt_mass)
        epsilon += np.outer(p, p) / omega2[m]
    epsilon *= 4 * math.pi * COULOMB_EV_A / volume_A3
    to_THz = math.sqrt(units.eV / units._amu) * 1e10 / (2 * math.pi) / 1e12  # sqrt(eV/(A^2 amu)) -> THz
    frequencies = np.sign(omega2) * np.sqrt(np.abs(omega2)) * to_THz
    return epsilon, frequencies


def run_ionic_dielectric(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None,
                         step_A: float = 0.01) -> IonicDielectric:
    """The ionic dielectric tensor from :func:`born_charges_and_force_constants`. ``atoms`` must be at a minimum
    (relaxed positions): an optical mode with w^2 <= 0 is an error."""
    born, constants, charge_sum = born_charges_and_force_constants(run_dir, atoms, settings, step_A)
    epsilon, frequencies = ionic_permittivity(born, constants, atoms.get_masses(), atoms.get_volume())
    return IonicDielectric(born, constants, frequencies, epsilon, charge_sum)


def born_charges_and_force_constants(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None,
                                     step_A: float = 0.01) -> tuple[np.ndarray, np.ndarray, float]:
    """(Born effective charges (N, 3, 3) in e, force constants (3N, 3N) in eV/A^2, largest |sum_a Z*_a| before the
    acoustic sum rule) by central finite displacements: +-``step_A`` of every atom along x, y, z, 6N CP2K runs with
    forces and Berry-phase dipoles, each starting from the undisplaced cell's wavefunction; resumable per run."""
    from dopant_workflows.engines.cp2k.outputs import read_single_point
    from dopant_workflows.engines.cp2k.runs import GUESS_FILE, WFN_FILE, run_input

    settings = settings or Cp2kSettings()
    check_cell(atoms, settings)
    run_dir = Path(run_dir)
    n = len(atoms)
    run_input(run_dir / "undisplaced", dipole_text(atoms, settings), settings)
    guess = run_dir / "undisplaced" / WFN_FILE
    cell = np.asarray(atoms.cell)
    forces = np.zeros((2, 3 * n, n, 3))
    dipoles = np.zeros((2, 3 * n, 3))
    for k in range(3 * n):
        for s, sign in enumerate((+1, -1)):
            displaced = atoms.copy()
            displaced.positions[k // 3, k % 3] += sign * step_A
            where = run_dir / f"atom{k // 3:03d}_{'xyz'[k % 3]}{'+-'[s]}"
            run_input(where, dipole_text(displaced, settings, GUESS_FILE), settings, files={GUESS_FILE: guess})
            forces[s, k] = read_single_point(where / OUTPUT_FILE, n).forces_eV_A
            dipoles[s, k] = read_dipole_e_A(where / OUTPUT_FILE)
    # the Berry-phase dipole is defined modulo e times a lattice vector: take the smallest difference
    difference = dipoles[0] - dipoles[1]
    fractional = difference @ np.linalg.inv(cell)
    difference = (fractional - np.round(fractional)) @ cell
    born = (difference / (2 * step_A)).reshape(n, 3, 3).transpose(0, 2, 1)  # [a, i (dipole), j (displacement)]
    charge_sum = float(np.abs(born.sum(axis=0)).max())
    born -= born.mean(axis=0)  # acoustic sum rule: a rigid shift moves no charge
    constants = -(forces[0] - forces[1]).reshape(3 * n, 3 * n) / (2 * step_A)  # [(a j) displaced, (b i) force]
    constants = _acoustic_sum_rule(0.5 * (constants + constants.T), n)  # a rigid shift costs no energy
    return born, constants, charge_sum


def _acoustic_sum_rule(constants: np.ndarray, n: int) -> np.ndarray:
    """Force constants whose rows sum to zero over atoms for each Cartesian pair (the diagonal blocks absorb the
    residual), kept symmetric."""
    phi = constants.reshape(n, 3, n, 3).copy()
    residual = phi.sum(axis=2)  # [a, i, j]
    for a in range(n):
        phi[a, :, a, :] -= 0.5 * (residual[a] + residual[a].T)
    return phi.reshape(3 * n, 3 * n)
