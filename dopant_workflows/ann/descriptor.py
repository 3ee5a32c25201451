"""The Gaussian descriptor (symmetry-function tables for the compiled kernels) and the named sets training builds
from (:func:`descriptor_from_set`: Gaussian sets, or the Zernike descriptor of :mod:`dopant_workflows.ann.zernike`).
What every descriptor shares is :class:`dopant_workflows.ann.atom_centred.AtomCentredDescriptor` (imported here
too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from dopant_workflows.ann import kernels
from dopant_workflows.ann.atom_centred import AtomCentredDescriptor
from dopant_workflows.ann.neighbors import NeighborPairs
from dopant_workflows.ann.settings import DEFAULT_CUTOFF_A
from dopant_workflows.ann.symmetry_functions import G2, SymmetryFunction, default_symmetry_functions
from dopant_workflows.ann.zernike import ZernikeDescriptor
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class _Tables:
    g2_slots: np.ndarray
    g4_slots: np.ndarray
    eta: np.ndarray
    offset: np.ndarray
    gamma: np.ndarray
    zeta: np.ndarray
    pair_columns: np.ndarray  # (E, E, W + 1): columns a pair (centre a, neighbour e) can touch, -1 ends the list
    column_slot: np.ndarray  # (E, E, K): slot of column k in pair_columns[a, e], -1 where untouched


@dataclass(frozen=True)
class GaussianDescriptor(AtomCentredDescriptor):
    """AMP-compatible Gaussian descriptor with a cosine cutoff.

    ``functions[element]`` lists the symmetry functions of centre atoms of that element, in output order.
    """

    fused_kernel = True

    elements: tuple[str, ...]
    functions: Mapping[str, tuple[SymmetryFunction, ...]]
    cutoff_A: float = DEFAULT_CUTOFF_A
    _tables: _Tables = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        elements = tuple(sorted(self.elements))
        object.__setattr__(self, "elements", elements)
        if not elements:
            raise DopwfInputError("descriptor: needs at least one element")
        if not (self.cutoff_A > 0 and np.isfinite(self.cutoff_A)):
            raise DopwfInputError(f"descriptor cutoff_A={self.cutoff_A!r}: expected a positive number of A")
        missing = [el for el in elements if el not in self.functions]
        if missing:
            raise DopwfInputError(f"descriptor: no symmetry functions for element(s) {missing}")
        for centre in elements:
            for f in self.functions[centre]:
                used = (f.element,) if isinstance(f, G2) else f.elements
                unknown = [el for el in used if el not in elements]
                if unknown:
                    raise DopwfInputError(
                        f"descriptor: symmetry function {f} of {centre} uses element(s) {unknown} "
                        f"outside the element list {list(elements)}"
                    )
        object.__setattr__(self, "_tables", self._build_tables())

    @classmethod
    def default(cls, elements: Sequence[str], cutoff_A: float = DEFAULT_CUTOFF_A) -> GaussianDescriptor:
        """AMP's default set (56 per element for 4 elements)."""
        return cls(tuple(elements), default_symmetry_functions(elements), cutoff_A)

    @classmethod
    def from_set(cls, name: str, elements: Sequence[str], cutoff_A: float = DEFAULT_CUTOFF_A) -> GaussianDescriptor:
        """A named set of ``symmetry_functions.DESCRIPTOR_SETS`` (TrainingSettings.descriptor)."""
        from dopant_workflows.ann.symmetry_functions import DESCRIPTOR_SETS

        if name not in DESCRIPTOR_SETS:
            raise DopwfInputError(f"descriptor {name!r}: expected one of {sorted(DESCRIPTOR_SETS)}")
        return cls(tuple(elements), DESCRIPTOR_SETS[name](elements), cutoff_A)

    @cached_property
    def n_functions(self) -> dict[str, int]:
        return {el: len(self.functions[el]) for el in self.elements}

    def _build_tables(self) -> _Tables:
        index = {el: n for n, el in enumerate(self.elements)}
        n_el, width = len(self.elements), max(len(self.functions[el]) for el in self.elements)
        eta, offset = np.zeros((n_el, width)), np.zeros((n_el, width))
        gamma, zeta = np.zeros((n_el, width)), np.ones((n_el, width))
        g2_lists = [[[] for _ in range(n_el)] for _ in range(n_el)]
        g4_lists = [[[[] for _ in range(n_el)] for _ in range(n_el)] for _ in range(n_el)]
        for centre in self.elements:
            a = index[centre]
            for k, f in enumerate(self.functions[centre]):
                eta[a, k] = f.eta
                if isinstance(f, G2):
                    offset[a, k] = f.offset_A
                    g2_lists[a][index[f.element]].append(k)
                else:
                    gamma[a, k], zeta[a, k] = f.gamma, f.zeta
                    e1, e2 = index[f.elements[0]], index[f.elements[1]]
                    g4_lists[a][e1][e2].append(k)
                    if e1 != e2:
                        g4_lists[a][e2][e1].append(k)
        # group G4 columns of a pair by eta so the kernel computes each Gaussian once per triplet
        for a in range(n_el):
            for e1 in range(n_el):
                for e2 in range(n_el):
                    g4_lists[a][e1][e2].sort(key=lambda k, a=a: (eta[a, k], k))
        g2_slots = _pad([[g2_lists[a][e] for e in range(n_el)] for a in range(n_el)], (n_el, n_el))
        g4_slots = _pad(g4_lists, (n_el, n_el, n_el))
        # a pair with a neighbour of element e moves the G2 columns of e and the G4 columns of every (e, e2)
        touched = [[sorted({*g2_lists[a][e], *(k for e2 in range(n_el) for k in g4_lists[a][e][e2])})
                    for e in range(n_el)] for a in range(n_el)]
        pair_columns = _pad(touched, (n_el, n_el))
        column_slot = -np.ones((n_el, n_el, width), dtype=np.int64)
        for a in range(n_el):
            for e in range(n_el):
                column_slot[a, e, touched[a][e]] = np.arange(len(touched[a][e]))
        return _Tables(g2_slots, g4_slots, eta, offset, gamma, zeta, pair_columns, column_slot)

    @cached_property
    def angular_tables(self):
        """The G4 functions as the fused kernel takes them (:class:`dopant_workflows.ann.fused.AngularTables`)."""
        from dopant_workflows.ann.fused import angular_tables

        t = self._tables
        return angular_tables(t.g4_slots, t.eta, t.gamma, t.zeta, t.pair_columns, t.column_slot)

    def pair_jacobian(self, species, first, neighbor, vectors, terms) -> np.ndarray:
        """dG/d(pair vector) of every pair over the columns it touches ((P, jacobian_width, 3) float32)."""
        t = self._tables
        return kernels.fingerprints_jacobian(*self.kernel_args(species, first, neighbor, vectors, terms),
                                             t.column_slot, self.jacobian_width)

    @property
    def pair_columns(self) -> np.ndarray:
        """(E, E, W + 1): the columns a pair (centre a, neighbour e) can touch, -1 ends the list."""
        return self._tables.pair_columns

    def kernel_args(self, species, first, neighbor, vectors, terms) -> tuple:
        """Positional arguments of the compiled kernels for any (possibly packed, multi-image) pair set."""
        t = self._tables
        return (species, first, neighbor, vectors, *terms, float(self.cutoff_A), t.g2_slots, t.g4_slots,
                t.eta, t.offset, t.gamma, t.zeta)

    def energy_gradients(self, species: np.ndarray, pairs: NeighborPairs, dE_dG: np.ndarray) -> np.ndarray:
        """dE_m/dR (M, N, 3) in eV/A for M networks' dE_m/dG (M, N, max_functions), in one pass over triplets."""
        pair_gradients = kernels.fingerprints_vjp_many(*self.pair_kernel_args(species, pairs),
                                                       np.ascontiguousarray(dE_dG))
        return np.stack([kernels.scatter_pair_gradient(len(species), pairs.first, pairs.neighbor, g)
                         for g in pair_gradients])


def descriptor_from_set(name: str, elements: Sequence[str],
                        cutoff_A: float = DEFAULT_CUTOFF_A) -> AtomCentredDescriptor:
    """The descriptor ``TrainingSettings.descriptor`` names: a Gaussian set (``symmetry_functions.DESCRIPTOR_SETS``)
    or AMP's Zernike descriptor (``zernike-nmaxN``: :mod:`dopant_workflows.ann.zernike`)."""
    if name.startswith("zernike"):
        return ZernikeDescriptor.from_set(name, elements, cutoff_A)
    return GaussianDescriptor.from_set(name, elements, cutoff_A)


def _pad(nested: list, shape: tuple[int, ...]) -> np.ndarray:
    width = max(1, max((len(v) for v in _leaves(nested, len(shape))), default=0)) + 1
    out = -np.ones((*shape, width), dtype=np.int64)
    for index in np.ndindex(*shape):
        values = nested
        for n in index:
            values = values[n]
        out[index][: len(values)] = values
    return out


def _leaves(nested: list, depth: int):
    if depth == 0:
        yield nested
        return
    for item in nested:
        yield from _leaves(item, depth - 1)
