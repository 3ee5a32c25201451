"""Arrhenius fits D(T) = D0 exp(-Ea / kT), extrapolation with a 95 % interval, and a fit-quality flag."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from dopant_workflows.errors import DopwfInputError

BOLTZMANN_EV_K = 8.617333262e-5


@dataclass(frozen=True)
class ArrheniusFit:
    """ln D = ln D0 - Ea / (k T), fitted by (weighted) least squares in 1/T."""

    activation_energy_eV: float
    activation_energy_std_eV: float
    prefactor_cm2_s: float
    temperatures_K: tuple[float, ...]
    diffusivities_cm2_s: tuple[float, ...]
    covariance: np.ndarray = field(repr=False)  # of (ln D0, -Ea/k)
    degrees_of_freedom: int
    weighted: bool
    chi2_reduced: float | None
    linear: bool  # False: the data are not consistent with one straight line (see warnings)
    warnings: tuple[str, ...]

    def ln_std_at(self, temperature_K: float) -> float:
        """Standard deviation of ln D at ``temperature_K`` from the parameter covariance (the width of the fit's
        Gaussian posterior there; the same for ln sigma, which differs by a constant)."""
        x = np.array([1.0, 1.0 / temperature_K])
        return math.sqrt(float(x @ self.covariance @ x))

    def extrapolate(self, temperature_K: float) -> tuple[float, float, float]:
        """(D, lower, upper) in cm^2/s at ``temperature_K``; 95 % interval from the parameter covariance
        (Student t with the fit's degrees of freedom; normal when the errors were given)."""
        if temperature_K <= 0:
            raise DopwfInputError(f"temperature_K={temperature_K}: expected > 0")
        x = np.array([1.0, 1.0 / temperature_K])
        ln_d = math.log(self.prefactor_cm2_s) - self.activation_energy_eV / (BOLTZMANN_EV_K * temperature_K)
        sigma = math.sqrt(float(x @ self.covariance @ x))
        quantile = stats.norm.ppf(0.975) if self.weighted or self.degrees_of_freedom < 1 else stats.t.ppf(
            0.975, self.degrees_of_freedom)
        return math.exp(ln_d), math.exp(ln_d - quantile * sigma), math.exp(ln_d + quantile * sigma)


def fit_arrhenius(temperatures_K: Sequence[float], diffusivities_cm2_s: Sequence[float],
                  diffusivity_errors_cm2_s: Sequence[float] | None = None,
                  scale_to_scatter: bool = False) -> ArrheniusFit:
    """Fit ln D against 1/T. With errors: weighted by (D / sigma_D)^2, covariance from the weights, and a
    chi^2 test of linearity; ``scale_to_scatter``: when the points scatter more than their errors allow
    (chi^2/dof > 1), the covariance is scaled by chi^2/dof (the Birge ratio squared), so that Ea's error covers
    the scatter the errors missed. Without errors: ordinary least squares, covariance scaled by the residual
    variance."""
    t = np.asarray(temperatures_K, dtype=float)
    d = np.asarray(diffusivities_cm2_s, dtype=float)
    if t.shape != d.shape or t.ndim != 1:
        raise DopwfInputError("fit_arrhenius: temperatures_K and diffusivities_cm2_s must be 1D and equally long")
    if len(np.unique(t)) < 2:
        raise DopwfInputError(f"fit_arrhenius: {len(np.unique(t))} distinct temperature(s); need at least 2")
    if np.any(t <= 0) or not np.all(np.isfinite(t)):
        raise DopwfInputError(f"fit_arrhenius: temperatures must be positive K, got {t.tolist()}")
    if np.all(t < 5):
        raise DopwfInputError(f"fit_arrhenius: temperatures {t.tolist()} are all below 5: are they in K?")
    if np.any(d <= 0) or not np.all(np.isfinite(d)):
        raise DopwfInputError(f"fit_arrhenius: diffusivities must be positive, got {d.tolist()} "
                              "(zero or negative D: no diffusion was resolved at that temperature)")
    design = np.column_stack([np.ones_like(t), 1.0 / t])
    y = np.log(d)
    notes = []
    weighted = diffusivity_errors_cm2_s is not None
    if weighted:
        err = np.asarray(diffusivity_errors_cm2_s, dtype=float)
        if err.shape != d.shape or np.any(err <= 0) or not np.all(np.isfinite(err)):
            raise DopwfInputError("fit_arrhenius: diffusivity_errors_cm2_s must be positive, one per temperature")
        w = (d / err) ** 2  # var(ln D) = (sigma_D / D)^2
    else:
        w = np.ones_like(d)
    normal = design.T @ (design * w[:, None])
    if np.linalg.cond(normal) > 1e14:  # e.g. every temperature but one weighted to nothing by a huge error
        raise DopwfInputError(f"fit_arrhenius: the weights {w.tolist()} leave fewer than two temperatures that count "
                              "(an error far larger than its D); no slope can be fitted")
    params = np.linalg.solve(normal, design.T @ (w * y))
    residuals = y - design @ params
    dof = len(t) - 2
    covariance = np.linalg.inv(normal)
    chi2_reduced = None
    linear = True
    if weighted:
        chi2 = float(np.sum(w * residuals**2))
        if dof > 0:
            chi2_reduced = chi2 / dof
            if scale_to_scatter and chi2_reduced > 1:
                covariance = covariance * chi2_reduced
                notes.append(f"the points scatter beyond their errors (chi2/dof = {chi2_reduced:.2f}): Ea's error "
                             f"is scaled by {math.sqrt(chi2_reduced):.2f} to cover it")
            p_value = float(stats.chi2.sf(chi2, dof))
            if p_value < 0.05:
                linear = False
                notes.append(f"not one straight line: chi2/dof = {chi2_reduced:.2f} (p = {p_value:.3g}); the "
                             "slope may change with temperature (e.g. LGPS near 400 K), extrapolation is doubtful")
    elif dof > 0:
        covariance = covariance * float(np.sum(residuals**2)) / dof
        if len(t) >= 4:
            quadratic = np.column_stack([design, 1.0 / t**2])
            coef, res, *_ = np.linalg.lstsq(quadratic, y, rcond=None)
            rss_quad = float(np.sum((y - quadratic @ coef) ** 2))
            rss_lin = float(np.sum(residuals**2))
            if rss_quad > 0 and dof - 1 > 0:
                f_stat = (rss_lin - rss_quad) / (rss_quad / (dof - 1))
                if stats.f.sf(f_stat, 1, dof - 1) < 0.05:
                    linear = False
                    notes.append("curvature in ln D vs 1/T is significant (F-test p < 0.05): extrapolation is doubtful")
    if dof == 0:
        notes.append("two temperatures: the fit has no degrees of freedom; "
                     "its uncertainty is not estimated from scatter")
        if not weighted:
            covariance = np.full((2, 2), np.nan)
    if t.min() > 500:
        notes.append(f"lowest temperature {t.min():.0f} K: extrapolating far below the data (e.g. to 300 K)")
    return ArrheniusFit(
        activation_energy_eV=float(-params[1] * BOLTZMANN_EV_K),
        activation_energy_std_eV=float(math.sqrt(covariance[1, 1]) * BOLTZMANN_EV_K),
        prefactor_cm2_s=float(math.exp(params[0])),
        temperatures_K=tuple(t.tolist()), diffusivities_cm2_s=tuple(d.tolist()), covariance=covariance,
        degrees_of_freedom=dof, weighted=weighted, chi2_reduced=chi2_reduced, linear=linear, warnings=tuple(notes),
    )
