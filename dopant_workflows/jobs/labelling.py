"""Reference labels (energy, forces, stress) for frames: the one code path that active learning, validation
relabelling and ``dopwf label`` share, for every engine that runs in-process or here.

- embedded engines (``embedded``, ``embedded:chgnet``, ``embedded:sevenn``): the universal potential's energy and
  forces (stress when asked);
- ``cp2k``: a CP2K single point per frame under custodian, each in its own directory under ``work_dir``
  (``frame_00000`` ...), so an interrupted labelling resumes from the frames already done.

Every labelled frame carries ``info["engine"]`` (and, for CP2K, ``info["level_of_theory"]``): one training set
never mixes the labels of two engines.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

log = logging.getLogger(__name__)

LABEL_ENGINES = ("embedded", "embedded:chgnet", "embedded:sevenn", "cp2k")


def label_frames(frames: Sequence[Atoms], engine: str, device: str = "cpu", work_dir: str | Path | None = None,
                 cp2k: Cp2kSettings | None = None, stress: bool = False) -> list[Atoms]:
    """Labelled copies of ``frames`` (same order, positions and cell), ready for training.

    ``engine``: one of :data:`LABEL_ENGINES` (``chgnet`` / ``sevenn`` are accepted for ``embedded:...``).
    ``work_dir``: where CP2K runs (required for ``cp2k``). ``stress``: also ask an embedded engine for the stress
    (CP2K's stress comes with ``cp2k.stress``)."""
    if engine == "cp2k":
        if work_dir is None:
            raise DopwfInputError("engine cp2k: labelling needs a work directory for the CP2K runs")
        return _label_with_cp2k(frames, Path(work_dir), cp2k or Cp2kSettings())
    from dopant_workflows.engines.universal import parse_engine

    if engine not in ("chgnet", "sevenn") and not engine.startswith("embedded"):
        raise DopwfInputError(f"engine {engine!r}: expected one of {', '.join(LABEL_ENGINES)}")
    return _label_with_embedded(frames, f"embedded:{parse_engine(engine)}", device, stress)


def _label_with_embedded(frames: Sequence[Atoms], engine: str, device: str, stress: bool) -> list[Atoms]:
    from dopant_workflows.jobs.md import potential_calculator

    calculator, provenance = potential_calculator(engine, device)
    labelled = []
    for frame in frames:
        atoms = _bare(frame)
        atoms.calc = calculator
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            results = {"energy": float(atoms.get_potential_energy()), "forces": atoms.get_forces().copy()}
            if stress:
                results["stress"] = atoms.get_stress().copy()
        atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info.update(engine=engine, level_of_theory=provenance["model"])
        labelled.append(atoms)
    return labelled


def _label_with_cp2k(frames: Sequence[Atoms], work_dir: Path, settings: Cp2kSettings) -> list[Atoms]:
    from dopant_workflows.engines.cp2k.runs import run_static

    labelled = []
    for n, frame in enumerate(frames):
        atoms = run_static(work_dir / f"frame_{n:05d}", _bare(frame), settings)
        log.info("cp2k label %d/%d: E = %.4f eV, %d SCF steps, %d correction(s)", n + 1, len(frames),
                 atoms.get_potential_energy(), atoms.info["cp2k_scf_steps"], atoms.info["cp2k_corrections"])
        labelled.append(atoms)
    return labelled


def _bare(frame: Atoms) -> Atoms:
    return Atoms(frame.get_chemical_symbols(), positions=frame.positions, cell=frame.cell, pbc=True)


def read_frames(path: str | Path, index: str = ":") -> list[Atoms]:
    """The frames of a trajectory file ASE reads (extxyz, ASE .traj, vasprun.xml, ...), ``index`` an ASE slice."""
    path = Path(path)
    if not path.is_file():
        raise DopwfInputError(f"frames file {path}: not found")
    try:
        frames = read(path, index=index)
    except Exception as exc:  # ASE raises many kinds for a file it cannot parse
        raise DopwfInputError(f"frames file {path}: not a trajectory ASE can read ({type(exc).__name__}: {exc})") \
            from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise DopwfInputError(f"frames file {path}: index {index!r} selects no frame")
    for n, frame in enumerate(frames):
        if not all(frame.pbc) or abs(frame.cell.volume) < 1e-6:
            raise DopwfInputError(f"frames file {path}: frame {n} has no periodic 3D cell")
    return frames


def write_labelled(path: str | Path, labelled: Sequence[Atoms]) -> Path:
    """The labelled frames as extended XYZ (energy, forces, stress as ASE results), written whole or not at all."""
    buffer = io.StringIO()
    write(buffer, list(labelled), format="extxyz")
    return write_text_atomically(path, buffer.getvalue())
