"""What every atom-centred descriptor shares (:class:`AtomCentredDescriptor`): species lookup, fingerprints, their
derivatives on any pair set, forces and stress from pair gradients, the stored training Jacobian's contractions."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from dopant_workflows.ann import kernels
from dopant_workflows.ann.neighbors import NeighborPairs, neighbor_pairs
from dopant_workflows.errors import DopwfInputError


class AtomCentredDescriptor:
    """What networks, training and the calculator use of a descriptor, written once over its compiled kernels.

    A subclass is a frozen dataclass with ``elements`` (sorted), ``cutoff_A`` and ``n_functions``; it names its
    kernel module (``_kernels``: ``fingerprints``, ``fingerprints_vjp``, ``fingerprints_jvp``, each taking
    ``kernel_args(...)`` first) and gives ``kernel_args``, ``pair_columns`` (the columns a pair can move, per
    centre and neighbour element) and ``pair_jacobian``."""

    _kernels = kernels
    #: whether :mod:`dopant_workflows.ann.fused` (one compiled pass per centre, Gaussian functions only) applies
    fused_kernel = False

    @property
    def max_functions(self) -> int:
        return max(self.n_functions.values())

    @property
    def jacobian_width(self) -> int:
        """Columns of the stored training Jacobian per pair: the most one pair can touch."""
        return max(1, int((self.pair_columns >= 0).sum(axis=2).max()))

    def jacobian_vjp(self, species, first, neighbor, jacobian, weights) -> np.ndarray:
        """dE/d(pair vector) (P, 3) from a stored Jacobian and dE/dG (N, max_functions)."""
        return kernels.jacobian_vjp(species, first, neighbor, self.pair_columns, jacobian, weights)

    def jacobian_jvp(self, species, first, neighbor, jacobian, displacements) -> np.ndarray:
        """dG (N, max_functions) along a displacement of the atoms (N, 3), from a stored Jacobian."""
        return kernels.jacobian_jvp(species, first, neighbor, self.pair_columns, jacobian,
                                    np.ascontiguousarray(displacements, dtype=np.float64), self.max_functions)

    @cached_property
    def _index_of_number(self) -> np.ndarray:
        """Element index by atomic number (-1: not in the model)."""
        table = -np.ones(len(chemical_symbols), dtype=np.int64)
        for n, el in enumerate(self.elements):
            table[atomic_numbers[el]] = n
        return table

    def species_indices(self, atoms: Atoms) -> np.ndarray:
        """Element index of every atom; refuses elements the descriptor does not know (naming them)."""
        species = self._index_of_number[atoms.numbers]
        if (species < 0).any():
            unknown = sorted({chemical_symbols[z] for z in atoms.numbers[species < 0]})
            raise DopwfInputError(
                f"structure {atoms.get_chemical_formula()}: element(s) {unknown} are not in the model, "
                f"which was trained on {list(self.elements)}"
            )
        return species

    def pair_kernel_args(self, species: np.ndarray, pairs: NeighborPairs) -> tuple:
        """Positional arguments of the compiled kernels for one structure's pairs."""
        return self.kernel_args(species, pairs.first, pairs.neighbor, pairs.vectors, pairs.terms(self.cutoff_A))
    def fingerprints(self, atoms: Atoms, pairs: NeighborPairs | None = None
                     ) -> tuple[np.ndarray, np.ndarray, NeighborPairs]:
        """(G of shape (N, max_functions), species indices, neighbour pairs) of a structure.

        Rows of atoms whose element has fewer functions than ``max_functions`` are zero-padded. ``pairs``: this
        structure's pairs within the cutoff when the caller has them (a Verlet list); else searched here.
        """
        species = self.species_indices(atoms)
        pairs = neighbor_pairs(atoms, self.cutoff_A) if pairs is None else pairs
        return self._kernels.fingerprints(*self.pair_kernel_args(species, pairs)), species, pairs

    def pairs_vjp(self, species, first, neighbor, vectors, terms, dE_dG) -> np.ndarray:
        """dE/d(pair vector) (P, 3) for dE/dG (N, max_functions), on any (possibly packed, multi-image) pair set."""
        return self._kernels.fingerprints_vjp(*self.kernel_args(species, first, neighbor, vectors, terms),
                                              np.ascontiguousarray(dE_dG))

    def pairs_jvp(self, species, first, neighbor, vectors, terms, pair_displacements) -> np.ndarray:
        """dG (N, max_functions) along displacements of the pair vectors (P, 3), on any pair set."""
        return self._kernels.fingerprints_jvp(*self.kernel_args(species, first, neighbor, vectors, terms),
                                              np.ascontiguousarray(pair_displacements))

    def energy_gradient(self, species: np.ndarray, pairs: NeighborPairs,
                        dE_dG: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dE/dR (N, 3) in eV/A, dE/d(strain) (3, 3) in eV) for a given dE/dG (N, max_functions)."""
        pair_gradient = self.pairs_vjp(species, pairs.first, pairs.neighbor, pairs.vectors,
                                       pairs.terms(self.cutoff_A), dE_dG)
        return self.gradient_from_pairs(species, pairs, pair_gradient)

    def energy_gradients(self, species: np.ndarray, pairs: NeighborPairs, dE_dG: np.ndarray) -> np.ndarray:
        """dE_m/dR (M, N, 3) in eV/A for M networks' dE_m/dG (M, N, max_functions)."""
        return np.stack([self.energy_gradient(species, pairs, g)[0] for g in dE_dG])

    @staticmethod
    def gradient_from_pairs(species: np.ndarray, pairs: NeighborPairs, pair_gradient: np.ndarray,
                            strain: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(dE/dR (N, 3) in eV/A, dE/d(strain) (3, 3) in eV, or None unless ``strain``) from dE/d(pair vector)
        (P, 3)."""
        gradient = kernels.scatter_pair_gradient(len(species), pairs.first, pairs.neighbor, pair_gradient)
        if not strain:
            return gradient, None
        # einsum, not a BLAS matmul: a threaded BLAS call between force calls leaves OpenBLAS threads spinning
        # against the numba kernels' threads
        strain_derivative = np.einsum("pi,pj->ij", pair_gradient, pairs.vectors)
        return gradient, 0.5 * (strain_derivative + strain_derivative.T)

    def fingerprint_directional_derivative(self, species: np.ndarray, pairs: NeighborPairs,
                                           displacements: np.ndarray) -> np.ndarray:
        """dG along atomic displacements (N, 3): the Jacobian-vector product force training needs."""
        pair_displacements = displacements[pairs.neighbor] - displacements[pairs.centers]
        return self.pairs_jvp(species, pairs.first, pairs.neighbor, pairs.vectors, pairs.terms(self.cutoff_A),
                              pair_displacements)
