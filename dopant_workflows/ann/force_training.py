"""Energies, forces and their weight gradients for force training, by hand instead of torch's double backward.

Force training differentiates forces, which are themselves derivatives: F = -J^T dE/dG (J = dG/dR, the
descriptor Jacobian). Torch builds dE/dG with ``create_graph=True`` and back-propagates through that graph
(a dozen passes over (atoms x functions) arrays, and most of a training step's time once J is stored).
Here the per-element networks' derivatives are written out:

- forward (per element, rows of its atoms): x_0 = G * factor + shift, z_l = a_l W_l + b_l, a_{l+1} = f(z_l),
  E = slope * a_L + intercept; dE/dx_0 by the usual backward sweep; dE/dG = dE/dx_0 * factor; F = -J^T dE/dG.
- backward: the loss reaches the weights through E (seed dL/dE) and through dE/dG (seed v = dL/d(dE/dG) =
  -J u, u = dL/dF, one JVP). v . dE/dG is the derivative of E along v * factor in input space, so a tangent
  runs forward beside the activations (t_0 = v * factor, tz_l = t_l W_l, t_{l+1} = f'(z_l) tz_l) and one
  reverse sweep through both gives every weight's gradient (f'' enters where the tangent meets z_l).

The same numbers as torch's double backward to rounding (tested); what training uses whenever it trains forces.
The matrix products are small (atoms x functions by functions x hidden) and run on one BLAS thread: a threaded
OpenBLAS call leaves its threads spinning against the numba kernels that follow (a training step twice as slow on
2 cores: bench/results/force_training.md).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from dopant_workflows.ann import kernels
from dopant_workflows.ann.atom_centred import AtomCentredDescriptor
from dopant_workflows.ann.dataset import PackedImages


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread():
    return _controller().limit(limits=1, user_api="blas")


def _activation(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f(z), f'(z), f''(z))."""
    if name == "tanh":
        y = np.tanh(z)
        d1 = 1.0 - y * y
        return y, d1, -2.0 * y * d1
    if name == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-z))
        d1 = y * (1.0 - y)
        return y, d1, d1 * (1.0 - 2.0 * y)
    return z, np.ones_like(z), np.zeros_like(z)


