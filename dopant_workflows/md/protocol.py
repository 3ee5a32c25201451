"""The paper's MD protocol (section 2.2) with ASE on any calculator.

1. Maxwell-Boltzmann velocities at 100 K (seeded);
2. heating to the target by linear velocity scaling over 4 ps;
3. 1 ps equilibration at the target (Nose-Hoover chain);
4. 20 ps NVT production (Nose-Hoover chain), 2 fs steps.

Presets: ``paper`` (as above), ``demo`` (1 + 0.5 + 4 ps, the laptop demo) and ``smoke`` (0.04 + 0.04 + 0.4 ps,
seconds, for tests). Every duration can be overridden.

Output directory: ``trajectory.extxyz`` (production frames every ``sample_interval_fs``, UNWRAPPED positions,
``time_fs`` from the start of production, ``temperature_K``, energy and forces), ``md_log.csv`` (all stages:
stage, step, time_fs, temperature_K, potential_energy_eV, kinetic_energy_eV, core_repulsion_eV: the part of the
energy from a network's wall beneath its training data, empty for other calculators), ``checkpoint.npz``,
``md_run.json``.
A killed run resumes from its last checkpoint and ends with exactly the frames an uninterrupted run writes.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import write
from tqdm import tqdm

from dopant_workflows import __version__
from dopant_workflows.errors import DopwfInputError, check_md_temperature
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.md.checkpoint import sync_nhc_from_atoms
from dopant_workflows.md.driver import MDBlowUp, NVTRun  # noqa: F401 - MDBlowUp re-exported
from dopant_workflows.md.frames import snapshot
from dopant_workflows.md.safety import BlowUpLimits
from dopant_workflows.md.settings import MDProtocol, protocol_from_preset  # noqa: F401 - re-exported
from dopant_workflows.names import MD_LOG_FILE, MD_RUN_FILE, MD_TRAJECTORY_FILE

log = logging.getLogger(__name__)

TRAJECTORY_FILE, LOG_FILE, RUN_FILE = MD_TRAJECTORY_FILE, MD_LOG_FILE, MD_RUN_FILE
THERMOSTAT_TOLERANCE = 0.02  # mean production temperature within 2 % of the target
WALL_ENERGY_LIMIT_EV = 1.0  # warn when a network's core repulsion exceeds this (a pair 0.2 A inside the wall)


@dataclass(frozen=True)
class MDResult:
    out_dir: Path
    temperature_K: float
    n_frames: int
    mean_production_temperature_K: float
    thermostat_ok: bool
    steps_per_s: float
    warnings: tuple[str, ...]
    core_repulsion_contact_fraction: float | None = None  # production samples touching a network's wall
    core_repulsion_max_eV: float | None = None  # the largest wall energy in production

    @property
    def trajectory_path(self) -> Path:
        return self.out_dir / TRAJECTORY_FILE


def run_md(atoms: Atoms, calculator, protocol: MDProtocol, temperature_K: float, out_dir: str | Path,
           seed: int = 0, provenance: dict | None = None, checkpoint_every: int = 250,
           progress: bool = True, limits: BlowUpLimits = BlowUpLimits()) -> MDResult:
    """Run (or resume) the protocol at ``temperature_K``; see the module docstring for the files written.

    Every sample is checked against ``limits``: a potential that lets atoms collapse (a poorly trained
    network outside its data) stops the run with :class:`MDBlowUp` instead of producing nonsense frames."""
    check_md_temperature(temperature_K)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    traj_path, log_path = out_dir / TRAJECTORY_FILE, out_dir / LOG_FILE
    fingerprint = json.dumps({"protocol": protocol.model_dump(exclude={"preset"}), "T": temperature_K, "seed": seed,
                              "formula": atoms.get_chemical_formula()}, sort_keys=True)
    dt = protocol.time_step_fs * units.fs
    run = NVTRun(atoms, calculator, out_dir, fingerprint, {"trajectory": traj_path, "log": log_path},
                 protocol.time_step_fs, temperature_K, protocol.thermostat_damping_fs, limits)
    stages = protocol.stage_steps
    n_total = sum(stages.values())
    n_heat, n_eq = stages["heating"], stages["equilibration"]
    if run.start(protocol.initial_temperature_K, seed) is not None:
        log.info("resuming %s at step %d of %d", out_dir, run.step, n_total)
    else:
        with open(log_path, "w", newline="") as f:
            csv.writer(f).writerow(["stage", "step", "time_fs", "temperature_K", "potential_energy_eV",
                                    "kinetic_energy_eV", "core_repulsion_eV"])
    atoms = run.atoms
    run_info = {"code": f"dopant_workflows {__version__}", "protocol": protocol.model_dump(),
                "temperature_K": temperature_K, "seed": seed, "formula": atoms.get_chemical_formula(),
                "n_atoms": len(atoms), "calculator": provenance or {"name": type(calculator).__name__}}
    write_text_atomically(out_dir / RUN_FILE, json.dumps({**run_info, "status": "running"}, indent=1))

    start, t0 = run.step, time.perf_counter()
    bar = tqdm(total=n_total, initial=run.step, desc=f"MD {temperature_K:g} K", unit="step", disable=not progress)
    with open(log_path, "a", newline="") as log_file:
        writer = csv.writer(log_file)
        def blow_up(reason: str) -> MDBlowUp:
            bar.close()
            write_text_atomically(out_dir / RUN_FILE, json.dumps(
                {**run_info, "status": "failed", "failure_reason": reason}, indent=1))
            return MDBlowUp(f"{out_dir}: {reason}")

        while run.step < n_total:
            step = run.step
            try:
                if step < n_heat:  # linear velocity scaling from the initial to the target temperature
                    stage = "heating"
                    _velocity_verlet_step(atoms, dt)
                    target = protocol.initial_temperature_K + (temperature_K - protocol.initial_temperature_K) * (
                        (step + 1) / n_heat)
                    current = atoms.get_temperature()
                    if current > 0:
                        atoms.set_momenta(atoms.get_momenta() * np.sqrt(target / current))
                    sync_nhc_from_atoms(run.dyn)
                else:
                    stage = "equilibration" if step < n_heat + n_eq else "production"
                    run.dyn.step()
            except DopwfInputError as exc:  # NaN positions between two checks: the integrator diverged
                if np.isfinite(atoms.get_positions()).all():
                    raise
                raise blow_up(f"positions became NaN or inf at step {step + 1} (the dynamics diverged "
                              "between two energy checks)") from exc
            step = run.step = step + 1
            production_step = step - n_heat - n_eq
            if step % protocol.sample_every == 0:
                energy = float(atoms.get_potential_energy())
                reason = run.check(energy)
                if reason:
                    raise blow_up(reason)
                time_fs = step * protocol.time_step_fs
                wall = atoms.calc.results.get("core_repulsion_energy")
                writer.writerow([stage, step, f"{time_fs:.3f}", f"{atoms.get_temperature():.4f}",
                                 f"{energy:.8f}", f"{atoms.get_kinetic_energy():.8f}",
                                 "" if wall is None else f"{wall:.8f}"])
                if stage == "production" and production_step % protocol.sample_every == 0:
                    write(traj_path, snapshot(atoms, energy, time_fs=production_step * protocol.time_step_fs),
                          format="extxyz", append=True)
            if step % checkpoint_every == 0:
                log_file.flush()
                run.save()
            bar.update(1)
        log_file.flush()
    bar.close()
    run.save()
    rate = (run.step - start) / max(time.perf_counter() - t0, 1e-9)
    return _finish(out_dir, run_info, temperature_K, rate)


def _velocity_verlet_step(atoms: Atoms, dt: float) -> None:
    forces = atoms.get_forces()
    momenta = atoms.get_momenta() + 0.5 * dt * forces
    atoms.set_positions(atoms.get_positions() + dt * momenta / atoms.get_masses()[:, None])
    atoms.set_momenta(momenta + 0.5 * dt * atoms.get_forces())


def _finish(out_dir: Path, run_info: dict, temperature_K: float, rate: float) -> MDResult:
    temperatures, walls = [], []
    with open(out_dir / LOG_FILE, newline="") as f:
        for row in csv.DictReader(f):
            if row["stage"] == "production":
                temperatures.append(float(row["temperature_K"]))
                if row.get("core_repulsion_eV"):
                    walls.append(float(row["core_repulsion_eV"]))
    mean_t = float(np.mean(temperatures)) if temperatures else float("nan")
    ok = bool(temperatures) and abs(mean_t - temperature_K) <= THERMOSTAT_TOLERANCE * temperature_K
    notes = [] if ok else [f"mean production temperature {mean_t:.1f} K is not within 2 % of {temperature_K} K"
                           " (run too short to average, or the thermostat is too weak)"]
    wall_info = {}
    if walls:
        contact = float(np.mean(np.asarray(walls) > 0))
        wall_info = {"core_repulsion_contact_fraction": contact, "core_repulsion_max_eV": float(max(walls))}
        if max(walls) > WALL_ENERGY_LIMIT_EV:  # grazing the wall is expected in a bigger, longer run; this is not
            notes.append(f"the network's core repulsion reached {max(walls):.2f} eV (active in {100 * contact:.0f} % "
                         "of production samples): the network drove atoms well inside the closest approach of its "
                         "training data, so the run is partly driven by the wall, not the network; add training "
                         "data near these configurations or train longer")
    for note in notes:
        log.warning(note)
    n_frames = sum(1 for line in open(out_dir / TRAJECTORY_FILE) if line.startswith("Lattice=")) if (
        out_dir / TRAJECTORY_FILE).exists() else 0
    write_text_atomically(out_dir / RUN_FILE, json.dumps({
        **run_info, "status": "completed", "n_frames": n_frames, "mean_production_temperature_K": mean_t,
        "thermostat_ok": ok, "steps_per_s": rate, **wall_info, "warnings": notes}, indent=1))
    return MDResult(out_dir, temperature_K, n_frames, mean_t, ok, rate, tuple(notes),
                    wall_info.get("core_repulsion_contact_fraction"), wall_info.get("core_repulsion_max_eV"))
