"""CP2K input text for one single point (energy, forces, stress) of a periodic cell.

Written as plain CP2K input that pymatgen's ``Cp2kInput`` parses and writes back unchanged in meaning: custodian's
Cp2kJob and handlers read and rewrite it (``MINIMIZER DIIS -> CG``, restart from the wavefunction file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from ase import Atoms

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.errors import DopwfInputError

INPUT_FILE = "cp2k.inp"
OUTPUT_FILE = "cp2k.out"
PROJECT = "dopwf"


def single_point_text(atoms: Atoms, settings: Cp2kSettings, wfn_guess: str | None = None) -> str:
    return input_text(atoms, settings, wfn_guess=wfn_guess)


def input_text(atoms: Atoms, settings: Cp2kSettings, run_type: str = "ENERGY_FORCE", seed: int | None = None,
               tail: str = "", force_eval_tail: str = "", dft_tail: str = "", wfn_guess: str | None = None) -> str:
    """The whole input: GLOBAL, FORCE_EVAL (Quickstep DFT of ``atoms``; ``dft_tail`` ends its DFT section,
    ``force_eval_tail`` the FORCE_EVAL, e.g. PROPERTIES), then ``tail`` (e.g. MOTION, EXT_RESTART).
    ``wfn_guess``: a wavefunction file (of a nearby geometry of the same atoms) to start the SCF from."""
    cell = "\n".join(f"      {name} {vector[0]:.10f} {vector[1]:.10f} {vector[2]:.10f}"
                     for name, vector in zip("ABC", np.asarray(atoms.cell), strict=True))
    wrapped = atoms.get_positions(wrap=True)
    coords = "\n".join(f"      {symbol} {x:.10f} {y:.10f} {z:.10f}"
                       for symbol, (x, y, z) in zip(atoms.get_chemical_symbols(), wrapped, strict=True))
    kinds = "\n".join(f"    &KIND {element}\n      BASIS_SET {settings.basis_set}\n"
                      f"      POTENTIAL {settings.pseudopotential}\n    &END KIND"
                      for element in sorted(set(atoms.get_chemical_symbols())))
    data = settings.data_directory()
    stress = "  STRESS_TENSOR ANALYTICAL\n" if settings.stress else ""
    print_stress = "    &STRESS_TENSOR ON\n    &END STRESS_TENSOR\n" if settings.stress else ""
    return f"""&GLOBAL
  PROJECT {PROJECT}
  RUN_TYPE {run_type}
  PRINT_LEVEL MEDIUM{"" if seed is None else f"{chr(10)}  SEED {seed}"}
&END GLOBAL
&FORCE_EVAL
  METHOD QS
{stress}  &DFT
    BASIS_SET_FILE_NAME {data / settings.basis_set_file}
    POTENTIAL_FILE_NAME {data / settings.pseudopotential_file}
    CHARGE 0{"" if wfn_guess is None else f"{chr(10)}    WFN_RESTART_FILE_NAME {wfn_guess}"}
    &MGRID
      CUTOFF {settings.cutoff_Ry:g}
      REL_CUTOFF {settings.rel_cutoff_Ry:g}
    &END MGRID
    &QS
      EPS_DEFAULT {settings.eps_default:.1E}
    &END QS
    &SCF
      SCF_GUESS {"ATOMIC" if wfn_guess is None else "RESTART"}
      EPS_SCF {settings.eps_scf:.1E}
      MAX_SCF {settings.max_scf}
      &OT
        MINIMIZER {settings.ot_minimizer}
        PRECONDITIONER {settings.preconditioner}
      &END OT
      &OUTER_SCF
        EPS_SCF {settings.eps_scf:.1E}
        MAX_SCF {settings.max_outer_scf}
      &END OUTER_SCF
      &PRINT
        &RESTART ON
        &END RESTART
      &END PRINT
    &END SCF
    &XC
      &XC_FUNCTIONAL {settings.functional}
      &END XC_FUNCTIONAL
    &END XC
{dft_tail}  &END DFT
  &SUBSYS
    &CELL
{cell}
      PERIODIC XYZ
    &END CELL
    &COORD
{coords}
    &END COORD
{kinds}
  &END SUBSYS
  &PRINT
    &FORCES ON
    &END FORCES
{print_stress}  &END PRINT
{force_eval_tail}&END FORCE_EVAL
{tail}"""


def check_cell(atoms: Atoms, settings: Cp2kSettings) -> None:
    """Refuse, before any run, a cell CP2K cannot take here: not periodic in 3D, or an element without its basis set
    or pseudopotential in the data files."""
    if not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-6:
        raise DopwfInputError(f"structure {atoms.get_chemical_formula()}: CP2K needs a periodic 3D cell here")
    check_kinds(sorted(set(atoms.get_chemical_symbols())), settings)


def check_kinds(elements: list[str], settings: Cp2kSettings) -> None:
    """Refuse, before any run, an element whose basis set or pseudopotential the data files do not hold."""
    data = settings.data_directory()
    for filename, name, what in ((settings.basis_set_file, settings.basis_set, "basis set"),
                                 (settings.pseudopotential_file, settings.pseudopotential, "pseudopotential")):
        path = data / filename
        if not path.is_file():
            raise DopwfInputError(f"CP2K data file {path}: not found (Debian: apt-get install cp2k-data; or set "
                                  "cp2k data_dir / $CP2K_DATA_DIR)")
        names = data_file_names(str(path))
        missing = [element for element in elements if name not in names.get(element, ())]
        if missing:
            raise DopwfInputError(f"CP2K {what} {name!r}: {path} holds none for {', '.join(missing)} "
                                  f"(it has {name!r} for {', '.join(sorted(e for e in names if name in names[e]))})")


@lru_cache(maxsize=8)
def data_file_names(path: str) -> dict[str, frozenset[str]]:
    """{element: names and aliases} from a CP2K basis or pseudopotential file (header lines: ``El NAME ALIAS...``)."""
    names: dict[str, set[str]] = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        tokens = line.split("#", 1)[0].split()
        if len(tokens) >= 2 and tokens[0].isalpha() and len(tokens[0]) <= 3 and not _is_number(tokens[1]):
            names.setdefault(tokens[0].capitalize(), set()).update(tokens[1:])
    return {element: frozenset(found) for element, found in names.items()}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
