"""Parsing VASP results: AIMD frames (complete or from a killed run) and DFPT dielectric tensors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from pymatgen.io.vasp.inputs import Incar

from dopant_workflows.errors import DopwfInputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AIMDFrames:
    frames: list[Atoms]
    expected_steps: int | None  # NSW of the run
    truncated: bool  # fewer complete ionic steps than NSW: the run was killed or crashed
    source: str  # which file the frames came from


def read_aimd_frames(run_dir: str | Path, first_step: int = 0) -> AIMDFrames:
    """Every complete ionic step of an MD run: vasprun.xml first (ASE keeps the complete <calculation>
    blocks of a truncated file), OUTCAR as a fallback. Frames get ``step``, ``time_fs`` and the energy that is
    consistent with the forces (the free energy, e_fr_energy)."""
    run_dir = Path(run_dir)
    incar = Incar.from_file(run_dir / "INCAR") if (run_dir / "INCAR").exists() else {}
    nsw, potim = incar.get("NSW"), float(incar.get("POTIM", 1.0))
    frames, source, errors = [], None, []
    for name, fmt in (("vasprun.xml", "vasp-xml"), ("OUTCAR", "vasp-out")):
        path = run_dir / name
        if not path.exists():
            continue
        try:
            frames = read(path, index=":", format=fmt)
            source = name
            break
        except Exception as exc:  # noqa: BLE001 - try the next file, report all at the end
            errors.append(f"{name}: {exc}")
    if source is None:
        raise DopwfInputError(f"{run_dir}: no readable vasprun.xml or OUTCAR ({'; '.join(errors) or 'none present'})")
    for n, frame in enumerate(frames):
        free_energy = frame.calc.get_property("free_energy", allow_calculation=False)
        if free_energy is not None:
            frame.calc.results["energy"] = free_energy
        frame.info.update(step=first_step + n + 1, time_fs=(first_step + n + 1) * potim)
    truncated = nsw is not None and len(frames) < int(nsw)
    if truncated:
        log.warning("%s: %d of %d MD steps complete (run killed or crashed); keeping the complete ones",
                    run_dir, len(frames), nsw)
    return AIMDFrames(frames, nsw, truncated, source)


@dataclass(frozen=True)
class DielectricResult:
    epsilon_electronic: np.ndarray  # (3, 3), dimensionless
    epsilon_ionic: np.ndarray  # (3, 3)

    @property
    def epsilon_total(self) -> np.ndarray:
        return self.epsilon_electronic + self.epsilon_ionic

    @property
    def eps_r(self) -> float:
        """Relative permittivity for the Anderson-Stuart model: trace/3 of electronic + ionic."""
        return float(np.trace(self.epsilon_total) / 3.0)


ELECTRONIC_HEADER = "MACROSCOPIC STATIC DIELECTRIC TENSOR (including local field effects in DFT)"
IONIC_HEADER = "MACROSCOPIC STATIC DIELECTRIC TENSOR IONIC CONTRIBUTION"


def _last_tensor(lines: list[str], header: str, source: str) -> np.ndarray:
    """The 3x3 block printed after the last ``header`` line and its dashed rule (VASP's OUTCAR layout)."""
    starts = [n for n, line in enumerate(lines) if header in line]
    if not starts:
        raise DopwfInputError(f"{source}: no '{header}' block; is it a LEPSILON run that finished?")
    rows = lines[starts[-1] + 2 : starts[-1] + 5]
    try:
        tensor = np.array([[float(x) for x in row.split()] for row in rows])
    except ValueError:
        tensor = np.zeros(0)
    if tensor.shape != (3, 3) or not np.all(np.isfinite(tensor)):
        raise DopwfInputError(f"{source}: the '{header}' block is incomplete (truncated OUTCAR?)")
    return tensor


def read_dielectric(run_dir: str | Path) -> DielectricResult:
    """Electronic and ionic static dielectric tensors of a LEPSILON run, from its OUTCAR (last blocks)."""
    path = Path(run_dir) / "OUTCAR"
    if not path.exists():
        raise DopwfInputError(f"{run_dir}: no OUTCAR; the dielectric run did not finish")
    lines = path.read_text(errors="replace").splitlines()
    return DielectricResult(_last_tensor(lines, ELECTRONIC_HEADER, str(path)),
                            _last_tensor(lines, IONIC_HEADER, str(path)))
