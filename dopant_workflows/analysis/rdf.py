"""Radial distribution function averaged over a trajectory, and its first peak (the paper's lambda)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from dopant_workflows.ann.neighbors import neighbor_pairs
from dopant_workflows.errors import DopwfInputError

N_BLOCKS = 5  # trajectory blocks for the standard error of g(r)
PEAK_SIGNIFICANCE = 3.0  # a first peak must rise above g = 1 by this many standard errors


@dataclass(frozen=True)
class RDFResult:
    species: tuple[str, str]
    r_A: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    g_stderr: np.ndarray = field(repr=False)  # standard error of g per bin (blocks of frames, Poisson at least)
    first_peak_A: float | None  # None: no maximum rises significantly above g = 1 within r_max


def radial_distribution(frames: Sequence[Atoms], species: tuple[str, str] = ("Li", "Li"), r_max_A: float = 8.0,
                        bin_width_A: float = 0.05) -> RDFResult:
    """g_ab(r) averaged over frames (periodic images included), normalised by the ideal-gas pair density.

    The error of g comes from N_BLOCKS consecutive blocks of frames (MD frames are correlated, so counting
    statistics alone would overstate the precision), never below the Poisson error of the pair counts."""
    if not frames:
        raise DopwfInputError("RDF: no frames")
    symbols = np.array(frames[0].get_chemical_symbols())
    a, b = symbols == species[0], symbols == species[1]
    if not a.any() or not b.any():
        raise DopwfInputError(f"RDF: species {species} not both present (have {sorted(set(symbols))})")
    edges = np.arange(0.0, r_max_A + bin_width_A, bin_width_A)
    n_blocks = min(N_BLOCKS, len(frames))
    block_of_frame = np.arange(len(frames)) * n_blocks // len(frames)
    counts = np.zeros((n_blocks, len(edges) - 1))
    volumes = np.empty(len(frames))
    for i, frame in enumerate(frames):
        pairs = neighbor_pairs(frame, r_max_A)
        keep = a[pairs.centers] & b[pairs.neighbor]
        counts[block_of_frame[i]] += np.histogram(np.linalg.norm(pairs.vectors[keep], axis=1), bins=edges)[0]
        volumes[i] = frame.get_volume()
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    n_b = b.sum() - (1 if species[0] == species[1] else 0)
    frames_per_block = np.bincount(block_of_frame, minlength=n_blocks)
    ideal = a.sum() * n_b / volumes.mean() * shell  # pairs per frame per bin of an ideal gas
    g_blocks = counts / (frames_per_block[:, None] * ideal)
    g = counts.sum(axis=0) / (len(frames) * ideal)
    poisson = np.sqrt(np.maximum(counts.sum(axis=0), 1.0)) / (len(frames) * ideal)
    blocks = g_blocks.std(axis=0, ddof=1) / np.sqrt(n_blocks) if n_blocks > 1 else np.zeros_like(g)
    stderr = np.maximum(blocks, poisson)
    r = 0.5 * (edges[1:] + edges[:-1])
    return RDFResult(species, r, g, stderr, _first_peak(r, g, stderr))


def _first_peak(r: np.ndarray, g: np.ndarray, stderr: np.ndarray) -> float | None:
    """First local maximum of the lightly smoothed g(r) that rises above 1 by PEAK_SIGNIFICANCE standard errors
    (of the smoothed g): noise in a sparsely populated shell is not a coordination shell."""
    kernel = np.exp(-0.5 * (np.arange(-3, 4) / 1.5) ** 2)
    kernel /= kernel.sum()
    smooth = np.convolve(g, kernel, mode="same")
    smooth_err = np.sqrt(np.convolve(stderr**2, kernel**2, mode="same"))
    for i in range(1, len(smooth) - 1):
        if (smooth[i] - 1.0 > PEAK_SIGNIFICANCE * smooth_err[i] and smooth[i] >= smooth[i - 1]
                and smooth[i] > smooth[i + 1]):
            return float(r[i])
    return None
