"""VASP inputs following the paper's methods (pymatgen input sets; every value overridable).

Both runs: spin-paired PBE (PAW), ENCUT 600 eV, Gaussian smearing 0.2 eV, Gamma-centred k-mesh 2x2x3 for one
LGPS-type cell (<= 60 atoms) and 1x1x1 for supercells.
- AIMD (training data): IBRION=0, MDALGO=2 (Nose-Hoover), POTIM = time step (2 fs), ISYM=0, NSW, SMASS=0 and
  TEBEG/TEEND of the segment (the temperature ramp cut into walltime-sized segments; a segment after the
  first continues from the previous CONTCAR: positions and velocities).
  RANDOM_SEED (VASP >= 6.2) from the run's seed: independent validation runs start from different velocities.
- Dielectric (DFPT): LEPSILON=.TRUE., IBRION=8, EDIFF=1e-6; eps_r = trace/3 of electronic + ionic tensors.
- Single point (relabelling an ANN-MD frame for validation): the AIMD's electronic settings, NSW=0, IBRION=-1.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pymatgen.core import Structure
from pymatgen.io.vasp.inputs import Kpoints, Poscar, Potcar
from pymatgen.io.vasp.sets import BadInputSetWarning, MPMDSet, MPStaticSet

from dopant_workflows.engines.schedule import AIMDSettings, Segment
from dopant_workflows.errors import DopwfInputError

PAPER_INCAR = {"ENCUT": 600, "ISMEAR": 0, "SIGMA": 0.2, "ISPIN": 1, "LASPH": True}
AIMD_INCAR = {"IBRION": 0, "MDALGO": 2, "ISYM": 0, "SMASS": 0, "ISIF": 0, "EDIFF": 1e-5, "EDIFF_PER_ATOM": None,
              "LWAVE": False, "LCHARG": False}
STATIC_INCAR = {"NSW": 0, "IBRION": -1, "ISYM": 0, "EDIFF": 1e-5, "EDIFF_PER_ATOM": None, "LWAVE": False,
                "LCHARG": False}
#: VASP's RANDOM_SEED must lie in [0, 900,000,000)
VASP_MAX_SEED = 900_000_000
DFPT_INCAR = {"LEPSILON": True, "IBRION": 8, "EDIFF": 1e-6, "NSW": 1, "LWAVE": False, "LCHARG": False}
UNIT_CELL_MAX_ATOMS = 60


def default_kpoints(structure: Structure) -> tuple[int, int, int]:
    """The paper's meshes: 2x2x3 for one unit cell, 1x1x1 (Gamma only) for larger supercells."""
    return (2, 2, 3) if len(structure) <= UNIT_CELL_MAX_ATOMS else (1, 1, 1)


