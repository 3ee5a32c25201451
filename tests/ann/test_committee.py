"""A committee on one descriptor: one shared pass gives each member exactly its own energy and forces."""

from dataclasses import replace

import numpy as np
import pytest

from dopant_workflows.ann.committee import committee_evaluate, shares_descriptor
from dopant_workflows.ann.core_repulsion import CoreRepulsion
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork
from dopant_workflows.errors import DopwfInputError


def _member(potential: BPNNPotential, seed: int, wall: bool = False) -> BPNNPotential:
    """Another network on the same descriptor: weights perturbed by 20 %; optionally a wall close enough to act."""
    rng = np.random.default_rng(seed)
    networks = {el: replace(n, weights=tuple(w * (1 + 0.2 * rng.standard_normal(w.shape)) for w in n.weights))
                for el, n in potential.network.networks.items()}
    n = len(potential.elements)
    core = CoreRepulsion.from_closest_approach(np.full((n, n), 2.6), potential.elements) if wall else None
    return BPNNPotential(potential.descriptor, AtomicNeuralNetwork(networks, potential.network.activation), {}, core)


def test_committee_gives_every_member_its_own_energy_and_forces(lgps_potential, amp_images):
    members = [lgps_potential, _member(lgps_potential, 1), _member(lgps_potential, 2, wall=True),
               _member(lgps_potential, 3, wall=True)]  # the last two share one wall (computed once)
    atoms = amp_images[0]
    results = committee_evaluate(members, atoms)
    assert results[2].core_repulsion_eV > 0  # the wall is in play for the third and fourth members
    assert results[3].core_repulsion_eV == results[2].core_repulsion_eV
    for member, result in zip(members, results, strict=True):
        alone = member.evaluate(atoms, forces=True)
        assert result.energy_eV == pytest.approx(alone.energy_eV, abs=1e-10)
        np.testing.assert_allclose(result.forces_eV_A, alone.forces_eV_A, rtol=0, atol=1e-10)
    assert np.abs(results[0].forces_eV_A - results[1].forces_eV_A).max() > 1e-3  # they do differ


def test_members_on_other_descriptors_are_evaluated_one_by_one(lgps_potential, amp_images):
    other = GaussianDescriptor.from_set("gaussian", list(lgps_potential.elements), 5.0)
    assert other != lgps_potential.descriptor
    assert not shares_descriptor([lgps_potential, replace(lgps_potential, descriptor=other)])
    with pytest.raises(DopwfInputError, match="no networks"):
        committee_evaluate([], amp_images[0])


def test_members_of_different_depths_take_the_three_step_path(lgps_potential, amp_images):
    """No fused pass for networks of different depths: still each member's own energy and forces."""
    rng = np.random.default_rng(5)
    deeper = {el: replace(n, weights=(rng.normal(0, 0.3, (n.weights[0].shape[0], 4)), rng.normal(0, 0.3, (5, 4)),
                                      rng.normal(0, 0.3, (5, 3)), rng.normal(0, 0.3, (4, 1))))
              for el, n in lgps_potential.network.networks.items()}
    members = [lgps_potential, BPNNPotential(lgps_potential.descriptor, AtomicNeuralNetwork(deeper))]
    for member, result in zip(members, committee_evaluate(members, amp_images[0]), strict=True):
        alone = member.evaluate(amp_images[0], forces=True, fused_kernel=False)
        assert result.energy_eV == pytest.approx(alone.energy_eV, abs=1e-10)
        np.testing.assert_allclose(result.forces_eV_A, alone.forces_eV_A, rtol=0, atol=1e-10)
