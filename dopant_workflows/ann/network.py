"""Per-element feed-forward networks with AMP 1.0.1's ``NeuralNetwork`` conventions (inference in numpy).

For a centre atom of element a with fingerprint G (length n_a):
    x_k = -1 + 2 (G_k - min_k) / (max_k - min_k)   where max_k - min_k > 1e-8, else x_k = G_k  (AMP's fprange)
    o_1 = f([x, 1] W_1),  o_l = f([o_{l-1}, 1] W_l)  for every layer INCLUDING the output layer
    E_i = slope_a * o_L + intercept_a                                      (eV)
and E = sum_i E_i. f is tanh (the paper), sigmoid or linear. W_l has shape (n_in + 1, n_out): the bias is
the last row, as in AMP's weight arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dopant_workflows.errors import DopwfInputError

ACTIVATIONS = ("tanh", "sigmoid", "linear")
#: AMP leaves a fingerprint unscaled when its training range is narrower than this.
FPRANGE_MIN_WIDTH = 1e-8


@dataclass(frozen=True)
class ElementNetwork:
    """Weights, fingerprint range and output scaling of one element's network."""

    weights: tuple[np.ndarray, ...]  # W_l, shape (n_in + 1, n_out), last layer n_out = 1
    fp_min: np.ndarray  # (n_functions,)
    fp_max: np.ndarray  # (n_functions,)
    slope_eV: float
    intercept_eV: float

    def __post_init__(self) -> None:
        n_in = len(self.fp_min)
        for n, w in enumerate(self.weights):
            if w.ndim != 2 or w.shape[0] != n_in + 1:
                raise DopwfInputError(f"network layer {n + 1}: weight shape {w.shape}, expected ({n_in + 1}, n)")
            n_in = w.shape[1]
        if n_in != 1:
            raise DopwfInputError(f"network: last layer has {n_in} outputs, expected 1 (the atomic energy)")
        arrays = [*self.weights, self.fp_min, self.fp_max, np.array([self.slope_eV, self.intercept_eV])]
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise DopwfInputError("network: weights, fingerprint range or scaling contain NaN or inf")

    @property
    def hidden_layers(self) -> tuple[int, ...]:
        return tuple(w.shape[1] for w in self.weights[:-1])

    def scale(self, fingerprints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scaled inputs, d scaled / d G) for fingerprints (n_atoms, n_functions)."""
        width = self.fp_max - self.fp_min
        scaled = width > FPRANGE_MIN_WIDTH
        factor = np.where(scaled, 2.0 / np.where(scaled, width, 1.0), 1.0)
        shift = np.where(scaled, -1.0 - self.fp_min * factor, 0.0)
        return fingerprints * factor + shift, factor


def _activate(name: str, net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(net), f'(net))."""
    if name == "tanh":
        out = np.tanh(net)
        return out, 1.0 - out * out
    if name == "sigmoid":
        out = 1.0 / (1.0 + np.exp(-net))
        return out, out * (1.0 - out)
    return net, np.ones_like(net)


@dataclass(frozen=True)
class AtomicNeuralNetwork:
    """One :class:`ElementNetwork` per element; energy = sum of atomic energies."""

    networks: Mapping[str, ElementNetwork]
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise DopwfInputError(f"activation {self.activation!r}: expected one of {ACTIVATIONS}")

    @property
    def elements(self) -> tuple[str, ...]:
        return tuple(sorted(self.networks))

    def atomic_energies(self, fingerprints: np.ndarray, symbols: Sequence[str] | np.ndarray,
                        with_gradient: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """(E_i (N,) in eV, dE/dG (N, n_columns) or None); rows of G beyond an element's functions are ignored."""
        symbols = np.asarray(symbols)
        energies = np.zeros(len(symbols))
        gradient = np.zeros_like(fingerprints) if with_gradient else None
        for element, network in self.networks.items():
            rows = np.flatnonzero(symbols == element)
            if rows.size == 0:
                continue
            n_functions = len(network.fp_min)
            x, dx_dG = network.scale(fingerprints[rows, :n_functions])
            layer_inputs, slopes = [], []
            out = x
            for w in network.weights:
                layer_inputs.append(out)
                out, slope = _activate(self.activation, out @ w[:-1] + w[-1])
                slopes.append(slope)
            energies[rows] = network.slope_eV * out[:, 0] + network.intercept_eV
            if with_gradient:
                delta = network.slope_eV * slopes[-1]  # d E_i / d net_L, shape (n, 1)
                for w, slope in zip(network.weights[:0:-1], slopes[-2::-1], strict=True):
                    delta = (delta @ w[:-1].T) * slope
                gradient[rows, :n_functions] = (delta @ network.weights[0][:-1].T) * dx_dG
        return energies, gradient


def check_hidden_layers(hidden_layers: Sequence[int]) -> tuple[int, ...]:
    layers = tuple(int(n) for n in hidden_layers)
    if not layers or any(n <= 0 for n in layers):
        raise DopwfInputError(f"hidden_layers {list(hidden_layers)}: expected one or more positive integers")
    return layers
