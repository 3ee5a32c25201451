"""AMP's Zernike descriptor (``amp.descriptor.zernike.Zernike``, version 2016.02), evaluated as AMP defines it.

The paper's Table 1 compares it with the Gaussian descriptor (Zernike with 12 / 20 / 49 functions: nmax 5, 7, 12).
Per centre atom, one function per (n, l) with l <= n <= nmax and n - l even, in AMP's order (n, then l), from one
density of all neighbours weighted by ``coefficients[centre][neighbour]`` (AMP's ``Gs``; by default the atomic
numbers) and AMP's cosine cutoff. The number of functions does not depend on the number of elements. The sums
and the compiled derivatives are in :mod:`dopant_workflows.ann.zernike_kernels`; the polynomial tables are built
here, with exact integer binomials, from AMP's own expansion (``calculate_z``, ``calculate_q``).

Forces are the exact gradient of the energy. AMP 1.0.1's own Zernike forces are not, in two corner cases that
this module does not copy: its fingerprint-derivative loop keeps a neighbour only if ``noffset.all() == 0`` (a
neighbour seen only through images shifted along all three cell vectors is dropped), and its Fortran derivative
declares the density coefficients ``integer`` (non-integer ``Gs`` are truncated there but not in the
fingerprints). Energies and fingerprints agree with AMP to rounding everywhere; forces wherever neither case
arises (tests/ann/test_zernike.py measures both against AMP's own numbers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from ase.data import atomic_numbers

from dopant_workflows.ann import zernike_kernels
from dopant_workflows.ann.atom_centred import AtomCentredDescriptor
from dopant_workflows.ann.settings import DEFAULT_CUTOFF_A
from dopant_workflows.errors import DopwfInputError

#: The largest nmax accepted: the paper's largest is 12 (49 functions); the monomial tables grow as nmax^4.
MAX_NMAX = 20
_SET_NAME = re.compile(r"zernike-nmax(\d+)$")


def zernike_functions(nmax: int) -> tuple[tuple[int, int], ...]:
    """(n, l) of each output column, in AMP's order."""
    return tuple((n, ell) for n in range(nmax + 1) for ell in range(n + 1) if (n - ell) % 2 == 0)


@dataclass(frozen=True)
class _ZernikeTables:
    lmax: int
    n_lm: int
    term_lm: np.ndarray
    term_a: np.ndarray
    term_b: np.ndarray
    term_c: np.ndarray
    term_coef: np.ndarray
    radial_q: np.ndarray
    radial_k: np.ndarray
    triple_function: np.ndarray
    triple_lm: np.ndarray
    triple_weight: np.ndarray


@dataclass(frozen=True)
class ZernikeDescriptor(AtomCentredDescriptor):
    """AMP-compatible Zernike descriptor with a cosine cutoff; ``coefficients[centre][neighbour]`` is AMP's ``Gs``
    (the weight of a neighbour element in the density around a centre element)."""

    _kernels = zernike_kernels
    elements: tuple[str, ...]
    nmax: int
    coefficients: Mapping[str, Mapping[str, float]]
    cutoff_A: float = DEFAULT_CUTOFF_A
    _tables: _ZernikeTables = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        elements = tuple(sorted(self.elements))
        object.__setattr__(self, "elements", elements)
        if not elements:
            raise DopwfInputError("Zernike descriptor: needs at least one element")
        if isinstance(self.nmax, bool) or not isinstance(self.nmax, (int, np.integer)) \
                or not 0 <= int(self.nmax) <= MAX_NMAX:
            raise DopwfInputError(f"Zernike descriptor nmax={self.nmax!r}: expected an integer from 0 to {MAX_NMAX} "
                                  "(one nmax for all elements: AMP 1.0.1 cannot fingerprint with a per-element dict)")
        object.__setattr__(self, "nmax", int(self.nmax))
        if not (self.cutoff_A > 0 and np.isfinite(self.cutoff_A)):
            raise DopwfInputError(f"Zernike descriptor cutoff_A={self.cutoff_A!r}: expected a positive number of A")
        coefficients = {}
        for centre in elements:
            row = self.coefficients.get(centre)
            if not isinstance(row, Mapping) or any(el not in row for el in elements):
                raise DopwfInputError(f"Zernike descriptor coefficients[{centre!r}]: expected a weight for each of "
                                      f"{list(elements)}, got {row!r}")
            try:
                coefficients[centre] = {el: float(row[el]) for el in elements}
            except (TypeError, ValueError):
                raise DopwfInputError(f"Zernike descriptor coefficients[{centre!r}] {dict(row)}: expected numbers") \
                    from None
            if not all(np.isfinite(v) for v in coefficients[centre].values()):
                raise DopwfInputError(f"Zernike descriptor coefficients[{centre!r}]: expected finite numbers")
        object.__setattr__(self, "coefficients", coefficients)
        object.__setattr__(self, "_tables", _build_tables(self.nmax))

    @classmethod
    def default(cls, elements: Sequence[str], nmax: int, cutoff_A: float = DEFAULT_CUTOFF_A) -> ZernikeDescriptor:
        """AMP's default coefficients (``generate_coefficients``): every neighbour weighted by its atomic number."""
        weights = {el: float(atomic_numbers[el]) for el in elements}
        return cls(tuple(elements), nmax, {el: dict(weights) for el in elements}, cutoff_A)

    @classmethod
    def from_set(cls, name: str, elements: Sequence[str], cutoff_A: float = DEFAULT_CUTOFF_A) -> ZernikeDescriptor:
        """``zernike-nmaxN`` (TrainingSettings.descriptor): AMP's default coefficients, nmax N."""
        match = _SET_NAME.match(name)
        if match is None:
            raise DopwfInputError(f"descriptor {name!r}: a Zernike set is named zernike-nmaxN (e.g. zernike-nmax5)")
        return cls.default(elements, int(match.group(1)), cutoff_A)

    @cached_property
    def functions(self) -> tuple[tuple[int, int], ...]:
        """(n, l) of each column (the same for every element)."""
        return zernike_functions(self.nmax)

    @cached_property
    def n_functions(self) -> dict[str, int]:
        return {el: len(self.functions) for el in self.elements}

    @cached_property
    def pair_columns(self) -> np.ndarray:
        """Every pair moves every column (one density of all neighbours)."""
        n_el, k = len(self.elements), len(self.functions)
        columns = -np.ones((n_el, n_el, k + 1), dtype=np.int64)
        columns[:, :, :k] = np.arange(k)
        return columns

    @cached_property
    def _density(self) -> np.ndarray:
        return np.array([[self.coefficients[a][e] for e in self.elements] for a in self.elements])

    def kernel_args(self, species, first, neighbor, vectors, terms) -> tuple:
        """Positional arguments of the compiled kernels for any (possibly packed, multi-image) pair set."""
        t = self._tables
        return (species, first, neighbor, vectors, *terms, float(self.cutoff_A), self._density, t.lmax, t.n_lm,
                t.term_lm, t.term_a, t.term_b, t.term_c, t.term_coef, t.radial_q, t.radial_k, t.triple_function,
                t.triple_lm, t.triple_weight, len(self.functions))

    def pair_jacobian(self, species, first, neighbor, vectors, terms) -> np.ndarray:
        """dG/d(pair vector) of every pair over all columns ((P, n_functions, 3) float32)."""
        return zernike_kernels.fingerprints_jacobian(*self.kernel_args(species, first, neighbor, vectors, terms))

    def as_amp_parameters(self) -> dict:
        """AMP's ``Zernike.parameters`` for a .amp file."""
        return {"importname": ".descriptor.zernike.Zernike", "mode": "atom-centered", "version": "2016.02",
                "cutoff": {"name": "Cosine", "kwargs": {"Rc": float(self.cutoff_A)}}, "nmax": self.nmax,
                "Gs": {a: dict(row) for a, row in self.coefficients.items()}, "elements": list(self.elements)}


