"""Electrostatic (Ewald) ranking of site substitutions, computed once per cell and reused for every candidate.

The Ewald energy of point charges is a quadratic form E = q^T A q. pymatgen's ``EwaldSummation`` gives the
matrix M_ij = q_i q_j A_ij of the host; changing the charge on a set S of sites to q'_i scales row and column i
by s_i = q'_i / q_i, so for any candidate

    E = E_host + 2 sum_{i in S} (s_i - 1) r_i + sum_{i, j in S} (s_i - 1)(s_j - 1) M_ij,   r_i = sum_j M_ij,

which costs O(|S|^2) per candidate instead of a new Ewald sum (the trick pymatgen's EwaldMinimizer uses).
Energies are in eV and comparable between candidates of equal total charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Structure

from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class EwaldSiteModel:
    """Host charges and Ewald matrix (eV) of one cell; ``energy_eV`` scores candidate charge changes."""

    charges: np.ndarray  # (n_sites,) host oxidation states, e
    matrix_eV: np.ndarray  # (n_sites, n_sites) q_i q_j A_ij
    row_sums_eV: np.ndarray  # (n_sites,)
    host_energy_eV: float

    @classmethod
    def from_structure(cls, structure: Structure, oxidation_states: dict[str, float]) -> EwaldSiteModel:
        """Build the model for an ordered ``structure`` whose elements carry ``oxidation_states`` (nonzero)."""
        missing = sorted({el.symbol for el in structure.composition.elements} - set(oxidation_states))
        if missing:
            raise DopwfInputError(f"oxidation states: none given for element(s) {missing}")
        zero = sorted(el for el, q in oxidation_states.items() if q == 0)
        if zero:
            raise DopwfInputError(f"oxidation states: element(s) {zero} have charge 0; Ewald ranking needs ions")
        charged = structure.copy()
        charged.add_oxidation_state_by_element(oxidation_states)
        matrix = np.asarray(EwaldSummation(charged).total_energy_matrix, dtype=float)
        charges = np.array([oxidation_states[site.specie.symbol] for site in structure], dtype=float)
        return cls(charges, matrix, matrix.sum(axis=1), float(matrix.sum()))

    def energy_eV(self, sites: Sequence[int], new_charges: Sequence[float]) -> float:
        """Ewald energy after putting ``new_charges`` on ``sites`` (all other sites keep the host charge)."""
        idx = np.asarray(sites, dtype=int)
        delta = np.asarray(new_charges, dtype=float) / self.charges[idx] - 1.0
        return float(
            self.host_energy_eV + 2.0 * delta @ self.row_sums_eV[idx] + delta @ self.matrix_eV[np.ix_(idx, idx)] @ delta
        )

    def energies_eV(self, sites: np.ndarray, new_charges: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`energy_eV` for a batch: ``sites`` and ``new_charges`` of shape (n_candidates, k)."""
        sites = np.asarray(sites, dtype=int)
        delta = np.asarray(new_charges, dtype=float) / self.charges[sites] - 1.0
        linear = 2.0 * np.einsum("nk,nk->n", delta, self.row_sums_eV[sites])
        block = self.matrix_eV[sites[:, :, None], sites[:, None, :]]
        quadratic = np.einsum("nk,nkl,nl->n", delta, block, delta)
        return self.host_energy_eV + linear + quadratic
