"""Arrhenius or Vogel-Fulcher-Tammann? The Bayesian evidence of each for a composition's D(T) points.

    Arrhenius: ln D = a - b / T                   b = Ea / k
    VTF:       ln D = a - B / (T - T0)            0 <= T0 < 0.9 min(T)

with Gaussian errors of ln D (sigma_D / D). Priors: uniform in b and B over [0, Ea_max / k] (Ea_max = 2 eV), in
T0 over [0, 0.9 min(T)], and in a over the same (wide) range for both models: a enters linearly, so it is
integrated analytically, and its prior's width cancels in the ratio. The evidence is then a 1-D (Arrhenius) or
2-D (VTF) integral, done on a fine grid. ln(Z_VTF / Z_Arrhenius) > ``NON_ARRHENIUS_LN_BF`` (Bayes factor 10,
"strong" on Kass and Raftery's scale) flags the composition as non-Arrhenius: its 300 K extrapolation, which
assumes one straight line, is then doubtful. The VTF model's extra parameter costs it an Occam factor: with four
points on a line, the Arrhenius model wins. kinisi (McCluskey et al. 2025) compares the same two models by
nested sampling; this grid integral is exact for the same Gaussian likelihood and needs no sampler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K

EA_MAX_EV = 2.0
T0_MAX_FRACTION = 0.9
NON_ARRHENIUS_LN_BF = math.log(10.0)
_GRID = 400


@dataclass(frozen=True)
class ModelEvidence:
    ln_evidence_arrhenius: float
    ln_evidence_vtf: float
    vtf_t0_K: float  # the VTF posterior's mode

    @property
    def ln_bayes_factor(self) -> float:
        """ln(Z_VTF / Z_Arrhenius): > 0 favours VTF."""
        return self.ln_evidence_vtf - self.ln_evidence_arrhenius

    @property
    def non_arrhenius(self) -> bool:
        return self.ln_bayes_factor > NON_ARRHENIUS_LN_BF


def _ln_marginal(x: np.ndarray, y: np.ndarray, w: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """ln of the likelihood integrated over the intercept a (flat prior density 1): for each slope s, the points
    y = a - s x with weights w = 1 / var."""
    residual = y[None, :] + slope[:, None] * x[None, :]  # y + s x = a + noise
    sw = w.sum()
    mean = (residual * w).sum(axis=1) / sw
    chi2 = ((residual - mean[:, None]) ** 2 * w).sum(axis=1)
    norm = 0.5 * np.sum(np.log(w / (2 * math.pi)))
    return norm - 0.5 * chi2 + 0.5 * math.log(2 * math.pi / sw)


def compare_models(temperatures_K: Sequence[float], diffusivities_cm2_s: Sequence[float],
                   errors_cm2_s: Sequence[float]) -> ModelEvidence | None:
    """Both evidences (up to the same constant: the intercept prior's width); None with fewer than 4 points (VTF
    has three parameters) or without errors."""
    t = np.asarray(temperatures_K, dtype=float)
    d = np.asarray(diffusivities_cm2_s, dtype=float)
    e = np.asarray(errors_cm2_s, dtype=float)
    if len(t) < 4 or not np.all(e > 0) or not np.all(d > 0):
        return None
    y, w = np.log(d), (d / e) ** 2
    b_max = EA_MAX_EV / BOLTZMANN_EV_K
    slopes = (np.arange(_GRID) + 0.5) * b_max / _GRID  # midpoints: a uniform prior over [0, b_max]
    ln_prior_b = -math.log(_GRID)  # each cell's prior mass
    ln_arrhenius = float(logsumexp(_ln_marginal(1.0 / t, y, w, slopes)) + ln_prior_b)
    t0_grid = (np.arange(_GRID // 4) + 0.5) * T0_MAX_FRACTION * t.min() / (_GRID // 4)
    per_t0 = np.array([logsumexp(_ln_marginal(1.0 / (t - t0), y, w, slopes)) + ln_prior_b for t0 in t0_grid])
    ln_vtf = float(logsumexp(per_t0) - math.log(len(t0_grid)))
    return ModelEvidence(ln_arrhenius, ln_vtf, float(t0_grid[int(np.argmax(per_t0))]))
