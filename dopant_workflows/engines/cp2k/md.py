"""Segmented NVT AIMD with CP2K under custodian: the reference-AIMD protocol of :mod:`engines.schedule` (Nose-Hoover,
2 fs, a temperature schedule) as one CP2K run per segment, each continued from the previous one's restart file
(positions, velocities, thermostat), into the same frames file every engine writes (energy eV, forces eV/A, stress).

CP2K's Nose-Hoover thermostat holds one target per run, so the schedule's linear ramp becomes a staircase: each
segment runs at the ramp's value at its middle (frames record that target). Use shorter ``segment_steps`` for a
finer staircase. A segment whose run finished is read, not rerun: an interrupted AIMD resumes at its first
unfinished segment.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator

from dopant_workflows import __version__
from dopant_workflows.engines.cp2k.inputs import OUTPUT_FILE, PROJECT, check_cell, input_text
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.schedule import AIMDSettings, Segment
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_frames_atomically, write_text_atomically
from dopant_workflows.names import AIMD_FRAMES_FILE, AIMD_RUN_FILE

log = logging.getLogger(__name__)

RESTART_FILE = f"{PROJECT}-1.restart"
ENERGY_FILE = f"{PROJECT}-1.ener"
POSITIONS_FILE = f"{PROJECT}-pos-1.xyz"
FORCES_FILE = f"{PROJECT}-frc-1.xyz"
VELOCITIES_FILE = f"{PROJECT}-vel-1.xyz"
STRESS_FILE = f"{PROJECT}-1.stress"
ENDED = "PROGRAM ENDED AT"


def segment_target_K(segment: Segment) -> float:
    return 0.5 * (segment.temperature_begin_K + segment.temperature_end_K)


def motion_text(segment: Segment, settings: AIMDSettings, cp2k: Cp2kSettings, previous_restart: Path | None) -> str:
    # CP2K's MD stress is the whole pressure tensor, kinetic part included: the velocities let the frames keep the
    # potential (virial) part alone, the stress a single point at the same positions gives
    stress = ("    &STRESS\n      &EACH\n        MD 1\n      &END EACH\n    &END STRESS\n"
              "    &VELOCITIES\n      FORMAT XYZ\n      UNIT angstrom*fs^-1\n      &EACH\n        MD 1\n"
              "      &END EACH\n    &END VELOCITIES\n") if cp2k.stress else ""
    restart = "" if previous_restart is None else f"""&EXT_RESTART
  RESTART_FILE_NAME {previous_restart}
  RESTART_DEFAULT F
  RESTART_POS T
  RESTART_VEL T
  RESTART_THERMOSTAT T
  RESTART_COUNTERS F
&END EXT_RESTART
"""
    return f"""&MOTION
  &MD
    ENSEMBLE NVT
    STEPS {segment.n_steps}
    TIMESTEP {settings.time_step_fs:g}
    TEMPERATURE {segment_target_K(segment):.6g}
    &THERMOSTAT
      TYPE NOSE
      REGION GLOBAL
      &NOSE
        LENGTH 3
        TIMECON {settings.thermostat_damping_fs:g}
      &END NOSE
    &END THERMOSTAT
  &END MD
  &PRINT
    &TRAJECTORY
      FORMAT XYZ
      &EACH
        MD 1
      &END EACH
    &END TRAJECTORY
    &FORCES
      FORMAT XYZ
      UNIT eV*angstrom^-1
      &EACH
        MD 1
      &END EACH
    &END FORCES
{stress}    &RESTART
      BACKUP_COPIES 0
      &EACH
        MD 1
      &END EACH
    &END RESTART
  &END PRINT
