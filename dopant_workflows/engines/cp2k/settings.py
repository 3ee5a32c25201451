"""The CP2K engine's one settings model: functional, basis, pseudopotential, grids, SCF, threads and ranks.

Defaults: PBE with GTH-PBE pseudopotentials (Goedecker-Teter-Hutter, the semicore q3 for Li) and the short-range
DZVP-MOLOPT-SR-GTH basis, which CP2K's data files hold for every element of the paper's electrolytes (Li Si P S Cl Ge
Br I O). The grid cutoffs (400 / 50 Ry) are measured: the cheapest setting whose
forces on a 50-atom LSiPS frame lie within 0.02 eV/A of 800/80 Ry (0.005 eV/A; bench/results/cp2k_convergence.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from pydantic import Field

from dopant_workflows.settings_base import StrictSettings

#: Debian's cp2k-data puts BASIS_MOLOPT and GTH_POTENTIALS here; CP2K searches it by default.
DEBIAN_DATA_DIR = "/usr/share/cp2k"


class Cp2kSettings(StrictSettings):
    """How CP2K computes one energy, its forces and its stress (Quickstep, Gaussian and plane waves)."""

    functional: Literal["PBE"] = Field("PBE", description="exchange-correlation functional (the GTH-PBE "
                                                           "pseudopotentials were made for it)")
    basis_set: str = Field("DZVP-MOLOPT-SR-GTH", description="basis set name (per element, from basis_set_file)")
    basis_set_file: str = Field("BASIS_MOLOPT", description="CP2K data file holding the basis sets")
    pseudopotential: str = Field("GTH-PBE", description="pseudopotential name (its element's valence is CP2K's own)")
    pseudopotential_file: str = Field("GTH_POTENTIALS", description="CP2K data file holding the pseudopotentials")
    cutoff_Ry: float = Field(400.0, gt=0, description="finest plane-wave grid cutoff (Ry)")
    rel_cutoff_Ry: float = Field(50.0, gt=0, description="Gaussian-to-grid mapping cutoff (Ry)")
    eps_default: float = Field(1e-12, gt=0, lt=1e-6, description="Quickstep's integral screening tolerance")
    eps_scf: float = Field(1e-6, gt=0, lt=1e-3, description="SCF convergence: largest density-matrix change (Ha)")
    max_scf: int = Field(50, gt=0, description="SCF steps per outer SCF cycle")
    max_outer_scf: int = Field(10, gt=0, description="outer SCF cycles (orbital transformation restarts)")
    preconditioner: Literal["FULL_SINGLE_INVERSE", "FULL_ALL"] = Field(
        "FULL_SINGLE_INVERSE", description="orbital-transformation preconditioner. FULL_ALL took 77 SCF steps where "
        "this took 107 on a 50-atom LSiPS frame, with the same forces, but on 12-atom Li2S with an SZV basis it "
        "converged 2.9 eV above the ground state, with wrong forces (bench/results/cp2k_convergence.md): a choice "
        "to test per system, not a default")
    ot_minimizer: Literal["DIIS", "CG"] = Field("DIIS", description="orbital-transformation minimiser (custodian's "
                                                                     "UnconvergedScfErrorHandler moves DIIS -> CG)")
    stress: bool = Field(True, description="compute the analytical stress tensor (about 10 % more time)")
    threads: int = Field(1, gt=0, description="OpenMP threads per rank (OMP_NUM_THREADS)")
    ranks: int = Field(1, gt=0, description="MPI ranks (mpirun -np); 1 runs cp2k directly")
    command: str = Field("cp2k.psmp", description="the CP2K executable (psmp: OpenMP + MPI)")
    data_dir: str | None = Field(None, description="directory of the basis and pseudopotential files; default: "
                                                   "$CP2K_DATA_DIR, else Debian's /usr/share/cp2k")
    walltime_s: int | None = Field(None, gt=0, description="wall time of one run (s); custodian's WalltimeHandler "
                                                           "stops CP2K cleanly before it")
    frozen_timeout_s: int = Field(3600, gt=0, description="a run whose output has not grown for this long is killed "
                                                          "and restarted (custodian's FrozenJobErrorHandler)")

    def data_directory(self) -> Path:
        return Path(self.data_dir or os.environ.get("CP2K_DATA_DIR") or DEBIAN_DATA_DIR)

    def command_line(self) -> list[str]:
        """The command custodian runs (``-i cp2k.inp`` is added by the job)."""
        if self.ranks == 1:
            return [self.command]
        return ["mpirun", "--allow-run-as-root", "-np", str(self.ranks), self.command]

    def label(self) -> str:
        """A short record of the level of theory, stored with every label (one training set, one level)."""
        return (f"cp2k {self.functional}/{self.basis_set}/{self.pseudopotential} cutoff {self.cutoff_Ry:g} Ry "
                f"rel_cutoff {self.rel_cutoff_Ry:g} Ry eps_scf {self.eps_scf:g}")


def cp2k_available(settings: Cp2kSettings | None = None) -> str | None:
    """None when CP2K and its data files are here; otherwise why not (for a skipped test or a clear error)."""
    settings = settings or Cp2kSettings()
    if shutil.which(settings.command) is None:
        return f"{settings.command} not on PATH (Debian: apt-get install cp2k cp2k-data)"
    for name in (settings.basis_set_file, settings.pseudopotential_file):
        if not (settings.data_directory() / name).is_file():
            return f"{settings.data_directory() / name} missing (Debian: apt-get install cp2k-data)"
    return None
