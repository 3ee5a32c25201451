"""Several MD runs of one composition at one temperature (its arrangements, or more runs of one arrangement),
pooled into one D(T) point with an error that covers both each run's own uncertainty and the scatter between runs;
and the test of whether the arrangements agree within their errors. Pure functions on run records (diffusivity
documents or ``analysis.json`` summaries): temperature_K, diffusivity_cm2_s, diffusivity_std_cm2_s, and for the
arrangement test ``substitution_id`` (one id per arrangement)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: arrangements disagree when their D(T) scatter this improbably under their own errors (chi^2 test)
DISAGREEMENT_P = 0.05


def temperature_key(temperature_K: float) -> float:
    """Runs at temperatures equal to 1 mK are one point (temperatures round-trip through JSON and YAML)."""
    return round(float(temperature_K), 3)


def pool_point(runs: Sequence[Mapping]) -> dict:
    """One D(T) point from the runs at one temperature: the mean of their D (each run weighs the same: an
    arrangement is a sample of where the dopants sit, not a measurement to weight by its precision), with the
    larger of the propagated error sqrt(sum sigma_i^2) / n and the standard error of the scatter s / sqrt(n). A
    single run is its own point."""
    d = np.array([r["diffusivity_cm2_s"] for r in runs], dtype=float)
    n = len(d)
    if n == 1:
        return dict(runs[0])
    errors = [r.get("diffusivity_std_cm2_s") for r in runs]
    propagated = math.sqrt(sum(e**2 for e in errors)) / n if all(errors) else 0.0
    scatter = float(np.std(d, ddof=1)) / math.sqrt(n)
    pooled = {**runs[0], "diffusivity_cm2_s": float(d.mean()), "diffusivity_std_cm2_s": max(propagated, scatter),
              "n_runs": n, "diffusivity_components_cm2_s": {
                  axis: float(np.mean([r["diffusivity_components_cm2_s"][axis] for r in runs])) for axis in "abc"}}
    peaks = [r["rdf_first_peak_A"] for r in runs if r.get("rdf_first_peak_A")]
    pooled["rdf_first_peak_A"] = float(np.mean(peaks)) if peaks else None
    return pooled


def pool_by_temperature(runs: Sequence[Mapping]) -> list[dict]:
    """One pooled point per temperature (:func:`pool_point`), coldest first."""
    by_t: dict[float, list[Mapping]] = {}
    for run in runs:
        by_t.setdefault(temperature_key(run["temperature_K"]), []).append(run)
    return [pool_point(by_t[t]) for t in sorted(by_t)]


@dataclass(frozen=True)
class ArrangementAgreement:
    """chi^2 of the arrangements' ln D about their weighted mean, summed over the temperatures where two or more
    arrangements ran with errors; ``agree`` None when no temperature has two."""

    chi2: float
    degrees_of_freedom: int
    p_value: float | None
    agree: bool | None


def arrangement_agreement(runs: Sequence[Mapping]) -> ArrangementAgreement:
    """Whether the arrangements' D agree within their errors at every temperature (a chi^2 test in ln D, whose
    error is sigma_D / D). Several runs of one arrangement at one temperature are pooled first."""
    return replica_agreement(runs, "substitution_id")


def network_agreement(runs: Sequence[Mapping]) -> ArrangementAgreement:
    """Whether the networks trained on the same data (``network``: their index) give D that agree within the MD's
    errors at every temperature where two or more of them ran: False means the training's spread, not the MD's
    sampling, is what a network's D carries beyond its error bar."""
    return replica_agreement(runs, "network")


def replica_agreement(runs: Sequence[Mapping], key: str) -> ArrangementAgreement:
    """The chi^2 agreement test over the replicas that ``key`` names (``substitution_id``: arrangements;
    ``network``: networks; a missing key is replica 0)."""
    by_t: dict[float, dict[str, list[Mapping]]] = {}
    for run in runs:
        by_t.setdefault(temperature_key(run["temperature_K"]), {}).setdefault(run.get(key) or 0, []).append(run)
    chi2, dof = 0.0, 0
    for arrangements in by_t.values():
        points = [pool_point(r) for r in arrangements.values()]
        points = [p for p in points if p.get("diffusivity_std_cm2_s") and p["diffusivity_cm2_s"] > 0]
        if len(points) < 2:
            continue
        y = np.log([p["diffusivity_cm2_s"] for p in points])
        w = np.array([(p["diffusivity_cm2_s"] / p["diffusivity_std_cm2_s"]) ** 2 for p in points])
        mean = float(np.sum(w * y) / np.sum(w))
        chi2 += float(np.sum(w * (y - mean) ** 2))
        dof += len(points) - 1
    if dof == 0:
        return ArrangementAgreement(0.0, 0, None, None)
    p_value = float(stats.chi2.sf(chi2, dof))
    return ArrangementAgreement(chi2, dof, p_value, p_value >= DISAGREEMENT_P)