def _lm_index(ell: int, m: int) -> int:
    return ell * (ell + 1) // 2 + m


def _binomial(n: int, k: int) -> float:
    return float(math.comb(n, k))


def _radial_q(nu: int, k: int, ell: int) -> float:
    """AMP's ``calculate_q`` (Novotni & Klein 2004, after their Eq. 7)."""
    return ((-1) ** (k + nu) * math.sqrt((2 * ell + 4 * k + 3) / 3.0) * _binomial(k, nu) * _binomial(2 * k, k)
            * _binomial(2 * (k + ell + nu) + 1, 2 * k) / _binomial(k + ell + nu, k) / 2.0 ** (2 * k))


def _solid_harmonic_terms(ell: int, m: int) -> dict[tuple[int, int, int], complex]:
    """Monomial coefficients of K_lm H_lm: AMP's ``calculate_z`` without its radial (nu, alpha, beta) sums."""
    norm = (math.sqrt((2 * ell + 1) * math.factorial(ell + m) * math.factorial(ell - m)) / math.factorial(ell)
            * 2.0 ** (-m) * 1j ** m / math.sqrt(4.0 * math.pi / 3.0))
    terms: dict[tuple[int, int, int], complex] = {}
    for u in range(m + 1):
        term4 = (-1.0) ** (m - u) * _binomial(m, u) * 1j ** u
        for mu in range((ell - m) // 2 + 1):
            term5 = (-1.0) ** mu * 2.0 ** (-2 * mu) * _binomial(ell, mu) * _binomial(ell - mu, m + mu)
            for eta in range(mu + 1):
                key = (2 * eta + u, 2 * (mu - eta) + m - u, ell - m - 2 * mu)
                terms[key] = terms.get(key, 0.0) + term4 * term5 * _binomial(mu, eta)
    return {key: norm * value for key, value in terms.items() if value != 0}


def _build_tables(nmax: int) -> _ZernikeTables:
    functions = zernike_functions(nmax)
    lmax = nmax
    lm_terms = [(ell, m, key, coef) for ell in range(lmax + 1) for m in range(ell + 1)
                for key, coef in _solid_harmonic_terms(ell, m).items()]
    kmax = nmax // 2
    radial_q = np.zeros((len(functions), kmax + 1))
    radial_k = np.zeros(len(functions), dtype=np.int64)
    triples = []
    for f, (n, ell) in enumerate(functions):
        k = (n - ell) // 2
        radial_k[f] = k
        radial_q[f, : k + 1] = [_radial_q(nu, k, ell) for nu in range(k + 1)]
        triples += [(f, _lm_index(ell, m), 1.0 if m == 0 else 2.0) for m in range(ell + 1)]
    return _ZernikeTables(
        lmax=lmax, n_lm=_lm_index(lmax, lmax) + 1,
        term_lm=np.array([_lm_index(ell, m) for ell, m, _, _ in lm_terms], dtype=np.int64),
        term_a=np.array([key[0] for _, _, key, _ in lm_terms], dtype=np.int64),
        term_b=np.array([key[1] for _, _, key, _ in lm_terms], dtype=np.int64),
        term_c=np.array([key[2] for _, _, key, _ in lm_terms], dtype=np.int64),
        term_coef=np.array([coef for _, _, _, coef in lm_terms], dtype=np.complex128),
        radial_q=radial_q, radial_k=radial_k,
        triple_function=np.array([t[0] for t in triples], dtype=np.int64),
        triple_lm=np.array([t[1] for t in triples], dtype=np.int64),
        triple_weight=np.array([t[2] for t in triples]),
    )
