"""A repulsive wall beneath the closest approach of each element pair in the training data.

A network knows nothing about distances its training data never reached: at 900 K an under-converged network
can pull two atoms through each other (the MD then stops with "atoms 0.5 A apart"). The reference AIMD never
visited those distances because they are far uphill, so a wall there is consistent with the data. The wall
starts ``margin`` (0.1 A) inside the closest approach of that pair in the training images, so it changes nothing
the network was trained on (training is unaffected, AMP's numbers on the training domain too) and leaves room
for the slightly closer approaches a larger or longer run finds by chance; below r_on it rises as

    E_pair(r) = A ((r_on - r) / w)^3,   A = 1 eV, w = 0.2 A   (1/8 eV at 0.1 A inside, 1 eV at 0.2 A)

Element pairs never closer than the cutoff in the data get ``r_on`` = sum of ASE's covalent radii (source
"covalent radii (no data)"). How often MD touches the wall is recorded (md_run.json): a run that lives on the
wall is not a run of the network.

The wall is for cores, so ``r_on`` is never beyond the pair's bonding distance (the sum of covalent radii). A pair
that never bonds in the data -- two cations such as P-P or Si-Si, whose closest approach is set by the anions
between them -- has its closest approach at 3.5-5 A, decided by a handful of samples (three Si in a cell): the
reasoning above (not visited because far uphill) does not hold there, and a wall at that distance would push on
tetrahedra at an ordinary distance where the reference shows nothing repulsive (on the LSiPS demo's networks: P-P
at 3.50-3.52 A, Si-Si at 4.75 A; bench/results/wall_frames.md, bench/results/wall_rate.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from numba import njit

from dopant_workflows.ann.neighbors import NeighborPairs, neighbor_pairs
from dopant_workflows.errors import DopwfInputError

DEFAULT_STRENGTH_EV = 1.0
DEFAULT_WIDTH_A = 0.2
DEFAULT_MARGIN_A = 0.1
NO_DATA = "covalent radii (no data)"


def pair_key(a: str, b: str) -> str:
    return "-".join(sorted((a, b)))


def closest_approach_A(species: np.ndarray, centers: np.ndarray, neighbor: np.ndarray, vectors: np.ndarray,
                       n_elements: int) -> np.ndarray:
    """(n_elements, n_elements) closest distance per element pair in a pair list (inf: no such pair)."""
    closest = np.full(n_elements * n_elements, np.inf)
    if len(centers):
        np.minimum.at(closest, species[centers] * n_elements + species[neighbor], np.linalg.norm(vectors, axis=1))
    closest = closest.reshape(n_elements, n_elements)
    return np.minimum(closest, closest.T)


@dataclass(frozen=True)
class CoreRepulsion:
    onset_A: Mapping[str, float]  # "Li-S" (sorted symbols) -> r_on in A
    source: Mapping[str, str]  # "training data" or NO_DATA, per pair
    strength_eV: float = DEFAULT_STRENGTH_EV
    width_A: float = DEFAULT_WIDTH_A
    _tables: dict = field(default_factory=dict, repr=False, compare=False)  # onset table per element order

    def __post_init__(self) -> None:
        if not (self.strength_eV > 0 and self.width_A > 0):
            raise DopwfInputError(f"core repulsion: strength_eV {self.strength_eV} and width_A {self.width_A} "
                                  "must be > 0")
        bad = {k: v for k, v in self.onset_A.items() if not (0 < v < 10)}
        if bad:
            raise DopwfInputError(f"core repulsion: onsets {bad} outside (0, 10) A")

    @classmethod
    def from_closest_approach(cls, closest_A: np.ndarray, elements: Sequence[str],
                              margin_A: float = DEFAULT_MARGIN_A) -> CoreRepulsion:
        """Onsets = ``closest_A`` (per element pair, in the order of ``elements``) - margin, at most the sum of
        covalent radii (the bonding distance: beyond it there is no core to protect); pairs never seen (inf) get
        that sum."""
        onset, source = {}, {}
        for i, x in enumerate(elements):
            for j, y in enumerate(elements[i:], start=i):
                key = pair_key(x, y)
                bonding = float(covalent_radii[atomic_numbers[x]] + covalent_radii[atomic_numbers[y]])
                if not np.isfinite(closest_A[i, j]):
                    onset[key], source[key] = bonding, NO_DATA
                elif closest_A[i, j] - margin_A > bonding:
                    onset[key] = bonding
                    source[key] = f"covalent radii (never bonded in the data: closest {closest_A[i, j]:.2f} A)"
                else:
                    onset[key], source[key] = float(closest_A[i, j]) - margin_A, f"training data - {margin_A:g} A"
        return cls(onset, source)

    @classmethod
    def from_images(cls, images: Iterable[Atoms], elements: Iterable[str], cutoff_A: float,
                    margin_A: float = DEFAULT_MARGIN_A) -> CoreRepulsion:
        """Onsets = closest approach of every element pair over all ``images`` (within ``cutoff_A``) - margin."""
        elements = sorted(set(elements))
        index = {el: i for i, el in enumerate(elements)}
        closest = np.full((len(elements), len(elements)), np.inf)
        for atoms in images:
            pairs = neighbor_pairs(atoms, cutoff_A)
            species = np.array([index[s] for s in atoms.get_chemical_symbols()])
            closest = np.minimum(closest, closest_approach_A(species, pairs.centers, pairs.neighbor, pairs.vectors,
                                                             len(elements)))
        return cls.from_closest_approach(closest, elements, margin_A)

    def _onset_table(self, elements: tuple[str, ...]) -> np.ndarray:
        """Onsets indexed by species (evaluated every MD step: built once per element order)."""
        if elements not in self._tables:
            table = np.zeros((len(elements), len(elements)))
            for i, x in enumerate(elements):
                for j, y in enumerate(elements):
                    key = pair_key(x, y)
                    if key not in self.onset_A:
                        raise DopwfInputError(f"core repulsion: no onset for the element pair {key}")
                    table[i, j] = self.onset_A[key]
            self._tables[elements] = table
        return self._tables[elements]

    def evaluate(self, species: np.ndarray, elements: tuple[str, ...], pairs: NeighborPairs
                 ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(energy eV, atomic energies (N,), dE/dR (N, 3), dE/d(strain) (3, 3)) from a full neighbour list."""
        return _wall(species, pairs.centers, pairs.neighbor, pairs.vectors, self._onset_table(elements),
                     self.strength_eV, self.width_A)

    def as_dict(self) -> dict:
        return {"onset_A": dict(sorted(self.onset_A.items())), "source": dict(sorted(self.source.items())),
                "strength_eV": self.strength_eV, "width_A": self.width_A}

    @classmethod
    def from_dict(cls, d: Mapping) -> CoreRepulsion:
        return cls({k: float(v) for k, v in d["onset_A"].items()}, dict(d["source"]), float(d["strength_eV"]),
                   float(d["width_A"]))


