"""Reference AIMD on a laptop: the VASP protocol (NVT Nose-Hoover, temperature schedule) run with ASE on a
universal ML potential, with checkpoints, resumption and blow-up detection.

Output directory:
- ``frames.extxyz``: one frame every ``sample_every`` steps with energy, forces, stress (eV, eV/A, eV/A^3),
  ``step``, ``time_fs``, ``temperature_K`` (instantaneous), ``target_temperature_K``, ``segment``;
- ``checkpoint.npz`` (``md.driver.NVTRun``): a killed run restarts from it and truncates frames written after it;
- ``run.json``: status (running, completed, failed + reason), provenance, timing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ase import Atoms
from ase.io import read, write
from tqdm import tqdm

from dopant_workflows import __version__
from dopant_workflows.ann.neighbors import check_atoms
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.universal import check_elements, make_calculator
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.md.checkpoint import set_nhc_temperature
from dopant_workflows.md.driver import MDBlowUp, NVTRun
from dopant_workflows.md.frames import snapshot
from dopant_workflows.md.safety import BlowUpLimits
from dopant_workflows.names import AIMD_FRAMES_FILE, AIMD_RUN_FILE

log = logging.getLogger(__name__)

FRAMES_FILE, RUN_FILE = AIMD_FRAMES_FILE, AIMD_RUN_FILE


@dataclass(frozen=True)
class AIMDResult:
    out_dir: Path
    n_frames: int
    steps_done: int
    steps_per_s: float
    provenance: dict

    @property
    def frames_path(self) -> Path:
        return self.out_dir / FRAMES_FILE


def _fingerprint(atoms: Atoms, settings: AIMDSettings, engine: str) -> str:
    return json.dumps({"formula": atoms.get_chemical_formula(), "n": len(atoms), "settings": settings.model_dump(),
                       "engine": engine}, sort_keys=True)


def run_embedded_aimd(atoms: Atoms, settings: AIMDSettings, out_dir: str | Path, engine: str = "chgnet",
                      device: str = "cpu", limits: BlowUpLimits = BlowUpLimits(), checkpoint_every: int = 50,
                      progress: bool = True, calculator=None) -> AIMDResult:
    """Run (or resume) the reference AIMD of ``atoms`` into ``out_dir``. ``calculator`` overrides the engine's
    (tests use a cheap one); its provenance is then recorded as given by ``engine``.

    A run that turns unphysical keeps its earlier frames (flagged ``precedes_failure``), records the reason in
    run.json and raises :class:`MDBlowUp`."""
    check_atoms(atoms, "AIMD structure")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if calculator is None:
        check_elements(atoms, engine)
        calculator, model = make_calculator(engine, device)
        model_info = asdict(model)
    else:
        model_info = {"engine": engine, "model": type(calculator).__name__, "package_version": "n/a"}
    provenance = {"code": f"dopant_workflows {__version__}", "model": model_info, "settings": settings.model_dump(),
                  "formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)}
    frames_path = out_dir / FRAMES_FILE
    run = NVTRun(atoms, calculator, out_dir, _fingerprint(atoms, settings, engine), {"frames": frames_path},
                 settings.time_step_fs, settings.temperature_start_K, settings.thermostat_damping_fs, limits)
    resumed = run.start(settings.temperature_start_K, settings.seed)
    n_frames = int(resumed["n_frames"]) if resumed else 0
    if resumed:
        log.info("resuming %s at step %d (%d frames kept)", out_dir, run.step, n_frames)
    _write_run(out_dir, "running", None, provenance, run.step, n_frames)

    start_step, t0 = run.step, time.perf_counter()
    failure = None
    bar = tqdm(total=settings.n_steps, initial=run.step, desc=f"AIMD ({engine})", unit="step", disable=not progress)
    segments = settings.segments()
    segment_of = {s: seg.index for seg in segments for s in range(seg.start_step, seg.stop_step + 1)}
    segment_ends = {seg.stop_step for seg in segments}
    atoms = run.atoms
    while run.step < settings.n_steps:
        set_nhc_temperature(run.dyn, settings.temperature_at_K(run.step))
        if hasattr(atoms.calc, "stress_with_forces"):  # a stored frame's stress comes with the step's own call
            atoms.calc.stress_with_forces = (run.step + 1) % settings.sample_every == 0
        run.dyn.step()
        run.step += 1
        energy = float(atoms.get_potential_energy())
        failure = run.check(energy)
        if failure:
            break
        step = run.step
        if step % settings.sample_every == 0:
            frame = snapshot(atoms, energy, with_stress=True, step=step, time_fs=step * settings.time_step_fs,
                             target_temperature_K=settings.temperature_at_K(step), segment=segment_of[step],
                             engine=f"embedded:{engine}")
            write(frames_path, frame, format="extxyz", append=True)
            n_frames += 1
        if step % checkpoint_every == 0 or step in segment_ends:
            run.save(n_frames=n_frames)
        bar.update(1)
        bar.set_postfix(T=f"{atoms.get_temperature():.0f} K")
    bar.close()
    if hasattr(atoms.calc, "stress_with_forces"):
        atoms.calc.stress_with_forces = False
    rate = (run.step - start_step) / max(time.perf_counter() - t0, 1e-9)
    if failure:
        log.error("AIMD stopped: %s; %d earlier frames kept and flagged", failure, n_frames)
        _flag_frames(frames_path, failure)
        _write_run(out_dir, "failed", failure, provenance, run.step, n_frames, rate)
        raise MDBlowUp(f"{out_dir}: {failure}")
    run.save(n_frames=n_frames)
    _write_run(out_dir, "completed", None, provenance, run.step, n_frames, rate)
    return AIMDResult(out_dir, n_frames, run.step, rate, provenance)


def _flag_frames(frames_path: Path, reason: str) -> None:
    """Mark every kept frame of a failed run (they precede the failure; a user may still want them)."""
    if not frames_path.exists():
        return
    frames = read(frames_path, index=":")
    for frame in frames:
        frame.info["flag"] = "precedes_failure"
    tmp = frames_path.with_suffix(".tmp.extxyz")
    write(tmp, frames, format="extxyz")
    os.replace(tmp, frames_path)


def _write_run(out_dir: Path, status: str, reason: str | None, provenance: dict, step: int, n_frames: int,
               steps_per_s: float | None = None) -> None:
    write_text_atomically(out_dir / RUN_FILE, json.dumps({
        "status": status, "failure_reason": reason, "steps_done": step, "n_frames": n_frames,
        "steps_per_s": steps_per_s, "provenance": provenance}, indent=1))
