"""Transport of one composition from its MD runs at several temperatures: the Arrhenius fit, D and sigma at
300 K with 95 % intervals, D along a/b/c, lambda, and the Anderson-Stuart barrier. Pure functions on run records
(``analysis.json`` summaries or diffusivity documents), shared by ``dopwf arrhenius`` and the builders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dopant_workflows.analysis.arrhenius import ArrheniusFit, fit_arrhenius
from dopant_workflows.analysis.conductivity import (
    anderson_stuart_barrier_eV,
    effective_radius_A,
    nernst_einstein_conductivity_mS_cm,
)
from dopant_workflows.analysis.replicas import pool_by_temperature
from dopant_workflows.errors import DopwfInputError

EXTRAPOLATION_TEMPERATURE_K = 300.0  # the paper's Table 2


@dataclass(frozen=True)
class Transport:
    fit: ArrheniusFit
    diffusivity_errors_cm2_s: list[float] | None
    at_K: float
    diffusivity_cm2_s: float
    diffusivity_95_cm2_s: tuple[float, float] | None  # None: the fit has no error (two temperatures, no errors)
    conductivity_mS_cm: float
    conductivity_95_mS_cm: tuple[float, float] | None
    diffusivity_components_cm2_s: dict[str, float | None]  # a, b, c from per-axis fits (None: no motion)
    jump_distance_A: float | None  # lambda: mean Li-Li RDF first peak over the runs
    points: list[dict]  # the fitted D(T) points: one per temperature, its runs pooled (analysis.replicas)
    n_runs: int  # the runs behind the points

    @property
    def ln_conductivity_std(self) -> float:
        """Standard deviation of ln sigma(at_K) (= of ln D there): what the ranking compares."""
        return self.fit.ln_std_at(self.at_K)


def transport_from_runs(runs: Sequence[Mapping], at_K: float = EXTRAPOLATION_TEMPERATURE_K) -> Transport:
    """The Arrhenius transport of one composition from its runs (temperature_K, diffusivity_cm2_s,
    diffusivity_std_cm2_s, diffusivity_components_cm2_s, n_carriers, volume_A3, rdf_first_peak_A); runs at one
    temperature (its arrangements) are pooled into one point first, and Ea's error covers scatter beyond the
    points' errors."""
    cells = {(r["n_carriers"], round(r["volume_A3"], 3)) for r in runs}
    if len(cells) != 1:
        raise DopwfInputError(f"MD runs: they describe different cells (carriers, volume) {sorted(cells)}; "
                              "one Arrhenius fit is for one composition")
    n_runs = len(runs)
    runs = pool_by_temperature(runs)  # several runs at one temperature (arrangements, more runs): one point
    temperatures = [r["temperature_K"] for r in runs]
    if len(temperatures) < 2:
        raise DopwfInputError(f"MD runs at {temperatures} K: an Arrhenius fit needs at least two temperatures")
    diffusivities = [r["diffusivity_cm2_s"] for r in runs]
    errors = [r.get("diffusivity_std_cm2_s") for r in runs]
    errors = errors if all(errors) else None
    fit = fit_arrhenius(temperatures, diffusivities, errors, scale_to_scatter=True)
    at = extrapolated_transport(fit, at_K, runs[0]["n_carriers"], runs[0]["volume_A3"])
    components = {}
    for axis in "abc":
        values = [r["diffusivity_components_cm2_s"][axis] for r in runs]
        components[axis] = fit_arrhenius(temperatures, values).extrapolate(at_K)[0] if min(values) > 0 else None
    peaks = [r["rdf_first_peak_A"] for r in runs if r.get("rdf_first_peak_A")]
    return Transport(fit, errors, at_K, *at, components, float(np.mean(peaks)) if peaks else None, runs, n_runs)


def extrapolated_transport(fit: ArrheniusFit, at_K: float, n_carriers: int, volume_A3: float
                           ) -> tuple[float, tuple[float, float] | None, float, tuple[float, float] | None]:
    """(D, its 95 % interval, sigma, its 95 % interval) at ``at_K`` from an Arrhenius fit (cm^2/s, mS/cm). The
    intervals are None where the fit has no error estimate (two temperatures without errors: no scatter to
    measure), never NaN bounds passed on as numbers."""
    d_at, lo, hi = fit.extrapolate(at_K)
    sigma = nernst_einstein_conductivity_mS_cm(d_at, at_K, n_carriers, volume_A3)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return d_at, None, sigma, None
    bounds = tuple(nernst_einstein_conductivity_mS_cm(x, at_K, n_carriers, volume_A3) for x in (lo, hi))
    return d_at, (lo, hi), sigma, bounds


@dataclass(frozen=True)
class AndersonStuart:
    r_cation_A: float
    r_anion_A: float
    barrier_eV: float | None
    missing_reason: str | None  # why there is no barrier (eps_r, lambda, a cation dopant, no dopant)


def anderson_stuart_from_run(run: Mapping, dopant: str, dopant_oxidation_state: float | None,
                             jump_distance_A: float | None, eps_r: float | None, eps_r_source: str) -> AndersonStuart:
    """The paper's Eq. 4 barrier with Eq. 5's effective radii of Li and of the doping anion in ``run``'s cell
    (composition, volume_A3, n_carriers). The model is the paper's for a doping *anion*; for a cation dopant
    it says so instead of computing a number that means nothing."""
    composition = run["composition"]
    n_total = sum(composition.values())
    r_cation = effective_radius_A(run["volume_A3"], run["n_carriers"], n_total)
    r_anion = effective_radius_A(run["volume_A3"], composition.get(dopant, 0), n_total)
    missing = None
    if dopant_oxidation_state is not None and dopant_oxidation_state >= 0:
        missing = (f"the dopant {dopant} ({dopant_oxidation_state:+g}) is not an anion: the modified Anderson-Stuart "
                   "model (Eqs. 4-5) takes the effective radius of the doping anion")
    elif eps_r is None:
        missing = eps_r_source if eps_r_source.startswith("missing") else f"eps_r missing ({eps_r_source})"
    elif jump_distance_A is None:
        missing = "no Li-Li RDF first peak (lambda) in the MD runs"
    elif r_anion == 0:
        missing = f"no {dopant} in the cell: no anion radius"
    barrier = None if missing else anderson_stuart_barrier_eV(jump_distance_A, r_cation, r_anion, eps_r)
    return AndersonStuart(r_cation, r_anion, barrier, missing)
