"""Adaptive production: after a round of MD, does a composition's Ea meet the study's precision target, and if
not, which runs to add (pure: run records in, a decision out).

sigma(Ea) comes from the same pooled, Birge-scaled Arrhenius fit the builders report (``transport_from_runs``).
The runs needed scale as (sigma / target)^2 (sigma ~ 1/sqrt(runs) when the statistics of the MD dominate); a round
adds at most as many runs as the composition already has (the estimate of sigma from a few points is itself
noisy: grow geometrically and measure again), never beyond the budget. Each added run goes where it shrinks the
variance of the Arrhenius slope most, with every point's relative error modelled as s_T^2 n_T / (n_T + k) after
k more runs at T (greedy: optimal for one run at a time); within a temperature, to the arrangement with the fewest
runs (arrangements stay balanced replicas)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dopant_workflows.analysis.replicas import temperature_key
from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class PrecisionDecision:
    status: str  # "precision" (target met), "budget" (not met, nothing more allowed), "more" (runs added)
    activation_energy_std_eV: float | None
    production_ps_used: float
    budget_ps: float
    n_runs: int
    added: list[tuple[str, float]] = field(default_factory=list)  # (substitution_id, temperature_K) per new run
    reason: str = ""


def slope_variance(temperatures_K: Sequence[float], relative_variances: Sequence[float]) -> float:
    """Variance of the weighted least-squares slope of ln D against 1/T with var(ln D_i) = relative_variances."""
    x = 1.0 / np.asarray(temperatures_K, dtype=float)
    w = 1.0 / np.asarray(relative_variances, dtype=float)
    mean = np.sum(w * x) / np.sum(w)
    return float(1.0 / np.sum(w * (x - mean) ** 2))


def allocate_runs(points: Sequence[Mapping], n_new: int) -> list[float]:
    """The temperatures of ``n_new`` more runs, one at a time where the slope's variance drops most. ``points``:
    pooled D(T) points (temperature_K, diffusivity_cm2_s, diffusivity_std_cm2_s, n_runs)."""
    t = [p["temperature_K"] for p in points]
    base = [(p["diffusivity_std_cm2_s"] / p["diffusivity_cm2_s"]) ** 2 for p in points]
    runs = [p.get("n_runs", 1) for p in points]
    added = [0] * len(points)
    chosen = []
    for _ in range(n_new):
        def after(i):
            trial = [base[j] * runs[j] / (runs[j] + added[j] + (j == i)) for j in range(len(points))]
            return slope_variance(t, trial)

        best = min(range(len(points)), key=lambda i: (after(i), -t[i]))
        added[best] += 1
        chosen.append(t[best])
    return chosen


def assign_networks(runs: Sequence[Mapping], added: Sequence[tuple[str, float]], n_networks: int) -> list[int]:
    """The network of each added run (substitution_id, temperature_K): at its temperature, the network with the
    fewest of the composition's runs there, then the fewest overall, then the lowest index; ``runs``: the records
    so far (``network``: their index, 0 when absent). The networks stay balanced replicas, as arrangements do."""
    at_t: dict[tuple[int, float], int] = {}
    overall = [0] * n_networks
    for r in runs:
        k = int(r.get("network") or 0)
        if k < n_networks:
            at_t[(k, temperature_key(r["temperature_K"]))] = at_t.get((k, temperature_key(r["temperature_K"])), 0) + 1
            overall[k] += 1
    chosen = []
    for _, temperature in added:
        tk = temperature_key(temperature)
        k = min(range(n_networks), key=lambda i: (at_t.get((i, tk), 0), overall[i], i))
        at_t[(k, tk)] = at_t.get((k, tk), 0) + 1
        overall[k] += 1
        chosen.append(k)
    return chosen


def plan_production(runs: Sequence[Mapping], target_std_eV: float, budget_ps: float, production_ps_per_run: float,
                    rounds_left: int) -> PrecisionDecision:
    """Whether ``runs`` (one composition's run records: substitution_id, temperature_K, diffusivity_cm2_s,
    diffusivity_std_cm2_s, production_ps, ...) meet ``target_std_eV``, and if not which runs to add within
    ``budget_ps`` of production over all the composition's runs and ``rounds_left`` more rounds."""
    used = float(sum(r.get("production_ps") or production_ps_per_run for r in runs))
    common = {"production_ps_used": used, "budget_ps": budget_ps, "n_runs": len(runs)}
    try:
        transport = transport_from_runs(runs)
    except DopwfInputError as exc:
        return PrecisionDecision("budget", None, **common, reason=f"no Arrhenius fit: {exc}")
    std = transport.fit.activation_energy_std_eV
    if math.isfinite(std) and std <= target_std_eV:
        return PrecisionDecision("precision", std, **common,
                                 reason=f"sigma(Ea) {std:.3f} eV <= target {target_std_eV:g} eV")
    affordable = int((budget_ps - used) / production_ps_per_run + 1e-9)
    if rounds_left <= 0 or affordable < 1:
        why = "no rounds left" if rounds_left <= 0 else f"{budget_ps - used:.3g} ps of budget left, a run takes " \
                                                          f"{production_ps_per_run:g} ps"
        return PrecisionDecision("budget", std, **common, reason=f"sigma(Ea) {std:.3f} eV > target "
                                                                  f"{target_std_eV:g} eV; {why}")
    points = transport.points
    if not all(p.get("diffusivity_std_cm2_s") for p in points) or not math.isfinite(std):
        needed = len(runs)  # no errors to model: double the sampling and look again
        temperatures = [p["temperature_K"] for p in points] * (needed // len(points) + 1)
    else:
        needed = math.ceil(len(runs) * ((std / target_std_eV) ** 2 - 1))
        temperatures = None
    n_new = max(1, min(needed, len(runs), affordable))
    temperatures = temperatures[:n_new] if temperatures is not None else allocate_runs(points, n_new)
    added = []
    counts: dict[tuple[str, float], int] = {}
    for r in runs:
        key = (r["substitution_id"], temperature_key(r["temperature_K"]))
        counts[key] = counts.get(key, 0) + 1
    arrangements = sorted({r["substitution_id"] for r in runs}, key=lambda s: (
        min(r.get("arrangement") or 0 for r in runs if r["substitution_id"] == s), s))
    for temperature in temperatures:
        tk = temperature_key(temperature)
        sub = min(arrangements, key=lambda s: (counts.get((s, tk), 0), arrangements.index(s)))
        counts[(sub, tk)] = counts.get((sub, tk), 0) + 1
        added.append((sub, float(temperature)))
    return PrecisionDecision("more", std, **common, added=added,
                             reason=f"sigma(Ea) {std:.3f} eV > target {target_std_eV:g} eV: {n_new} more run(s)")
