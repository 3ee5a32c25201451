"""A committee of networks on one descriptor, evaluated together: fingerprints and the triplet geometry of the force
computation are shared (one fused pass, :mod:`dopant_workflows.ann.fused`), so K networks cost little more than
one (DP-GEN's model deviation needs all K forces)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from dopant_workflows.ann import fused
from dopant_workflows.ann.model import BPNNPotential, PotentialResult
from dopant_workflows.ann.neighbors import NeighborPairs, neighbor_pairs
from dopant_workflows.errors import DopwfInputError


def shares_descriptor(potentials: Sequence[BPNNPotential]) -> bool:
    """Whether every member uses the first one's descriptor (same elements, functions and cutoff)."""
    return all(p.descriptor == potentials[0].descriptor for p in potentials[1:])


def committee_evaluate(potentials: Sequence[BPNNPotential], atoms: Atoms, pairs: NeighborPairs | None = None
                       ) -> list[PotentialResult]:
    """Energy and forces of ``atoms`` under every member, each exactly what ``member.evaluate(atoms)`` gives
    (core repulsion included). Members with different descriptors are evaluated one by one."""
    if not potentials:
        raise DopwfInputError("committee: no networks given")
    if not shares_descriptor(potentials):
        return [p.evaluate(atoms, forces=True, pairs=pairs) for p in potentials]
    descriptor = potentials[0].descriptor
    packed = fused.pack_networks([p.network for p in potentials], descriptor.max_functions)
    if packed is not None:
        species = descriptor.species_indices(atoms)
        pairs = neighbor_pairs(atoms, descriptor.cutoff_A) if pairs is None else pairs
        energies, pair_gradients = fused.evaluate(descriptor, species, pairs, packed, True)
        forces = [-descriptor.gradient_from_pairs(species, pairs, g, strain=False)[0] for g in pair_gradients]
    else:
        fingerprints, species, pairs = descriptor.fingerprints(atoms, pairs)
        symbols = np.asarray(descriptor.elements)[species]
        energies, gradients = zip(*(p.network.atomic_energies(fingerprints, symbols, with_gradient=True)
                                    for p in potentials), strict=True)
        forces = -descriptor.energy_gradients(species, pairs, np.stack(gradients))
    walls: list[tuple] = []  # (wall, its terms): members trained on the same data share one wall
    results = []
    for p, e, f in zip(potentials, energies, forces, strict=True):
        terms = None
        if p.core_repulsion is not None:
            terms = next((t for wall, t in walls if wall == p.core_repulsion), None)
            if terms is None:
                terms = p.core_repulsion.evaluate(species, descriptor.elements, pairs)
                walls.append((p.core_repulsion, terms))
        results.append(p.with_core_repulsion(PotentialResult(float(e.sum()), e, f, None), atoms, species, pairs,
                                             terms))
    return results
