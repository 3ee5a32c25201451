"""The ranking of a study's compositions by sigma(300 K), each step with the probability that it is right.

Each composition's Arrhenius fit gives a Gaussian posterior for ln sigma at the extrapolation temperature (mean,
standard deviation from the parameter covariance: the Laplace approximation of the Arrhenius posterior). Sorted
from the best conductor down, ``p_above_next`` = P(ln sigma_i > ln sigma_next) = Phi((mu_i - mu_next) /
sqrt(s_i^2 + s_next^2)), treating the two fits as independent (their runs are; a shared network's systematic error
moves both alike, so independence understates the confidence of a difference, never overstates it). A step
below ``CONFIDENT`` is a tie: tied rows share a rank (1, 1, 3: standard competition ranking)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

#: a step of the ranking is stated as sure at this probability; below it the two rows are a tie
CONFIDENT = 0.95


@dataclass(frozen=True)
class Ranked:
    key: str
    rank: int  # 1 = the best conductor; tied rows share a rank
    p_above_next: float | None  # None: the last row (or no error to compare with)
    tied_with_next: bool | None


def probability_above(mean_a: float, std_a: float, mean_b: float, std_b: float) -> float | None:
    """P(a > b) for independent Gaussians; None when either width is unknown (NaN)."""
    scale = math.hypot(std_a, std_b)
    if not math.isfinite(scale):
        return None
    if scale == 0:
        return 1.0 if mean_a > mean_b else 0.0 if mean_a < mean_b else 0.5
    return float(stats.norm.cdf((mean_a - mean_b) / scale))


def rank_by_conductivity(entries: Sequence[tuple[str, float, float]], confident: float = CONFIDENT) -> list[Ranked]:
    """``entries``: (key, ln sigma mean, ln sigma std) per composition. Best first."""
    order = sorted(entries, key=lambda e: (-e[1], e[0]))
    ranked: list[Ranked] = []
    rank = 1
    for position, (key, mean, std) in enumerate(order):
        if position and ranked[-1].tied_with_next is False:  # surely below the row above: its own rank
            rank = position + 1
        nxt = order[position + 1] if position + 1 < len(order) else None
        p = probability_above(mean, std, nxt[1], nxt[2]) if nxt else None
        # an unknown probability (a fit without an error) is no evidence of an order: a tie
        ranked.append(Ranked(key, rank, p, None if nxt is None else (p is None or p < confident)))
    return ranked
