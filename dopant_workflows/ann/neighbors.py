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
    """All pairs closer than ``cutoff_A`` (full list: both i->j and j->i), sorted by centre, neighbour and image
    shift: an order that depends on the pairs alone, not on how the search enumerated them, so that forces summed
    over a Verlet list built at another step are the same to the last bit (an MD resumed from a checkpoint rebuilds
    its list there and must continue the uninterrupted trajectory exactly)."""
    check_atoms(atoms)
    calculator = vesin.NeighborList(cutoff=float(cutoff_A), full_list=True)
    centers, neighbor, shifts, vectors = calculator.compute(
        points=atoms.positions, box=atoms.cell.array, periodic=True, quantities="ijSD"
    )
    order = np.lexsort((shifts[:, 2], shifts[:, 1], shifts[:, 0], neighbor, centers))
    centers = centers[order].astype(np.int64)
    return NeighborPairs(
        first=first_offsets(centers, len(atoms)),
        centers=centers,
        neighbor=neighbor[order].astype(np.int64),
        shifts=shifts[order].astype(np.int64),
        vectors=np.ascontiguousarray(vectors[order], dtype=np.float64),
    )


def first_offsets(centers: np.ndarray, n_atoms: int) -> np.ndarray:
    """``first`` of :class:`NeighborPairs` for pairs sorted by centre: pairs of centre i are first[i]:first[i + 1]."""
    return np.searchsorted(centers, np.arange(n_atoms + 1)).astype(np.int64)


class VerletList:
    """Neighbour pairs reused across MD steps (a Verlet list): the search runs to ``cutoff_A + skin_A`` and is
    kept while no atom has moved more than half the skin since (no pair can then have come from beyond the
    skin into the cutoff); each call takes the kept pairs' current vectors and keeps those within ``cutoff_A``:
    the same pairs as a fresh search, in its order (centre, neighbour, shift). A new cell, atom count or
    periodicity rebuilds."""

    def __init__(self, cutoff_A: float, skin_A: float = 1.0):
        if not (np.isfinite(cutoff_A) and cutoff_A > 0):
            raise DopwfInputError(f"cutoff_A ({cutoff_A}): expected a positive finite distance in A")
        if not (np.isfinite(skin_A) and skin_A >= 0):
            raise DopwfInputError(f"skin_A ({skin_A}): expected a finite distance >= 0 in A (0: search every call)")
        self.cutoff_A, self.skin_A = float(cutoff_A), float(skin_A)
        self.n_builds = self.n_calls = 0
        self._kept: NeighborPairs | None = None
        self._built_at: np.ndarray | None = None
        self._cell: np.ndarray | None = None
        self._shift_vectors: np.ndarray | None = None

    def pairs(self, atoms: Atoms) -> NeighborPairs:
        """The pairs within ``cutoff_A`` of ``atoms`` now."""
        self.n_calls += 1
        if self.skin_A == 0:
            self.n_builds += 1
            return neighbor_pairs(atoms, self.cutoff_A)
        positions, cell = atoms.positions, atoms.cell.array
        if self._stale(positions, cell, atoms.pbc):
            check_atoms(atoms)
            self._kept = neighbor_pairs(atoms, self.cutoff_A + self.skin_A)
            self._built_at, self._cell = positions.copy(), cell.copy()
            # elementwise, not a BLAS matmul: a threaded dgemm here leaves OpenBLAS threads spinning against the
            # next force call's numba threads (1,200-atom ANN-MD 20 % slower on 2 cores: bench/results/md_speed.md)
            shifts = self._kept.shifts
            self._shift_vectors = np.ascontiguousarray(
                shifts[:, 0, None] * cell[0] + shifts[:, 1, None] * cell[1] + shifts[:, 2, None] * cell[2])
            self.n_builds += 1
        kept = self._kept
        first, centers, neighbor, shifts, vectors, *terms = kernels.pairs_within(
            np.ascontiguousarray(positions, dtype=np.float64), kept.centers, kept.neighbor, kept.shifts,
            self._shift_vectors, self.cutoff_A)
        return NeighborPairs(first=first, centers=centers, neighbor=neighbor, shifts=shifts, vectors=vectors,
                             _terms={self.cutoff_A: tuple(terms)})

    def _stale(self, positions: np.ndarray, cell: np.ndarray, pbc) -> bool:
        if self._kept is None or len(positions) != len(self._built_at) or not all(pbc):
            return True
        if not np.array_equal(cell, self._cell) or not np.all(np.isfinite(positions)):
            return True
        moved = positions - self._built_at
        return float(np.einsum("ik,ik->i", moved, moved).max()) > (0.5 * self.skin_A) ** 2