@njit(cache=True)
def _wall(species, centers, neighbor, vectors, onset, strength_eV, width_A):
    """:meth:`CoreRepulsion.evaluate`'s terms in one compiled pass over a full pair list. It runs every MD step, so
    it makes no array over all pairs: 0.014 ms at 150 atoms, a tenth of the same terms in numpy
    (bench/results/md_speed.md)."""
    n_atoms = species.shape[0]
    energies, gradient, strain = np.zeros(n_atoms), np.zeros((n_atoms, 3)), np.zeros((3, 3))
    total = 0.0
    for p in range(centers.shape[0]):
        i, j = centers[p], neighbor[p]
        r_on = onset[species[i], species[j]]
        vx, vy, vz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
        r2 = vx * vx + vy * vy + vz * vz
        if r2 >= r_on * r_on:
            continue
        r = math.sqrt(r2)
        depth = (r_on - r) / width_A
        half_energy = 0.5 * strength_eV * depth**3  # the full list holds each pair twice
        half_slope = -1.5 * strength_eV * depth**2 / width_A  # d(half_energy)/dr
        energies[i] += half_energy
        total += half_energy
        d = (vx * half_slope / r, vy * half_slope / r, vz * half_slope / r)  # d(half_energy)/d(vector)
        v = (vx, vy, vz)
        for a in range(3):
            gradient[j, a] += d[a]
            gradient[i, a] -= d[a]
            for b in range(3):
                strain[a, b] += d[a] * v[b]
    return total, energies, gradient, 0.5 * (strain + strain.T)
