"""Gaussian (Behler-Parrinello) symmetry functions with AMP 1.0.1's exact conventions.

For a centre atom i with neighbours j, k within the cutoff R_c (periodic images included, the atom's own
images too), f_c the cosine cutoff 0.5 (cos(pi r / R_c) + 1) for r <= R_c, else 0:

    G2(element e; eta, R_s)          = sum_{j: Z_j = e} exp(-eta (R_ij - R_s)^2 / R_c^2) f_c(R_ij)
    G4(elements {a, b}; eta, gamma, zeta)
        = 2^(1 - zeta) sum_{j < k: {Z_j, Z_k} = {a, b}} (1 + gamma cos theta_ijk)^zeta
          exp(-eta (R_ij^2 + R_ik^2 + R_jk^2) / R_c^2) f_c(R_ij) f_c(R_ik) f_c(R_jk)

Note AMP divides eta by R_c^2 (eta is dimensionless) and includes f_c(R_jk). ``default_symmetry_functions``
reproduces ``amp.descriptor.gaussian.make_default_symmetry_functions``: 4 G2 per element (eta log-spaced
0.05..5) and G4 with eta 0.005, zeta 1 and 4, gamma +-1 for every unordered element pair: 56 per centre
element for 4 elements (the paper's "Gaussian-56").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class G2:
    """Radial function on neighbours of ``element``; ``eta`` dimensionless (AMP), ``offset_A`` in A."""

    element: str
    eta: float
    offset_A: float = 0.0


@dataclass(frozen=True)
class G4:
    """Angular function on neighbour pairs of ``elements`` (sorted); ``eta`` dimensionless (AMP)."""

    elements: tuple[str, str]
    eta: float
    gamma: float
    zeta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(sorted(self.elements)))


SymmetryFunction = G2 | G4


def make_g2(elements: Sequence[str], etas: Iterable[float], offsets_A: Iterable[float] = (0.0,)) -> list[G2]:
    """Same order as AMP's ``make_symmetry_functions(type='G2')``: eta, then element, then offset."""
    offsets_A = list(offsets_A)
    return [G2(el, float(eta), float(off)) for eta in etas for el in elements for off in offsets_A]


def make_g4(elements: Sequence[str], etas: Iterable[float], zetas: Iterable[float],
            gammas: Iterable[float]) -> list[G4]:
    """Same order as AMP's ``make_symmetry_functions(type='G4')``: eta, zeta, gamma, then element pairs."""
    zetas, gammas = list(zetas), list(gammas)
    return [
        G4((a, b), float(eta), float(gamma), float(zeta))
        for eta in etas
        for zeta in zetas
        for gamma in gammas
        for a, b in combinations_with_replacement(list(elements), 2)
    ]


def default_symmetry_functions(elements: Sequence[str]) -> dict[str, tuple[SymmetryFunction, ...]]:
    """AMP's ``make_default_symmetry_functions``: the same set for every centre element."""
    elements = sorted(elements)
    functions = make_g2(elements, np.logspace(np.log10(0.05), np.log10(5.0), num=4))
    functions += make_g4(elements, [0.005], [1.0, 4.0], [1.0, -1.0])
    return {el: tuple(functions) for el in elements}


def radial8_symmetry_functions(elements: Sequence[str]) -> dict[str, tuple[SymmetryFunction, ...]]:
    """AMP's angular set with twice the radial resolution: 8 centred G2 widths (eta 0.05-20) per neighbour."""
    elements = sorted(elements)
    functions = make_g2(elements, np.logspace(np.log10(0.05), np.log10(20.0), num=8))
    functions += make_g4(elements, [0.005], [1.0, 4.0], [1.0, -1.0])
    return {el: tuple(functions) for el in elements}


def radial_only_symmetry_functions(elements: Sequence[str]) -> dict[str, tuple[SymmetryFunction, ...]]:
    """AMP's 4 G2 widths and no angular terms: the cheapest set, a lower bound in a scan."""
    elements = sorted(elements)
    return {el: tuple(make_g2(elements, np.logspace(np.log10(0.05), np.log10(5.0), num=4))) for el in elements}


#: named descriptor sets (TrainingSettings.descriptor): "gaussian" is AMP's default, the paper's Gaussian-56
#: for four elements (80 functions for five)
DESCRIPTOR_SETS = {
    "gaussian": default_symmetry_functions,
    "gaussian-radial8": radial8_symmetry_functions,
    "gaussian-g2": radial_only_symmetry_functions,
}


def symmetry_functions_from_amp(gs: Mapping[str, Sequence[Mapping]]) -> dict[str, tuple[SymmetryFunction, ...]]:
    """Convert AMP's ``Gs`` dictionary ({element: [{'type': 'G2', ...}, ...]}) to our dataclasses."""
    out = {}
    for centre, functions in gs.items():
        converted: list[SymmetryFunction] = []
        for n, g in enumerate(functions):
            kind = g.get("type")
            try:
                if kind == "G2":
                    converted.append(G2(str(g["element"]), float(g["eta"]), float(g.get("offset", 0.0))))
                elif kind == "G4":
                    a, b = g["elements"]
                    converted.append(G4((str(a), str(b)), float(g["eta"]), float(g["gamma"]), float(g["zeta"])))
                else:
                    raise DopwfInputError(
                        f"symmetry function {centre}[{n}]: type {kind!r} is not supported (G2 and G4 are; "
                        "AMP's G5 is not)"
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise DopwfInputError(f"symmetry function {centre}[{n}] {dict(g)}: malformed ({exc})") from None
        out[str(centre)] = tuple(converted)
    return out


def symmetry_functions_to_amp(functions: Mapping[str, Sequence[SymmetryFunction]]) -> dict[str, list[dict]]:
    """Our dataclasses as AMP's ``Gs`` dictionary."""
    out: dict[str, list[dict]] = {}
    for centre, fs in functions.items():
        out[centre] = [
            {"type": "G2", "element": f.element, "eta": f.eta, "offset": f.offset_A}
            if isinstance(f, G2)
            else {"type": "G4", "elements": list(f.elements), "eta": f.eta, "gamma": f.gamma, "zeta": f.zeta}
            for f in fs
        ]
    return out
