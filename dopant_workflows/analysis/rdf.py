"""Radial distribution function averaged over a trajectory, and its first peak (the paper's lambda)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from dopant_workflows.ann.neighbors import neighbor_pairs
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class RDFResult:
    species: tuple[str, str]
    r_A: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    first_peak_A: float | None  # None: no peak above g = 1 within r_max


def radial_distribution(frames: Sequence[Atoms], species: tuple[str, str] = ("Li", "Li"), r_max_A: float = 8.0,
                        bin_width_A: float = 0.05) -> RDFResult:
    """g_ab(r) averaged over frames (periodic images included), normalised by the ideal-gas pair density."""
    if not frames:
        raise DopwfInputError("RDF: no frames")
    symbols = np.array(frames[0].get_chemical_symbols())
    a, b = symbols == species[0], symbols == species[1]
    if not a.any() or not b.any():
        raise DopwfInputError(f"RDF: species {species} not both present (have {sorted(set(symbols))})")
    edges = np.arange(0.0, r_max_A + bin_width_A, bin_width_A)
    counts = np.zeros(len(edges) - 1)
    volume = 0.0
    for frame in frames:
        pairs = neighbor_pairs(frame, r_max_A)
        keep = a[pairs.centers] & b[pairs.neighbor]
        counts += np.histogram(np.linalg.norm(pairs.vectors[keep], axis=1), bins=edges)[0]
        volume += frame.get_volume()
    volume /= len(frames)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    n_b = b.sum() - (1 if species[0] == species[1] else 0)
    g = counts / (len(frames) * a.sum() * n_b / volume * shell)
    r = 0.5 * (edges[1:] + edges[:-1])
    return RDFResult(species, r, g, _first_peak(r, g))


def _first_peak(r: np.ndarray, g: np.ndarray) -> float | None:
    """First local maximum of the lightly smoothed g(r) that rises above 1."""
    kernel = np.exp(-0.5 * (np.arange(-3, 4) / 1.5) ** 2)
    smooth = np.convolve(g, kernel / kernel.sum(), mode="same")
    for i in range(1, len(smooth) - 1):
        if smooth[i] > 1.0 and smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1]:
            return float(r[i])
    return None
