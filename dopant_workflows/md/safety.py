"""When an MD run is unphysical: atoms on top of each other, or an energy that jumps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from dopant_workflows.ann.neighbors import neighbor_pairs


@dataclass(frozen=True)
class BlowUpLimits:
    min_distance_A: float = 0.6  # any two atoms closer than this
    max_energy_jump_eV_atom: float = 0.5  # potential energy change between consecutive checks

    def check(self, atoms: Atoms, energy_eV: float, previous_energy_eV: float | None, step: int) -> str | None:
        """The reason the run must stop, or None."""
        if previous_energy_eV is not None:
            jump = (energy_eV - previous_energy_eV) / len(atoms)
            if abs(jump) > self.max_energy_jump_eV_atom:
                return (f"energy jumped by {jump:+.3f} eV/atom at step {step} "
                        f"(limit {self.max_energy_jump_eV_atom} eV/atom)")
        closest = min_distance_A(atoms)
        if closest < self.min_distance_A:
            return f"atoms {closest:.2f} A apart at step {step} (limit {self.min_distance_A} A)"
        return None


def min_distance_A(atoms: Atoms, search_A: float = 1.5) -> float:
    pairs = neighbor_pairs(atoms, search_A)
    return float(np.linalg.norm(pairs.vectors, axis=1).min()) if pairs.n_pairs else np.inf
