"""Benchmark: one force-training loss + gradient on the demo's kind of data, written-out gradients vs torch's.

    .venv/bin/python bench/force_training.py [--images 300] [--repeats 5]

Images: the 150-atom LSiPS supercell (3x1x1 of Li20Si3P3S23Cl) rattled by 0.1 A, random labels (the work per
step does not depend on them), the demo's descriptor (`gaussian-radial8`, 100 functions) and a (5, 5) tanh
network, the Jacobian stored. Timed in the same run, best of ``--repeats``:

- torch: what training did before ``ann.force_training``: dE/dG by ``torch.autograd.grad(create_graph=True)``,
  forces by the stored-Jacobian kernels in a torch Function, the loss's weight gradient by torch's double
  backward;
- written out: ``ann.force_training.NetworkForces`` (what training uses), one BLAS thread.

Both give the same loss and gradients (to rounding; printed). One process at a time: 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from ase.calculators.singlepoint import SinglePointCalculator
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.ann import kernels, training
from dopant_workflows.ann.dataset import ReferenceImage, pack_images
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.ann.torch_network import TorchNetworks
from dopant_workflows.structures.hosts import lsips_host


class _TorchDescriptorForces(torch.autograd.Function):
    """F = -J^T dE/dG with the stored Jacobian; backward -J u (the pre-force_training path)."""

    @staticmethod
    def forward(ctx, dE_dG, descriptor, batch):
        ctx.descriptor, ctx.batch = descriptor, batch
        pair_gradient = descriptor.jacobian_vjp(batch.species, batch.first, batch.neighbor, batch.jacobian,
                                                np.ascontiguousarray(dE_dG.detach().numpy()))
        return torch.from_numpy(-kernels.scatter_pair_gradient(len(batch.species), batch.first, batch.neighbor,
                                                                pair_gradient))

    @staticmethod
    def backward(ctx, grad_forces):
        batch = ctx.batch
        jvp = ctx.descriptor.jacobian_jvp(batch.species, batch.first, batch.neighbor, batch.jacobian,
                                          grad_forces.detach().numpy())
        return torch.from_numpy(-jvp), None, None


def torch_loss(model, descriptor, batch, settings):
    g = torch.from_numpy(batch.fingerprints).requires_grad_(True)
    atomic = model(g, torch.from_numpy(batch.species))
    (dE_dG,) = torch.autograd.grad(atomic.sum(), g, create_graph=True)
    forces = _TorchDescriptorForces.apply(dE_dG, descriptor, batch)
    energies = torch.zeros(batch.n_images, dtype=torch.float64).index_add(0, torch.from_numpy(batch.image_of_atom),
                                                                          atomic)
    n = torch.from_numpy(batch.n_atoms_per_image.astype(float))
    loss = (((energies - torch.from_numpy(batch.energies_eV)) / n) ** 2).mean()
    squared = ((forces - torch.from_numpy(batch.forces_eV_A)) ** 2).sum(dim=1)
    per_image = torch.zeros(batch.n_images, dtype=torch.float64).index_add(
        0, torch.from_numpy(batch.image_of_atom), squared) / (3.0 * n)
    return loss + settings.force_coefficient * per_image.mean()


def timed(fn, model, repeats):
    times, loss = [], None
    for _ in range(repeats + 1):  # the first call compiles
        model.zero_grad()
        t0 = time.perf_counter()
        loss = fn()
        loss.backward()
        times.append(time.perf_counter() - t0)
    return min(times[1:]), float(loss.detach()), [p.grad.clone() for p in model.parameters()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    base = AseAtomsAdaptor.get_atoms(lsips_host()).repeat((3, 1, 1))
    rng = np.random.default_rng(0)
    images = []
    for _ in range(args.images):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-600.0 + rng.normal(), forces=rng.normal(size=(len(atoms), 3)))
        images.append(ReferenceImage(atoms, atoms.get_potential_energy(), atoms.get_forces()))
    descriptor = GaussianDescriptor.from_set("gaussian-radial8", sorted(set(base.get_chemical_symbols())), 6.5)
    settings = TrainingSettings(descriptor="gaussian-radial8", force_coefficient=1.0)
    packed = pack_images(descriptor, images)
    batch = training.with_stored_jacobian(descriptor, {"train": packed}, settings, names=("train",))["train"]
    model = TorchNetworks(training._initial_network(descriptor, batch, settings, np.random.default_rng(0)),
                          descriptor.elements)
    old_s, old_loss, old_grads = timed(lambda: torch_loss(model, descriptor, batch, settings), model, args.repeats)
    new_s, new_loss, new_grads = timed(lambda: training._training_loss(model, descriptor, batch, settings), model,
                                       args.repeats)
    worst = max(float((a - b).abs().max() / max(float(b.abs().max()), 1e-300))
                for a, b in zip(new_grads, old_grads, strict=True))
    print(f"{args.images} images of {len(base)} atoms ({len(batch.species)} atoms, {len(batch.neighbor)} pairs), "
          f"stored Jacobian {batch.jacobian.nbytes / 1e9:.2f} GB")
    print(f"loss + gradient: torch double backward {old_s:.3f} s, written out {new_s:.3f} s -> {old_s / new_s:.2f}x; "
          f"losses {old_loss:.12g} / {new_loss:.12g}; largest relative gradient difference {worst:.1e}")


if __name__ == "__main__":
    main()
