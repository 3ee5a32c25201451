"""Reference labels (energy, forces, stress) for frames: the one code path that active learning, validation
relabelling and ``dopwf label`` share, for every engine that runs in-process or here.

- embedded engines (``embedded``, ``embedded:chgnet``, ``embedded:sevenn``): the universal potential's energy and
  forces (stress when asked);
- ``cp2k``: a CP2K single point per frame under custodian, each in its own directory under ``work_dir`` named by a
  hash of the frame (``frame-<hash>``), so an interrupted labelling resumes from the frames already done, whatever
  order or batch they are asked in.

Every labelled frame carries ``info["engine"]`` (and, for CP2K, ``info["level_of_theory"]``): one training set
never mixes the labels of two engines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read

from dopant_workflows.ann.neighbors import check_atoms
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.labels import LabelSettings
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_frames_atomically

if TYPE_CHECKING:
    from dopant_workflows.schemas.training_set import LabelSetDocument

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
    from dopant_workflows.engines.cp2k.runs import WFN_FILE, run_static

    labelled = []
    previous: tuple[Atoms, Path] | None = None  # the frame before and its run directory
    for n, frame in enumerate(frames):
        # the previous frame's wavefunction starts this SCF when it is the same atoms in the same cell (MD neighbours)
        same = previous is not None and previous[0].get_chemical_symbols() == frame.get_chemical_symbols() and \
            np.allclose(np.asarray(previous[0].cell), np.asarray(frame.cell))
        run_dir = work_dir / frame_run_name(frame)
        atoms = run_static(run_dir, _bare(frame), settings, wfn_guess=previous[1] / WFN_FILE if same else None)
        previous = (frame, run_dir)
        log.info("cp2k label %d/%d: E = %.4f eV, %d SCF steps, %d correction(s)", n + 1, len(frames),
                 atoms.get_potential_energy(), atoms.info["cp2k_scf_steps"], atoms.info["cp2k_corrections"])
        labelled.append(atoms)
    return labelled


def frame_run_name(frame: Atoms) -> str:
    """``frame-<12 hex>``: a hash of the symbols, positions (1e-6 A) and cell, the frame's CP2K run directory."""
    key = {"symbols": frame.get_chemical_symbols(), "positions": np.round(frame.positions, 6).tolist(),
           "cell": np.round(np.asarray(frame.cell), 6).tolist()}
    return f"frame-{hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]}"


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
        check_atoms(frame, f"frames file {path}, frame {n}")
    return frames


def frame_shares(counts: Sequence[int], total: int) -> list[int]:
    """How many frames to label from each file: proportional to its frames, at least one each (every reference run,
    so every cell and its elements, is labelled), ``total`` in all where the files hold that many."""
    if total < len(counts):
        raise DopwfInputError(f"labels.reference_frames: {total}, fewer than the {len(counts)} reference runs; each "
                              "needs at least one labelled frame (its cell's chemistry)")
    shares = [min(1, n) for n in counts]
    spare = min(total, sum(counts)) - sum(shares)
    while spare > 0:  # one at a time to the file furthest below its proportional share
        room = [(n * total / sum(counts) - s, k) for k, (n, s) in enumerate(zip(counts, shares, strict=True)) if s < n]
        _, k = max(room)
        shares[k] += 1
        spare -= 1
    return shares


def label_reference_frames(frame_files: Sequence[str | Path], settings: LabelSettings, run_dir: str | Path, *,
                           study: str | None = None, label: str | None = None) -> LabelSetDocument:
    """``settings.reference_frames`` frames, shared among ``frame_files`` by :func:`frame_shares` and evenly spaced
    within each, labelled by ``settings.engine`` into ``run_dir/labelled.extxyz`` (each frame's run in
    ``run_dir/runs``: a relaunch resumes); the document of the set."""
    import time

    from dopant_workflows.active_learning.deviation import evenly_spaced
    from dopant_workflows.fileio import file_sha256
    from dopant_workflows.names import LABELLED_FRAMES_FILE
    from dopant_workflows.schemas.training_set import LabelSetDocument

    run_dir = Path(run_dir)
    files = [Path(f) for f in frame_files]
    per_file = [read_frames(path) for path in files]
    shares = frame_shares([len(frames) for frames in per_file], settings.reference_frames)
    chosen = [frames[i] for frames, share in zip(per_file, shares, strict=True)
              for i in evenly_spaced(len(frames), share)]
    n_frames = sum(len(frames) for frames in per_file)
    log.info("labelling %d of %d reference frames (%s per file) with %s", len(chosen), n_frames,
             ", ".join(map(str, shares)), settings.cp2k.label())
    start = time.perf_counter()
    labelled = label_frames(chosen, settings.engine, work_dir=run_dir / "runs", cp2k=settings.cp2k)
    seconds = time.perf_counter() - start
    path = write_frames_atomically(run_dir / LABELLED_FRAMES_FILE, labelled)
    sha = file_sha256(path)
    return LabelSetDocument(
        set_id=f"{settings.engine}-{sha[:16]}", study=study, label=label, engine=settings.engine,
        level_of_theory=settings.cp2k.label(), source_frames_paths=[str(f.resolve()) for f in files],
        source_frames_sha256=[file_sha256(f) for f in files], n_source_frames=n_frames, n_frames=len(labelled),
        frames_path=str(path.resolve()), frames_sha256=sha,
        corrections=sum(int(a.info.get("cp2k_corrections", 0)) for a in labelled), wall_time_s=round(seconds, 1))