class NetworkForces(torch.autograd.Function):
    """(atomic energies (N,), forces (N, 3)) of the networks ``model`` on a packed batch; differentiable with
    respect to ``model``'s parameters (passed flat in ``params``, the order of ``model.parameters()``)."""

    @staticmethod
    def forward(ctx, model, descriptor: AtomCentredDescriptor, batch: PackedImages, *params):
        with _one_blas_thread():
            return NetworkForces._forward(ctx, model, descriptor, batch)

    @staticmethod
    def backward(ctx, grad_energies, grad_forces):
        with _one_blas_thread():
            return NetworkForces._backward(ctx, grad_energies, grad_forces)

    @staticmethod
    def _forward(ctx, model, descriptor: AtomCentredDescriptor, batch: PackedImages):
        energies = np.zeros(len(batch.species))
        dE_dG = np.zeros_like(batch.fingerprints)
        saved = []
        for e, el in enumerate(model.elements):
            rows = np.flatnonzero(batch.species == e)
            if len(rows) == 0:
                saved.append(None)
                continue
            n_in = model.n_inputs[e]
            factor = getattr(model, f"factor_{el}").numpy()
            x = batch.fingerprints[rows, :n_in] * factor + getattr(model, f"shift_{el}").numpy()
            weights = [w.detach().numpy() for w in model.weights[e]]
            slope = float(model.slopes[e].detach())
            inputs, d1s, d2s = [x], [], []
            a = x
            for w in weights:
                a, d1, d2 = _activation(model.activation, a @ w[:-1] + w[-1])
                inputs.append(a)
                d1s.append(d1)
                d2s.append(d2)
            energies[rows] = slope * a[:, 0] + float(model.intercepts[e].detach())
            delta = slope * d1s[-1]  # dE/dz of the last layer
            for layer in range(len(weights) - 1, 0, -1):
                delta = (delta @ weights[layer][:-1].T) * d1s[layer - 1]
            dE_dG[rows, :n_in] = (delta @ weights[0][:-1].T) * factor
            saved.append((rows, factor, weights, slope, inputs, d1s, d2s))
        if batch.jacobian is not None:
            pair_gradient = descriptor.jacobian_vjp(batch.species, batch.first, batch.neighbor, batch.jacobian, dE_dG)
        else:
            pair_gradient = descriptor.pairs_vjp(batch.species, batch.first, batch.neighbor, batch.vectors,
                                                 batch.pair_terms, dE_dG)
        forces = -kernels.scatter_pair_gradient(len(batch.species), batch.first, batch.neighbor, pair_gradient)
        ctx.model, ctx.descriptor, ctx.batch, ctx.saved = model, descriptor, batch, saved
        return torch.from_numpy(energies), torch.from_numpy(forces)

    @staticmethod
    def _backward(ctx, grad_energies, grad_forces):
        model, batch = ctx.model, ctx.batch
        epsilon = grad_energies.detach().numpy() if grad_energies is not None else np.zeros(len(batch.species))
        v = None
        if grad_forces is not None:
            u = grad_forces.detach().numpy()  # jacobian_jvp makes it contiguous; fancy indexing copies anyway
            if batch.jacobian is not None:
                v = -ctx.descriptor.jacobian_jvp(batch.species, batch.first, batch.neighbor, batch.jacobian, u)
            else:
                pair_displacements = np.ascontiguousarray(u[batch.neighbor] - u[batch.centers])
                v = -ctx.descriptor.pairs_jvp(batch.species, batch.first, batch.neighbor, batch.vectors,
                                              batch.pair_terms, pair_displacements)
        weight_grads, slope_grads, intercept_grads = [], [], []
        for e, _ in enumerate(model.elements):
            if ctx.saved[e] is None:
                weight_grads.append([torch.zeros_like(w) for w in model.weights[e]])
                slope_grads.append(torch.zeros_like(model.slopes[e]))
                intercept_grads.append(torch.zeros_like(model.intercepts[e]))
                continue
            rows, factor, weights, slope, inputs, d1s, d2s = ctx.saved[e]
            eps = epsilon[rows][:, None]
            # tangent of each layer's input along v * factor (zero when no force term reaches here)
            tangents = [v[rows, : len(factor)] * factor if v is not None else np.zeros_like(inputs[0])]
            tz = []
            for layer, w in enumerate(weights):
                tz.append(tangents[-1] @ w[:-1])
                tangents.append(d1s[layer] * tz[-1])
            y, t_out = inputs[-1], tangents[-1]
            slope_grads.append(torch.tensor(float((eps * y).sum() + t_out.sum()), dtype=torch.float64))
            intercept_grads.append(torch.tensor(float(eps.sum()), dtype=torch.float64))
            a_bar = eps * slope  # adjoint of the primal output a_L
            t_bar = np.full_like(t_out, slope)  # adjoint of the tangent output t_L
            grads = [None] * len(weights)
            for layer in range(len(weights) - 1, -1, -1):
                w = weights[layer]
                z_bar = a_bar * d1s[layer] + t_bar * tz[layer] * d2s[layer]
                tz_bar = t_bar * d1s[layer]
                grad = np.empty_like(w)
                grad[:-1] = inputs[layer].T @ z_bar + tangents[layer].T @ tz_bar
                grad[-1] = z_bar.sum(axis=0)
                grads[layer] = torch.from_numpy(grad)
                if layer > 0:
                    a_bar = z_bar @ w[:-1].T
                    t_bar = tz_bar @ w[:-1].T
            weight_grads.append(grads)
        ordered = _in_parameter_order(model, weight_grads, slope_grads, intercept_grads)
        return (None, None, None, *ordered)


def _in_parameter_order(model, weight_grads, slope_grads, intercept_grads) -> list[torch.Tensor]:
    """Gradients in the order of ``model.parameters()`` (matched by identity, whatever the module's layout)."""
    by_id = {}
    for e in range(len(model.elements)):
        for w, g in zip(model.weights[e], weight_grads[e], strict=True):
            by_id[id(w)] = g
        by_id[id(model.slopes[e])] = slope_grads[e]
        by_id[id(model.intercepts[e])] = intercept_grads[e]
    return [by_id[id(p)] for p in model.parameters()]


def energies_and_forces(model, descriptor: AtomCentredDescriptor,
                        batch: PackedImages) -> tuple[torch.Tensor, torch.Tensor]:
    """Atomic energies (N,) and forces (N, 3) of ``model`` on ``batch``, differentiable in its parameters."""
    return NetworkForces.apply(model, descriptor, batch, *model.parameters())
