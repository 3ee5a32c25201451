"""DP-GEN's model deviation: how much a committee disagrees on the forces of one frame, and which frames to label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def max_force_deviation(forces: np.ndarray) -> float:
    """max over atoms of sqrt(<|F_k,i - <F_i>|^2>_k) for committee forces of shape (K, N, 3) in eV/A
    (DP-GEN's ``max_devi_f``)."""
    forces = np.asarray(forces, dtype=float)
    if forces.ndim != 3 or forces.shape[2] != 3 or forces.shape[0] < 2:
        raise ValueError(f"committee forces: expected shape (K >= 2, atoms, 3), got {forces.shape}")
    spread = forces - forces.mean(axis=0)
    return float(np.sqrt((spread**2).sum(axis=2).mean(axis=0)).max())


def evenly_spaced(n_total: int, n_wanted: int) -> list[int]:
    """``n_wanted`` indices spread over ``range(n_total)``, both ends included (all of them when there are fewer):
    neighbouring MD frames are alike, so an even spread covers the most ground."""
    if n_total <= n_wanted:
        return list(range(n_total))
    return sorted({int(round(x)) for x in np.linspace(0, n_total - 1, n_wanted)})


@dataclass(frozen=True)
class Selection:
    accurate: np.ndarray  # indices with deviation < lo
    candidates: np.ndarray  # lo <= deviation < hi
    failed: np.ndarray  # deviation >= hi
    chosen: np.ndarray  # the candidates that will be labelled (at most max_labels, evenly spread)

    @property
    def n_explored(self) -> int:
        return len(self.accurate) + len(self.candidates) + len(self.failed)

    @property
    def fraction_above_lo(self) -> float:
        return (len(self.candidates) + len(self.failed)) / self.n_explored if self.n_explored else 0.0


def select_frames(deviations: np.ndarray, lo: float, hi: float, max_labels: int) -> Selection:
    """Split frames by the trust levels; choose at most ``max_labels`` candidates spread evenly over them (in
    exploration order: neighbours in time are alike, so an even spread covers the most ground)."""
    d = np.asarray(deviations, dtype=float)
    accurate = np.flatnonzero(d < lo)
    candidates = np.flatnonzero((d >= lo) & (d < hi))
    failed = np.flatnonzero(~(d < hi))  # NaN counts as failed
    return Selection(accurate, candidates, failed,
                     candidates[np.asarray(evenly_spaced(len(candidates), max_labels), dtype=int)])
