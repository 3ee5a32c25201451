"""Reference MD vs ANN-MD of the same cell: D per temperature (seeds combined), both Arrhenius fits, and the
checks against the thresholds. Pure functions on run records (MDRunDocument dicts)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dopant_workflows.analysis.arrhenius import ArrheniusFit, fit_arrhenius
from dopant_workflows.analysis.transport import EXTRAPOLATION_TEMPERATURE_K
from dopant_workflows.validation.settings import ValidationThresholds


@dataclass(frozen=True)
class CombinedDiffusivity:
    """D at one temperature from n independent runs: the mean, and its standard error."""

    temperature_K: float
    diffusivity_cm2_s: float
    std_cm2_s: float
    per_run_cm2_s: tuple[float, ...]


def combine_runs(runs: Sequence[Mapping]) -> CombinedDiffusivity:
    """Mean D of runs at one temperature. Its standard error is the larger of the seed-to-seed scatter / sqrt(n)
    (n >= 2) and the runs' own (kinisi) errors propagated through the mean: neither alone is trusted with few
    runs, and the larger is the honest one."""
    temperatures = {float(r["temperature_K"]) for r in runs}
    if len(temperatures) != 1:
        raise ValueError(f"combine_runs: runs at several temperatures {sorted(temperatures)}")
    d = np.array([float(r["diffusivity_cm2_s"]) for r in runs])
    own = [r.get("diffusivity_std_cm2_s") for r in runs]
    propagated = math.sqrt(sum(s**2 for s in own)) / len(d) if all(s is not None for s in own) else 0.0
    scatter = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    std = max(propagated, scatter)
    if std == 0.0:
        std = float("nan")  # one run without its own error: no uncertainty is known, and none is invented
    return CombinedDiffusivity(temperatures.pop(), float(d.mean()), std, tuple(d.tolist()))


@dataclass(frozen=True)
class TemperatureComparison:
    temperature_K: float
    reference: CombinedDiffusivity
    ann: CombinedDiffusivity
    ratio: float  # D_ann / D_ref
    z_score: float  # (D_ann - D_ref) / combined sigma
    passed: bool


def compare_temperature(reference: CombinedDiffusivity, ann: CombinedDiffusivity,
                        thresholds: ValidationThresholds) -> TemperatureComparison:
    """Within a factor ``diffusivity_ratio``, or within ``diffusivity_sigmas`` combined standard errors."""
    if reference.diffusivity_cm2_s <= 0 or ann.diffusivity_cm2_s <= 0:
        ratio = float("nan")
    else:
        ratio = ann.diffusivity_cm2_s / reference.diffusivity_cm2_s
    sigma = math.hypot(reference.std_cm2_s, ann.std_cm2_s)
    z = (ann.diffusivity_cm2_s - reference.diffusivity_cm2_s) / sigma if sigma > 0 else float("nan")
    within_factor = math.isfinite(ratio) and 1.0 / thresholds.diffusivity_ratio <= ratio <= thresholds.diffusivity_ratio
    within_sigma = math.isfinite(z) and abs(z) <= thresholds.diffusivity_sigmas
    return TemperatureComparison(reference.temperature_K, reference, ann, ratio, z, within_factor or within_sigma)


@dataclass(frozen=True)
class Check:
    """One criterion: its value, the threshold, and whether it holds (None: could not be evaluated)."""

    name: str
    value: float | None
    threshold: float
    passed: bool | None
    detail: str = ""


@dataclass(frozen=True)
class DiffusivityValidation:
    temperatures: tuple[TemperatureComparison, ...]
    reference_fit: ArrheniusFit | None
    ann_fit: ArrheniusFit | None
    checks: tuple[Check, ...]
    problems: tuple[str, ...] = field(default=())


def fit_points(temperatures_K: Sequence[float], diffusivities_cm2_s: Sequence[float],
               errors_cm2_s: Sequence[float | None]) -> ArrheniusFit | None:
    """Arrhenius fit of the points with positive D, weighted when every one of them has a finite positive error;
    None with fewer than two temperatures left."""
    usable = [(t, d, e) for t, d, e in zip(temperatures_K, diffusivities_cm2_s, errors_cm2_s, strict=True) if d > 0]
    if len({t for t, _, _ in usable}) < 2:
        return None
    t, d, e = (list(column) for column in zip(*usable, strict=True))
    weighted = all(x is not None and math.isfinite(x) and x > 0 for x in e)
    return fit_arrhenius(t, d, e if weighted else None)


def _fit(points: Sequence[CombinedDiffusivity]) -> ArrheniusFit | None:
    return fit_points([p.temperature_K for p in points], [p.diffusivity_cm2_s for p in points],
                      [p.std_cm2_s for p in points])


def _runs_per_temperature(by_t: Mapping[float, tuple[list, list]]) -> int:
    """The fewest runs of either engine at any temperature: what one more run per temperature adds to."""
    return min((min(len(ref), len(ann)) for ref, ann in by_t.values() if ref and ann), default=1)


def _activation_energy_check(reference: ArrheniusFit, ann: ArrheniusFit, thresholds: ValidationThresholds,
                             runs: int) -> Check:
    """|Ea_ann - Ea_ref| within the threshold, and measured precisely enough to say so: with two short runs the
    combined error of the difference is often larger than the threshold, and then neither a small nor a large
    difference means anything. The detail says which case it is and roughly how many runs would settle it."""
    delta = ann.activation_energy_eV - reference.activation_energy_eV
    sigma = math.hypot(reference.activation_energy_std_eV, ann.activation_energy_std_eV)
    within = abs(delta) <= thresholds.activation_energy_eV
    resolved = math.isfinite(sigma) and sigma <= thresholds.activation_energy_sigma_eV
    detail = (f"Ea ref {reference.activation_energy_eV:.3f} ± {reference.activation_energy_std_eV:.3f}, ANN "
              f"{ann.activation_energy_eV:.3f} ± {ann.activation_energy_std_eV:.3f} eV; difference {delta:+.3f} ± "
              f"{sigma:.3f}")
    significant = math.isfinite(sigma) and abs(delta) - 2 * sigma > thresholds.activation_energy_eV
    if significant:
        detail += "; beyond the threshold by more than 2 sigma"
    elif not resolved:
        needed = (f"about {math.ceil(runs * (sigma / thresholds.activation_energy_sigma_eV) ** 2)} runs per "
                  "temperature and engine would (the error falls as 1/sqrt(runs))" if math.isfinite(sigma)
                  else "the fits have no error bars")
        detail += (f"; inconclusive: the error of the difference exceeds {thresholds.activation_energy_sigma_eV:g} "
                   f"eV; {needed}")
    elif not within:
        detail += "; within 2 sigma of the threshold"
    if resolved and not significant:
        detail += (f"; at this precision a network reproducing the reference exactly would fail this check in "
                   f"{100 * exact_network_fail_probability(sigma, thresholds.activation_energy_eV):.0f} % of "
                   "draws (the verdict is statistical: more runs sharpen it)")
    return Check("activation_energy", abs(delta), thresholds.activation_energy_eV, within and resolved, detail)


def exact_network_fail_probability(sigma_eV: float, threshold_eV: float) -> float:
    """P(|measured difference| > threshold) when the true difference is 0 and the measured one is normal with
    standard deviation ``sigma_eV``: how often the Ea check fails a perfect network (2 Phi(-threshold / sigma))."""
    return float(math.erfc(threshold_eV / (sigma_eV * math.sqrt(2.0)))) if sigma_eV > 0 else 0.0


def compare_diffusivities(reference_runs: Sequence[Mapping], ann_runs: Sequence[Mapping],
                          thresholds: ValidationThresholds) -> DiffusivityValidation:
    """Per temperature and for the Arrhenius fits. Temperatures with runs of only one engine are named in
    ``problems`` (a run that blew up leaves its temperature incomplete) and fail the D check."""
    by_t: dict[float, tuple[list, list]] = {}
    for runs, slot in ((reference_runs, 0), (ann_runs, 1)):
        for run in runs:
            by_t.setdefault(float(run["temperature_K"]), ([], []))[slot].append(run)
    problems, comparisons = [], []
    for t in sorted(by_t):
        ref, ann = by_t[t]
        if not ref or not ann:
            problems.append(f"{t:g} K: no {'reference' if not ref else 'ANN'} MD run to compare with")
            continue
        comparisons.append(compare_temperature(combine_runs(ref), combine_runs(ann), thresholds))
    reference_fit = _fit([c.reference for c in comparisons])
    ann_fit = _fit([c.ann for c in comparisons])
    failing = [f"{c.temperature_K:g} K (ratio {c.ratio:.2f}, z {c.z_score:+.1f})" for c in comparisons if not c.passed]
    factors = [math.exp(abs(math.log(c.ratio))) for c in comparisons if math.isfinite(c.ratio)]
    detail = ("outside factor and sigma at " + ", ".join(failing) if failing
              else "every temperature within the factor or the combined sigma")
    d_check = Check("diffusivity", max(factors) if factors else None, thresholds.diffusivity_ratio,
                    bool(comparisons) and not failing and not problems, "largest D ratio, either way; " + detail)
    if reference_fit and ann_fit:
        ea_check = _activation_energy_check(reference_fit, ann_fit, thresholds, _runs_per_temperature(by_t))
    else:
        ea_check = Check("activation_energy", None, thresholds.activation_energy_eV, False,
                         "no Arrhenius fit: fewer than two temperatures with positive D for both engines")
    return DiffusivityValidation(tuple(comparisons), reference_fit, ann_fit, (d_check, ea_check), tuple(problems))


def extrapolated(fit: ArrheniusFit | None,
                 at_K: float = EXTRAPOLATION_TEMPERATURE_K) -> tuple[float, float, float] | None:
    return fit.extrapolate(at_K) if fit is not None else None
