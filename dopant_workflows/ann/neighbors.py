"""Periodic neighbour pairs within a cutoff, sorted by centre atom (vesin, linear scaling, any cell shape).

Cells smaller than twice the cutoff are fine: every periodic image within R_c is a separate pair, including
images of the centre atom itself (AMP's ASE NeighborList does the same, ``self_interaction=False`` only drops
the zero-shift self pair).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import vesin
from ase import Atoms

from dopant_workflows.ann import kernels
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class NeighborPairs:
    """Pairs p of a structure: centre ``i``, ``neighbor[p]``, ``vectors[p]`` = R_j + shift - R_i (A).

    Pairs of centre i are ``first[i]:first[i + 1]``.
    """

    first: np.ndarray  # (N + 1,) int64
    centers: np.ndarray  # (P,) int64
    neighbor: np.ndarray  # (P,) int64
    shifts: np.ndarray  # (P, 3) int64, in units of the cell vectors
    vectors: np.ndarray  # (P, 3) float64, A
    _terms: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_pairs(self) -> int:
        return len(self.neighbor)

    def terms(self, cutoff_A: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance, cutoff function, its derivative) per pair, computed once and reused by every kernel."""
        cached = self._terms.get(cutoff_A)
        if cached is None:
            cached = self._terms[cutoff_A] = kernels.pair_terms(self.vectors, float(cutoff_A))
        return cached


def check_atoms(atoms: Atoms, what: str = "structure") -> None:
    """Non-empty, 3D-periodic, finite positions: what the descriptors are defined for."""
    if len(atoms) == 0:
        raise DopwfInputError(f"{what}: contains no atoms")
    if not all(atoms.pbc):
        raise DopwfInputError(
            f"{what}: must be periodic in all three directions (pbc={list(map(bool, atoms.pbc))}); "
            "the potential is trained on bulk crystals"
        )
    if atoms.cell.rank < 3 or abs(atoms.cell.volume) < 1e-6:
        raise DopwfInputError(f"{what}: has no 3D cell (volume {atoms.cell.volume:.3g} A^3)")
    if not np.all(np.isfinite(atoms.positions)):
        raise DopwfInputError(f"{what}: positions contain NaN or inf")


def neighbor_pairs(atoms: Atoms, cutoff_A: float) -> NeighborPairs:
    """All pairs closer than ``cutoff_A`` (full list: both i->j and j->i), sorted by centre."""
    check_atoms(atoms)
    calculator = vesin.NeighborList(cutoff=float(cutoff_A), full_list=True)
    centers, neighbor, shifts, vectors = calculator.compute(
        points=atoms.positions, box=atoms.cell.array, periodic=True, quantities="ijSD"
    )
    order = np.argsort(centers, kind="stable")
    centers = centers[order].astype(np.int64)
    first = np.searchsorted(centers, np.arange(len(atoms) + 1)).astype(np.int64)
    return NeighborPairs(
        first=first,
        centers=centers,
        neighbor=neighbor[order].astype(np.int64),
        shifts=shifts[order].astype(np.int64),
        vectors=np.ascontiguousarray(vectors[order], dtype=np.float64),
    )
