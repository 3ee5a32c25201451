"""One AIMD segment, one single point or one dielectric run: write inputs, run VASP under custodian, parse, write
frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import write
from custodian.custodian import Job
from pymatgen.core import Structure

from dopant_workflows.engines.schedule import AIMDSettings, Segment
from dopant_workflows.engines.vasp.custodian_run import dielectric_handlers, md_handlers, run_vasp
from dopant_workflows.engines.vasp.inputs import write_aimd_segment, write_dielectric, write_static
from dopant_workflows.engines.vasp.outputs import DielectricResult, read_aimd_frames, read_dielectric
from dopant_workflows.names import AIMD_FRAMES_FILE

FRAMES_FILE = AIMD_FRAMES_FILE


@dataclass(frozen=True)
class SegmentResult:
    run_dir: Path
    n_frames: int
    truncated: bool
    corrections: list[dict]


def run_aimd_segment(run_dir: str | Path, structure: Structure, segment: Segment, settings: AIMDSettings,
                     vasp_cmd: str, previous_dir: str | Path | None = None, job: Job | None = None,
                     walltime_s: int | None = None, potcar_spec: bool = False,
                     polling_time_step_s: float = 10.0, user_incar: Mapping[str, Any] | None = None) -> SegmentResult:
    """Run one segment; its frames (same format as the embedded engine) go to ``run_dir/frames.extxyz``.
    ``user_incar`` overrides the paper's INCAR settings (the ``modify_incar`` powerup)."""
    run_dir = Path(run_dir)
    write_aimd_segment(run_dir, structure, segment, settings, previous_dir=previous_dir, potcar_spec=potcar_spec,
                       user_incar=user_incar)
    corrections = run_vasp(run_dir, vasp_cmd, md_handlers(walltime_s), job=job,
                           polling_time_step_s=polling_time_step_s)
    parsed = read_aimd_frames(run_dir, first_step=segment.start_step)
    for frame in parsed.frames:
        frame.info.update(segment=segment.index, target_temperature_K=settings.temperature_at_K(frame.info["step"]),
                          engine="vasp")
        if parsed.truncated:
            frame.info["flag"] = "truncated_run"
    write(run_dir / FRAMES_FILE, parsed.frames, format="extxyz")
    return SegmentResult(run_dir, len(parsed.frames), parsed.truncated, corrections)


def run_static(run_dir: str | Path, structure: Structure, vasp_cmd: str, job: Job | None = None,
               potcar_spec: bool = False, polling_time_step_s: float = 10.0,
               user_incar: Mapping[str, Any] | None = None) -> tuple[Atoms, list[dict]]:
    """A single point of ``structure``: its atoms (as given: NSW = 0 moves none, and the positions stay exactly
    those asked for, unwrapped) with VASP's energy (e_fr_energy, consistent with the forces), forces and stress,
    and custodian's corrections."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.errors import DopwfInputError

    run_dir = Path(run_dir)
    write_static(run_dir, structure, potcar_spec=potcar_spec, user_incar=user_incar)
    corrections = run_vasp(run_dir, vasp_cmd, dielectric_handlers(), job=job, polling_time_step_s=polling_time_step_s)
    frames = read_aimd_frames(run_dir).frames
    if not frames:
        raise DopwfInputError(f"{run_dir}: the single point wrote no complete ionic step")
    result = frames[-1]
    atoms = AseAtomsAdaptor.get_atoms(structure)
    if len(result) != len(atoms):
        raise DopwfInputError(f"{run_dir}: vasprun.xml holds {len(result)} atoms, the single point was asked for "
                              f"{len(atoms)}")
    atoms.calc = SinglePointCalculator(atoms, energy=result.get_potential_energy(), forces=result.get_forces(),
                                       stress=result.get_stress())
    atoms.info.update(engine="vasp")
    return atoms, corrections


def run_dielectric(run_dir: str | Path, structure: Structure, vasp_cmd: str, job: Job | None = None,
                   potcar_spec: bool = False, polling_time_step_s: float = 10.0,
                   user_incar: Mapping[str, Any] | None = None) -> tuple[DielectricResult, list[dict]]:
    run_dir = Path(run_dir)
    write_dielectric(run_dir, structure, potcar_spec=potcar_spec, user_incar=user_incar)
    corrections = run_vasp(run_dir, vasp_cmd, dielectric_handlers(), job=job, polling_time_step_s=polling_time_step_s)
    return read_dielectric(run_dir), corrections
