"""A Behler-Parrinello potential: descriptor + per-element networks, evaluated to energy, forces and stress."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from ase import Atoms

from dopant_workflows.ann import fused
from dopant_workflows.ann.atom_centred import AtomCentredDescriptor
from dopant_workflows.ann.core_repulsion import CoreRepulsion
from dopant_workflows.ann.neighbors import NeighborPairs, neighbor_pairs
from dopant_workflows.ann.network import AtomicNeuralNetwork
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class PotentialResult:
    energy_eV: float
    energies_eV: np.ndarray  # (N,) atomic energies
    forces_eV_A: np.ndarray | None  # (N, 3)
    stress_eV_A3: np.ndarray | None  # (3, 3), ASE sign convention (positive = tensile)
    core_repulsion_eV: float = 0.0  # part of energy_eV from the wall beneath the training data (0: not touched)


@dataclass(frozen=True)
class BPNNPotential:
    """Descriptor and networks that belong together, plus free-form metadata (training provenance).

    ``core_repulsion`` (optional) adds a wall beneath the closest approach of each element pair in the training
    data (see :mod:`dopant_workflows.ann.core_repulsion`); it is zero wherever the network was trained."""

    descriptor: AtomCentredDescriptor
    network: AtomicNeuralNetwork
    metadata: Mapping[str, Any] = field(default_factory=dict)
    core_repulsion: CoreRepulsion | None = None

    def __post_init__(self) -> None:
        if set(self.descriptor.elements) != set(self.network.elements):
            raise DopwfInputError(
                f"model: descriptor elements {list(self.descriptor.elements)} differ from network elements "
                f"{list(self.network.elements)}"
            )
        for element, net in self.network.networks.items():
            if len(net.fp_min) != self.descriptor.n_functions[element]:
                raise DopwfInputError(
                    f"model: {element} network takes {len(net.fp_min)} inputs but the descriptor has "
                    f"{self.descriptor.n_functions[element]} symmetry functions"
                )

    @property
    def elements(self) -> tuple[str, ...]:
        return self.descriptor.elements

    @cached_property
    def packed_network(self) -> fused.PackedNetworks | None:
        """The networks as the fused kernel's arrays (None: elements' networks of different depths, or a descriptor
        the fused kernel does not compute)."""
        return fused.pack_networks([self.network], self.descriptor)

    def evaluate(self, atoms: Atoms, forces: bool = True, stress: bool = False,
                 pairs: NeighborPairs | None = None, fused_kernel: bool = True) -> PotentialResult:
        """Energy (and forces, stress) of a periodic structure; exact derivatives of the energy. ``pairs``: its
        neighbour pairs within the descriptor's cutoff, when the caller keeps a Verlet list. ``fused_kernel``:
        one compiled pass per centre atom (:mod:`dopant_workflows.ann.fused`); False runs fingerprints,
        networks and their gradient as three steps (the same numbers to rounding: the reference for tests and
        benchmarks)."""
        want_gradient = forces or stress
        packed = self.packed_network if fused_kernel else None
        if packed is not None:
            species = self.descriptor.species_indices(atoms)
            pairs = neighbor_pairs(atoms, self.descriptor.cutoff_A) if pairs is None else pairs
            energies, pair_gradient = fused.evaluate(self.descriptor, species, pairs, packed, want_gradient)
            energies, pair_gradient = energies[0], pair_gradient[0]
            if want_gradient:
                gradient, strain_derivative = self.descriptor.gradient_from_pairs(species, pairs, pair_gradient,
                                                                                  strain=stress)
        else:
            fingerprints, species, pairs = self.descriptor.fingerprints(atoms, pairs)
            symbols = np.asarray(self.descriptor.elements)[species]
            energies, dE_dG = self.network.atomic_energies(fingerprints, symbols, with_gradient=want_gradient)
            if want_gradient:
                gradient, strain_derivative = self.descriptor.energy_gradient(species, pairs, dE_dG)
        force_array = stress_array = None
        if want_gradient:
            force_array = -gradient if forces else None
            stress_array = strain_derivative / atoms.get_volume() if stress else None
        result = PotentialResult(float(energies.sum()), energies, force_array, stress_array)
        return self.with_core_repulsion(result, atoms, species, pairs)

    def with_core_repulsion(self, result: PotentialResult, atoms: Atoms, species: np.ndarray,
                            pairs: NeighborPairs, wall: tuple | None = None) -> PotentialResult:
        """``result`` of the network plus the core repulsion (if any) on the same neighbour list; ``wall``: its
        terms (``CoreRepulsion.evaluate``) when already computed (a committee whose members share one wall)."""
        if self.core_repulsion is None:
            return result
        if wall is None:
            wall = self.core_repulsion.evaluate(species, self.descriptor.elements, pairs)
        energy, energies, gradient, strain = wall
        if energy == 0.0:
            return result
        return PotentialResult(
            result.energy_eV + energy, result.energies_eV + energies,
            None if result.forces_eV_A is None else result.forces_eV_A - gradient,
            None if result.stress_eV_A3 is None else result.stress_eV_A3 + strain / atoms.get_volume(), energy)
