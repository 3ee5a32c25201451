"""The per-element networks as a torch module (training, and the GPU backend): same conventions as
:class:`dopant_workflows.ann.network.AtomicNeuralNetwork`, float64."""

from __future__ import annotations

import numpy as np
import torch

from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork


class TorchNetworks(torch.nn.Module):
    """Trainable copy of :class:`AtomicNeuralNetwork` (same conventions), float64."""

    def __init__(self, network: AtomicNeuralNetwork, elements: tuple[str, ...]):
        super().__init__()
        self.elements = elements
        self.activation = network.activation
        self.weights = torch.nn.ModuleList()
        self.slopes = torch.nn.ParameterList()
        self.intercepts = torch.nn.ParameterList()
        self.n_inputs = []
        for el in elements:
            net = network.networks[el]
            self.weights.append(torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(w)) for w in net.weights]))
            self.slopes.append(torch.nn.Parameter(torch.tensor(net.slope_eV, dtype=torch.float64)))
            self.intercepts.append(torch.nn.Parameter(torch.tensor(net.intercept_eV, dtype=torch.float64)))
            shift, factor = net.scale(np.zeros((1, len(net.fp_min))))  # x = G * factor + shift
            self.register_buffer(f"factor_{el}", torch.tensor(factor))
            self.register_buffer(f"shift_{el}", torch.tensor(shift[0]))
            self.n_inputs.append(len(net.fp_min))
        self._fp = {el: (network.networks[el].fp_min, network.networks[el].fp_max) for el in elements}

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation == "tanh":
            return torch.tanh(x)
        if self.activation == "sigmoid":
            return torch.sigmoid(x)
        return x

    def forward(self, fingerprints: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        energies = torch.zeros(len(species), dtype=torch.float64, device=fingerprints.device)
        for e, el in enumerate(self.elements):
            rows = torch.nonzero(species == e).flatten()
            if len(rows) == 0:
                continue
            out = fingerprints[rows, : self.n_inputs[e]] * getattr(self, f"factor_{el}") + getattr(self, f"shift_{el}")
            for w in self.weights[e]:
                out = self._act(out @ w[:-1] + w[-1])
            energies = energies.index_put((rows,), self.slopes[e] * out[:, 0] + self.intercepts[e])
        return energies

    def to_network(self) -> AtomicNeuralNetwork:
        networks = {}
        for e, el in enumerate(self.elements):
            fp_min, fp_max = self._fp[el]
            networks[el] = ElementNetwork(tuple(w.detach().numpy().copy() for w in self.weights[e]), fp_min, fp_max,
                                          float(self.slopes[e].detach()), float(self.intercepts[e].detach()))
        return AtomicNeuralNetwork(networks, self.activation)
