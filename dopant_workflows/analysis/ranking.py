"""The ranking of a study's compositions by sigma(300 K), each step with the probability that it is right.

Each composition's Arrhenius fit gives a Gaussian posterior for ln sigma at the extrapolation temperature (mean,
standard deviation from the parameter covariance: the Laplace approximation of the Arrhenius posterior). Sorted
from the best conductor down, ``p_above_next`` = P(ln sigma_i > ln sigma_next) = Phi((mu_i - mu_next) /
sqrt(s_i^2 + s_next^2)), treating the two fits as independent (their runs are; a shared network's systematic error
moves both alike, so independence understates the confidence of a difference, never overstates it). A step
below ``CONFIDENT`` is a tie: tied rows share a rank (1, 1, 3: standard competition ranking).

Adjacent steps alone can hide what is sure: a chain of ties (each step ~0.6) may join a first and a last row whose
order is certain. ``p_best`` answers the user's question directly: the probability that this composition is the
study's best conductor, P(ln sigma_i > ln sigma_j for every j), by quadrature over the same independent Gaussians."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

#: a step of the ranking is stated as sure at this probability; below it the two rows are a tie
CONFIDENT = 0.95


@dataclass(frozen=True)
class Ranked:
    key: str
    rank: int  # 1 = the best conductor; tied rows share a rank
    p_above_next: float | None  # None: the last row (or no error to compare with)
    tied_with_next: bool | None
    p_best: float | None = None  # P(this row is the best conductor); None: some row has no error to compare with


def probabilities_best(means: Sequence[float], stds: Sequence[float]) -> list[float] | None:
    """P(X_i is the largest) for independent X_i ~ N(mean_i, std_i^2): the integral of pdf_i times the other CDFs
    (adaptive quadrature, to ~1e-9). A zero width is a point mass. None when a width or mean is unknown (NaN): no
    probability can be stated."""
    mu, sd = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if not np.all(np.isfinite(sd)) or not np.all(np.isfinite(mu)):
        return None

    def below(j: int, x: float) -> float:  # P(X_j < x); a point mass at x counts half (an exact tie)
        if sd[j] > 0:
            return 0.5 * math.erfc((mu[j] - x) / (sd[j] * math.sqrt(2.0)))  # math: scipy per scalar is 100x slower
        return 1.0 if x > mu[j] else 0.5 if x == mu[j] else 0.0

    out = []
    for i in range(len(mu)):
        others = [j for j in range(len(mu)) if j != i]
        if sd[i] == 0:
            out.append(float(np.prod([below(j, mu[i]) for j in others])))
            continue
        # the integrand vanishes below any other point mass: integrate from there, where it is smooth
        low = max([mu[i] - 10 * sd[i], *(mu[j] for j in others if sd[j] == 0)])
        high = mu[i] + 10 * sd[i]
        if low >= high:
            out.append(0.0)
            continue
        smooth = [j for j in others if sd[j] > 0]
        kinks = [m for m in mu[smooth] if low < m < high]  # where another CDF turns: quadrature break points

        def integrand(x: float, i=i, smooth=smooth) -> float:
            density = math.exp(-0.5 * ((x - mu[i]) / sd[i]) ** 2) / (sd[i] * math.sqrt(2.0 * math.pi))
            return density * math.prod(below(j, x) for j in smooth)

        value, _ = integrate.quad(integrand, low, high, points=kinks or None, limit=200, epsabs=1e-11)
        out.append(float(value))
    return out


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
    best = probabilities_best([e[1] for e in order], [e[2] for e in order]) or [None] * len(order)
    ranked: list[Ranked] = []
    rank = 1
    for position, (key, mean, std) in enumerate(order):
        if position and ranked[-1].tied_with_next is False:  # surely below the row above: its own rank
            rank = position + 1
        nxt = order[position + 1] if position + 1 < len(order) else None
        p = probability_above(mean, std, nxt[1], nxt[2]) if nxt else None
        # an unknown probability (a fit without an error) is no evidence of an order: a tie
        ranked.append(Ranked(key, rank, p, None if nxt is None else (p is None or p < confident), best[position]))
    return ranked
