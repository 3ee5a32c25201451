"""Arrhenius vs VTF evidence: a straight line favours Arrhenius (Occam), a curved VTF law favours VTF."""

import math

import numpy as np

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.analysis.vtf import NON_ARRHENIUS_LN_BF, compare_models

T = np.array([500.0, 600.0, 700.0, 800.0, 900.0, 1000.0])


def test_an_arrhenius_law_is_not_called_vtf():
    d = 1e-3 * np.exp(-0.25 / (BOLTZMANN_EV_K * T))
    evidence = compare_models(T, d, 0.05 * d)
    assert evidence.ln_bayes_factor < 0 and not evidence.non_arrhenius


def test_a_vtf_law_with_small_errors_is_flagged():
    d = 1e-3 * np.exp(-800.0 / (T - 350.0))  # strongly curved in 1/T
    evidence = compare_models(T, d, 0.02 * d)
    assert evidence.ln_bayes_factor > NON_ARRHENIUS_LN_BF and evidence.non_arrhenius
    assert abs(evidence.vtf_t0_K - 350.0) < 30.0


def test_too_few_points_or_no_errors_give_no_verdict():
    d = 1e-3 * np.exp(-0.25 / (BOLTZMANN_EV_K * T[:3]))
    assert compare_models(T[:3], d, 0.05 * d) is None
    d6 = 1e-3 * np.exp(-0.25 / (BOLTZMANN_EV_K * T))
    assert compare_models(T, d6, np.zeros(6)) is None


def test_the_arrhenius_evidence_matches_a_direct_integral():
    """The grid evidence against brute-force quadrature over (a, b) with the same priors (a: density 1)."""
    t = T[:4]
    d = 1e-3 * np.exp(-0.3 / (BOLTZMANN_EV_K * t)) * np.array([1.05, 0.97, 1.02, 0.99])
    sigma = 0.05
    evidence = compare_models(t, d, sigma * d)
    y, x = np.log(d), 1.0 / t
    b_max = 2.0 / BOLTZMANN_EV_K
    bs = np.linspace(0, b_max, 4001)[1:]
    a_grid = np.linspace(-20, 10, 6001)
    db, da = bs[1] - bs[0], a_grid[1] - a_grid[0]
    total = 0.0
    for b in bs[(bs > 2000) & (bs < 5000)]:  # the likelihood's support: Ea 0.17-0.43 eV
        resid = y[None, :] - (a_grid[:, None] - b * x[None, :])
        like = np.exp(-0.5 * np.sum(resid**2, axis=1) / sigma**2) / (2 * math.pi * sigma**2) ** 2
        total += np.sum(like) * da * db / b_max
    assert math.isclose(evidence.ln_evidence_arrhenius, math.log(total), abs_tol=0.05)
