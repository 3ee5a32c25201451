"""Site permutations of a cell's space-group operations, for telling symmetry-distinct substitutions apart.

Two substitution patterns are equivalent when a symmetry operation of the (undoped) cell maps one onto the
other. Acting on site indices, each operation is a permutation; the canonical key of a pattern is its smallest
image over all permutations. This is exact and costs microseconds per pattern, unlike StructureMatcher.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import spglib
from pymatgen.core import Structure

#: Tolerance (fractional coordinates) for matching a transformed site onto a site of the cell.
SITE_MATCH_TOL = 1e-3


def site_permutations(structure: Structure, symprec: float = 0.01) -> np.ndarray:
    """Permutations (n_ops, n_sites) induced by the symmetry operations of ``structure`` (translations included).

    Operations that do not map the species onto themselves within tolerance are dropped, so the result is
    always a valid set of permutations (at least the identity).
    """
    frac = structure.frac_coords
    species = np.array([site.species_string for site in structure])
    numbers = np.unique(species, return_inverse=True)[1]
    # spglib (not SpacegroupAnalyzer, which drops them) lists the pure lattice translations of a supercell too
    symmetry = spglib.get_symmetry((structure.lattice.matrix, frac, numbers), symprec=symprec) or {
        "rotations": [], "translations": []
    }
    perms = [np.arange(len(structure))]
    for rotation, translation in zip(symmetry["rotations"], symmetry["translations"], strict=True):
        image = frac @ np.asarray(rotation).T + translation
        diff = image[:, None, :] - frac[None, :, :]
        diff -= np.round(diff)
        dist = np.abs(diff).max(axis=2)
        target = dist.argmin(axis=1)
        if dist[np.arange(len(frac)), target].max() > SITE_MATCH_TOL or len(set(target)) != len(frac):
            continue
        if np.any(species[target] != species):
            continue
        perms.append(target)
    return np.unique(np.array(perms), axis=0)


def canonical_key(changes: Iterable[tuple[int, str]], permutations: np.ndarray) -> tuple[tuple[int, str], ...]:
    """Smallest image of a set of (site index, new species) changes over all ``permutations``."""
    changes = list(changes)
    if not changes:
        return ()
    idx = np.array([i for i, _ in changes])
    labels = [label for _, label in changes]
    best = None
    for image in permutations[:, idx]:
        key = tuple(sorted(zip(image.tolist(), labels, strict=True)))
        if best is None or key < best:
            best = key
    return best