&END MOTION
{restart}"""


def run_cp2k_aimd(atoms: Atoms, settings: AIMDSettings, cp2k: Cp2kSettings, out_dir: str | Path) -> Path:
    """Run (or resume) the AIMD of ``atoms`` into ``out_dir``: segment_000/, ... (one CP2K run each),
    frames.extxyz (every ``sample_every``-th step after the start) and run.json (status, provenance, timing). A
    segment custodian cannot correct ends the run as ``failed`` (run.json: why), its earlier frames kept."""
    from dopant_workflows.engines.cp2k.runs import Cp2kRunError, run_input

    check_cell(atoms, cp2k)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    provenance = {"code": f"dopant_workflows {__version__}",
                  "model": {"engine": "cp2k", "model": cp2k.label(), "package_version": None},
                  "settings": settings.model_dump(), "cp2k_settings": cp2k.as_record(),
                  "formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)}
    frames: list[Atoms] = []
    previous: Path | None = None
    steps_done, steps_run, seconds = 0, 0, 0.0
    for segment in settings.segments():
        seg_dir = out_dir / f"segment_{segment.index:03d}"
        text = input_text(atoms, cp2k, run_type="MD", seed=settings.seed,
                          tail=motion_text(segment, settings, cp2k, previous))
        start = time.perf_counter()
        try:
            ran, corrections = run_input(seg_dir, text, cp2k)
        except Cp2kRunError as exc:  # the frames of the finished segments stay; run.json says why it stopped
            _write_run(out_dir, "failed", provenance, steps_done, len(frames), None, failure_reason=str(exc))
            log.error("CP2K AIMD stopped in segment %d: %s", segment.index, exc)
            return out_dir
        if ran:  # the speed counts the steps CP2K ran now, not those of segments read back
            seconds += time.perf_counter() - start
            steps_run += segment.n_steps
        seg_frames = read_segment_frames(seg_dir, segment, settings, len(atoms))
        for frame in seg_frames:
            frame.info.update(engine="cp2k", level_of_theory=cp2k.label())
        frames += seg_frames
        provenance["model"]["package_version"] = provenance["model"]["package_version"] or _version(seg_dir)
        previous = (seg_dir / RESTART_FILE).resolve()
        steps_done = segment.stop_step
        write_frames_atomically(out_dir / AIMD_FRAMES_FILE, frames)
        _write_run(out_dir, "running" if steps_done < settings.n_steps else "completed", provenance, steps_done,
                   len(frames), steps_run / seconds if seconds > 0 else None)
        log.info("CP2K AIMD segment %d: steps %d-%d at %.0f K, %d frame(s), %d correction(s)", segment.index,
                 segment.start_step, segment.stop_step, segment_target_K(segment), len(seg_frames), len(corrections))
    return out_dir


def read_segment_frames(seg_dir: Path, segment: Segment, settings: AIMDSettings, n_atoms: int) -> list[Atoms]:
    """The kept frames of one finished segment: global steps ``start < step <= stop`` that are multiples of
    ``sample_every``, each with CP2K's potential energy (Hartree -> eV), forces (eV/A, printed so by CP2K) and
    stress (when printed; bar -> eV/A^3, ASE's sign, the kinetic part removed)."""
    energy = _table(seg_dir / ENERGY_FILE)  # step, time fs, kinetic Ha, T K, potential Ha, conserved Ha, used s
    positions = _xyz_blocks(seg_dir / POSITIONS_FILE, n_atoms)
    forces = _xyz_blocks(seg_dir / FORCES_FILE, n_atoms)
    stress = _stress_rows(seg_dir / STRESS_FILE) if (seg_dir / STRESS_FILE).exists() else {}
    velocities = _xyz_blocks(seg_dir / VELOCITIES_FILE, n_atoms) if stress else {}
    cell = _cell_of(seg_dir)
    frames = []
    for row in energy:
        local = int(row[0])
        step = segment.start_step + local
        if local == 0 or step % settings.sample_every:
            continue
        if local not in positions or local not in forces:
            raise DopwfInputError(f"CP2K AIMD {seg_dir}: step {local} is in {ENERGY_FILE} but not in the "
                                  "trajectory or forces file")
        symbols, xyz = positions[local]
        frame = Atoms(symbols, positions=xyz, cell=cell, pbc=True)
        results = {"energy": row[4] * units.Hartree, "forces": forces[local][1]}
        if local in stress:
            results["stress"] = stress[local] + _kinetic_stress(frame, velocities[local][1])
        frame.calc = SinglePointCalculator(frame, **results)
        frame.info.update(step=step, time_fs=step * settings.time_step_fs, temperature_K=float(row[3]),
                          target_temperature_K=segment_target_K(segment), segment=segment.index)
        frames.append(frame)
    return frames


def _table(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DopwfInputError(f"CP2K AIMD: {path} not found (the segment wrote no MD step)")
    return np.atleast_2d(np.loadtxt(path, comments="#"))


def _xyz_blocks(path: Path, n_atoms: int) -> dict[int, tuple[list[str], np.ndarray]]:
    """{MD step: (symbols, (n, 3) array)} from CP2K's XYZ trajectory / forces file (header ``i = step, ...``)."""
    if not path.is_file():
        raise DopwfInputError(f"CP2K AIMD: {path} not found")
    lines = path.read_text().splitlines()
    blocks = {}
    for start in range(0, len(lines) - n_atoms - 1, n_atoms + 2):
        if int(lines[start]) != n_atoms:
            raise DopwfInputError(f"CP2K AIMD: {path} line {start + 1}: {lines[start].strip()} atoms, expected "
                                  f"{n_atoms}")
        step = int(lines[start + 1].split("i =")[1].split(",")[0])
        rows = [line.split() for line in lines[start + 2:start + 2 + n_atoms]]
        blocks[step] = ([r[0] for r in rows], np.array([[float(v) for v in r[1:4]] for r in rows]))
    return blocks


def _stress_rows(path: Path) -> dict[int, np.ndarray]:
    """{MD step: ASE Voigt stress (eV/A^3)} from CP2K's MOTION stress file (9 components in bar, pressure sign)."""
    header = path.read_text().splitlines()[0]
    if "[bar]" not in header:
        raise DopwfInputError(f"CP2K AIMD: {path}: expected the stress in bar, header {header!r}")
    out = {}
    for row in _table(path):
        s = -np.asarray(row[2:11]).reshape(3, 3) * 1e-4 * units.GPa
        out[int(row[0])] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return out


def _kinetic_stress(atoms: Atoms, velocities_A_fs: np.ndarray) -> np.ndarray:
    """The ideal-gas part to add back to CP2K's total (ASE sign: -(1/V) sum m v v), Voigt, eV/A^3."""
    v = velocities_A_fs / units.fs  # ASE's velocity unit
    k = np.einsum("a,ai,aj->ij", atoms.get_masses(), v, v) / atoms.get_volume()
    return np.array([k[0, 0], k[1, 1], k[2, 2], k[1, 2], k[0, 2], k[0, 1]])


def _cell_of(seg_dir: Path) -> np.ndarray:
    from pymatgen.io.cp2k.inputs import Cp2kInput

    cell = Cp2kInput.from_file(seg_dir / "asked.inp")["FORCE_EVAL"]["SUBSYS"]["CELL"]
    return np.array([[float(v) for v in cell[name].values] for name in "ABC"])


def _version(seg_dir: Path) -> str | None:
    for line in (seg_dir / OUTPUT_FILE).read_text(errors="replace").splitlines()[:400]:
        if "CP2K| version string:" in line:
            return line.split(":", 1)[1].strip()
    return None


def _write_run(out_dir: Path, status: str, provenance: dict, steps_done: int, n_frames: int,
               steps_per_s: float | None, failure_reason: str | None = None) -> None:
    write_text_atomically(out_dir / AIMD_RUN_FILE, json.dumps({
        "status": status, "failure_reason": failure_reason, "steps_done": steps_done, "n_frames": n_frames,
        "steps_per_s": steps_per_s, "provenance": provenance}, indent=1))