def _quiet(factory, *args, **kwargs):
    """Build a pymatgen set without its BadInputSetWarning: PBE_54 POTCARs are chosen on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputSetWarning)
        input_set = factory(*args, **kwargs)
        input_set.get_input_set(potcar_spec=True)  # evaluate now, inside the filter
    return input_set


def aimd_input_set(structure: Structure, segment: Segment, settings: AIMDSettings,
                   kpoints: tuple[int, int, int] | None = None, user_incar: Mapping[str, Any] | None = None) -> MPMDSet:
    """Input set of one AIMD segment (TEBEG/TEEND/NSW of the segment)."""
    return _quiet(
        MPMDSet,
        structure,
        start_temp=segment.temperature_begin_K,
        end_temp=segment.temperature_end_K,
        nsteps=segment.n_steps,
        time_step=settings.time_step_fs,
        user_incar_settings={**PAPER_INCAR, **AIMD_INCAR, "RANDOM_SEED": [settings.seed % VASP_MAX_SEED, 0, 0],
                             **dict(user_incar or {})},
        user_kpoints_settings=Kpoints.gamma_automatic(kpoints or default_kpoints(structure)),
        user_potcar_functional="PBE_54",
    )


def dielectric_input_set(structure: Structure, kpoints: tuple[int, int, int] | None = None,
                         user_incar: Mapping[str, Any] | None = None) -> MPStaticSet:
    return _quiet(
        MPStaticSet,
        structure,
        lepsilon=True,
        user_incar_settings={**PAPER_INCAR, **DFPT_INCAR, **dict(user_incar or {})},
        user_kpoints_settings=Kpoints.gamma_automatic(kpoints or default_kpoints(structure)),
        user_potcar_functional="PBE_54",
    )


def static_input_set(structure: Structure, kpoints: tuple[int, int, int] | None = None,
                     user_incar: Mapping[str, Any] | None = None) -> MPStaticSet:
    """A single point with the AIMD's electronic settings: the labels are comparable with the training data's."""
    return _quiet(
        MPStaticSet,
        structure,
        user_incar_settings={**PAPER_INCAR, **STATIC_INCAR, **dict(user_incar or {})},
        user_kpoints_settings=Kpoints.gamma_automatic(kpoints or default_kpoints(structure)),
        user_potcar_functional="PBE_54",
    )


def write_aimd_segment(run_dir: str | Path, structure: Structure, segment: Segment, settings: AIMDSettings,
                       previous_dir: str | Path | None = None, potcar_spec: bool = False, **kwargs) -> Path:
    """Write INCAR, KPOINTS, POTCAR (or POTCAR.spec) and POSCAR of a segment.

    A continuation (``previous_dir``) starts from the previous CONTCAR, velocities included, as VASP's own
    restart convention; its structure must have the same species and count.
    """
    run_dir = Path(run_dir)
    start = structure
    contcar = None
    if previous_dir is not None:
        contcar_path = Path(previous_dir) / "CONTCAR"
        if not contcar_path.is_file():
            raise DopwfInputError(f"continuation of segment {segment.index}: {contcar_path} not found")
        contcar = Poscar.from_file(contcar_path, check_for_potcar=False)
        if contcar.structure.composition != structure.composition:
            raise DopwfInputError(f"continuation: {contcar_path} holds {contcar.structure.composition.formula}, "
                                  f"expected {structure.composition.formula}")
        start = contcar.structure
    _write(aimd_input_set(start, segment, settings, **kwargs), run_dir, potcar_spec)
    if contcar is not None:
        shutil.copyfile(Path(previous_dir) / "CONTCAR", run_dir / "POSCAR")  # positions + velocities
    return run_dir


def _write(input_set, run_dir: str | Path, potcar_spec: bool) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadInputSetWarning)
        input_set.write_input(run_dir, potcar_spec=potcar_spec)
    return Path(run_dir)


def write_dielectric(run_dir: str | Path, structure: Structure, potcar_spec: bool = False, **kwargs) -> Path:
    return _write(dielectric_input_set(structure, **kwargs), run_dir, potcar_spec)


def write_static(run_dir: str | Path, structure: Structure, potcar_spec: bool = False, **kwargs) -> Path:
    return _write(static_input_set(structure, **kwargs), run_dir, potcar_spec)


def check_vasp_available(vasp_cmd: str | None, structure: Structure) -> None:
    """Refuse at submit time (not hours later) when VASP or its POTCARs are missing on this machine."""
    if not vasp_cmd:
        raise DopwfInputError("engine vasp: no vasp_cmd configured "
                              "(my_fworker.yaml env.vasp_cmd, e.g. 'srun vasp_std')")
    executable = vasp_cmd.split()[-1] if vasp_cmd.split()[0] in ("srun", "mpirun", "mpiexec") else vasp_cmd.split()[0]
    if shutil.which(executable) is None:
        raise DopwfInputError(f"engine vasp: vasp_cmd {vasp_cmd!r}: {executable!r} is not on PATH")
    symbols = _quiet(MPMDSet, structure, user_potcar_functional="PBE_54").potcar_symbols
    try:
        Potcar(symbols, functional="PBE_54")
    except (OSError, ValueError, RuntimeError) as exc:
        raise DopwfInputError(
            f"engine vasp: POTCARs {symbols} (PBE_54) not found: set PMG_VASP_PSP_DIR in ~/.config/.pmgrc.yaml "
            f"({exc})"
        ) from None
