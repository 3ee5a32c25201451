"""A committee of networks on one descriptor, evaluated together (DP-GEN's model deviation needs all K forces):
fingerprints, the triplet lists and their geometry are shared (one fused pass, :mod:`dopant_workflows.ann.fused`;
from 4 members the per-pair Jacobian too), so K networks cost much less than K (4 members: 1.59x one network at
150 atoms, bench/results/md_speed.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from dopant_workflows.ann import fused
from dopant_workflows.ann.model import BPNNPotential, PotentialResult
from dopant_workflows.ann.neighbors import NeighborPairs, neighbor_pairs
from dopant_workflows.errors import DopwfInputError

#: packed committees by the identities of their networks (held here, so an id is not reused while cached): the
#: same members evaluate frame after frame (DP-GEN's deviation), and packing 4 networks costs 0.4 ms a call
_PACKED: dict[tuple[int, ...], tuple[tuple, fused.PackedNetworks | None]] = {}  # (descriptor, networks) ids
_PACKED_KEPT = 8


def _packed(networks: tuple, descriptor) -> fused.PackedNetworks | None:
    key = (id(descriptor), *map(id, networks))
    if key not in _PACKED:
        if len(_PACKED) >= _PACKED_KEPT:
            _PACKED.pop(next(iter(_PACKED)))
        _PACKED[key] = ((descriptor, networks), fused.pack_networks(networks, descriptor))  # held: ids stay theirs
    return _PACKED[key][1]


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
    packed = _packed(tuple(p.network for p in potentials), descriptor)
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
