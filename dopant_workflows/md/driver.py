"""The resumable Nose-Hoover-chain run under both the reference AIMD and the MD protocol.

A run lives in a directory: its checkpoint (numbers only) holds the step, positions, cell, momenta, the
thermostat's state and the length of every output file at that step. Opening the directory again continues from
the checkpoint, truncating what was written after it, so a killed run ends with exactly the frames an
uninterrupted one writes; without a checkpoint the run starts from a seeded Maxwell-Boltzmann distribution.
A run that turns unphysical (``BlowUpLimits``) raises :class:`MDBlowUp` after its caller recorded why.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.md.checkpoint import (
    file_size,
    load_checkpoint,
    nhc_state,
    restore_nhc,
    save_checkpoint,
    sync_nhc_from_atoms,
)
from dopant_workflows.md.safety import BlowUpLimits
from dopant_workflows.names import CHECKPOINT_FILE

log = logging.getLogger(__name__)


class MDBlowUp(RuntimeError):
    """The run became unphysical (see :class:`BlowUpLimits`); its run file records why."""


class NVTRun:
    """``atoms`` (a copy) with ``calculator`` under a Nose-Hoover chain, checkpointed in ``out_dir``.

    ``outputs`` names the files the run appends to (e.g. ``{"frames": path}``); ``fingerprint`` is everything the
    run depends on: a checkpoint with another fingerprint is refused, never continued."""

    def __init__(self, atoms: Atoms, calculator, out_dir: Path, fingerprint: str, outputs: dict[str, Path],
                 time_step_fs: float, temperature_K: float, damping_fs: float,
                 limits: BlowUpLimits = BlowUpLimits()):
        self.atoms = atoms.copy()
        self.atoms.calc = calculator
        self.dyn = NoseHooverChainNVT(self.atoms, timestep=time_step_fs * units.fs, temperature_K=temperature_K,
                                      tdamp=damping_fs * units.fs)
        self.out_dir, self.fingerprint, self.outputs, self.limits = out_dir, fingerprint, outputs, limits
        self.checkpoint_path = out_dir / CHECKPOINT_FILE
        self.step = 0
        self._previous_energy: float | None = None

    def start(self, start_temperature_K: float, seed: int) -> dict | None:
        """Continue from the checkpoint (returned, for the caller's own counters) or start fresh (None)."""
        if self.checkpoint_path.exists():
            ck = load_checkpoint(self.checkpoint_path)
            if str(ck["fingerprint"]) != self.fingerprint:
                raise DopwfInputError(f"{self.out_dir}: holds a checkpoint of a different run (structure, settings, "
                                      "seed or engine differ); use a new directory")
            self.step = int(ck["step"])
            self.atoms.positions = ck["positions"]
            if "cell" in ck:
                self.atoms.cell = ck["cell"]
            self.atoms.set_momenta(ck["momenta"])
            sync_nhc_from_atoms(self.dyn)
            restore_nhc(self.dyn, ck)
            for name, path in self.outputs.items():
                if path.exists():
                    os.truncate(path, int(ck[f"{name}_bytes"]))  # written after the checkpoint: redone
            return ck
        for path in self.outputs.values():
            if path.exists():
                path.unlink()
        thermalize_momenta(self.atoms, start_temperature_K, rng=np.random.default_rng(seed))
        Stationary(self.atoms)
        sync_nhc_from_atoms(self.dyn)
        return None

    def save(self, **extra) -> None:
        """Checkpoint now (flush the outputs first); ``extra``: the caller's counters, restored by ``start``."""
        save_checkpoint(self.checkpoint_path, fingerprint=np.array(self.fingerprint), step=self.step,
                        positions=self.atoms.positions, cell=self.atoms.cell.array, momenta=self.atoms.get_momenta(),
                        **{f"{name}_bytes": file_size(path) for name, path in self.outputs.items()},
                        **nhc_state(self.dyn), **extra)

    def check(self, energy_eV: float) -> str | None:
        """Why the run must stop at this sample (atoms collapsed, energy jumped since the last check), or None."""
        reason = self.limits.check(self.atoms, energy_eV, self._previous_energy, self.step)
        self._previous_energy = energy_eV
        return reason
