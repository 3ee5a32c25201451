"""Force training's hand-written weight gradients equal torch's double backward through an explicit Jacobian."""

import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator

from dopant_workflows.ann.dataset import ReferenceImage, pack_images
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.force_training import energies_and_forces
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.ann.torch_network import TorchNetworks
from dopant_workflows.ann.training import _initial_network, with_stored_jacobian


def _dense_jacobian(descriptor, batch) -> np.ndarray:
    """dG[i, k]/dR[j, x] as a (N K, N 3) matrix, from the per-pair Jacobian and the pair layout."""
    n, k_max = len(batch.species), batch.fingerprints.shape[1]
    compact = descriptor.pair_jacobian(batch.species, batch.first, batch.neighbor, batch.vectors, batch.pair_terms)
    columns = descriptor._tables.pair_columns
    dense = np.zeros((n, k_max, n, 3))
    for p in range(len(batch.neighbor)):
        i, j = batch.centers[p], batch.neighbor[p]
        for s, k in enumerate(columns[batch.species[i], batch.species[j]]):
            if k < 0:
                break
            dense[i, k, j] += compact[p, s]  # vector p = R_j + shift - R_i
            dense[i, k, i] -= compact[p, s]
    return dense.reshape(n * k_max, n * 3)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
def test_weight_gradients_equal_torch_double_backward(amp_images, activation):
    rng = np.random.default_rng(4)
    frames = []
    for _ in range(3):
        atoms = amp_images[3].copy()
        atoms.positions += rng.normal(scale=0.15, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-10.0, forces=rng.normal(size=(len(atoms), 3)))
        frames.append(ReferenceImage(atoms, -10.0, atoms.get_forces()))
    descriptor = GaussianDescriptor.default(["Li", "S"])
    settings = TrainingSettings(activation=activation, hidden_layers=(4, 3), force_coefficient=1.0)
    batch = pack_images(descriptor, frames)
    batch = with_stored_jacobian(descriptor, {"train": batch, "validation": batch}, settings)["train"]
    assert batch.jacobian is not None
    network = _initial_network(descriptor, batch, settings, rng)
    model = TorchNetworks(network, descriptor.elements)
    with torch.no_grad():  # non-zero biases and an output slope, so every term of the gradient is exercised
        for p in model.parameters():
            p.add_(torch.from_numpy(rng.normal(scale=0.3, size=tuple(p.shape))))
    seed_e = torch.from_numpy(rng.normal(size=len(batch.species)))
    seed_f = torch.from_numpy(rng.normal(size=(len(batch.species), 3)))

    energies, forces = energies_and_forces(model, descriptor, batch)
    ((energies * seed_e).sum() + (forces * seed_f).sum()).backward()
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    g = torch.from_numpy(batch.fingerprints).requires_grad_(True)
    atomic = model(g, torch.from_numpy(batch.species))
    (dE_dG,) = torch.autograd.grad(atomic.sum(), g, create_graph=True)
    jacobian = torch.from_numpy(_dense_jacobian(descriptor, batch).astype(np.float64))
    reference_forces = -(jacobian.T @ dE_dG.reshape(-1)).reshape(-1, 3)
    ((atomic * seed_e).sum() + (reference_forces * seed_f).sum()).backward()
    reference = [p.grad.clone() for p in model.parameters()]

    np.testing.assert_allclose(energies.detach().numpy(), atomic.detach().numpy(), rtol=0, atol=1e-12)
    # float32 Jacobian in both: forces agree to single precision of the Jacobian
    np.testing.assert_allclose(forces.detach().numpy(), reference_forces.detach().numpy(), rtol=1e-6, atol=1e-9)
    assert len(ours) == len(reference) == 2 * (3 + 2)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9 * max(1.0, float(b.abs().max())))
        assert float(b.abs().max()) > 0 or activation == "linear"
