"""Arrangements pooled per temperature, their agreement test, the Birge-scaled Arrhenius error, and the ranking's
probabilities: analytic cases."""

import math

import numpy as np
import pytest
from scipy import stats

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K, fit_arrhenius
from dopant_workflows.analysis.ranking import CONFIDENT, probabilities_best, probability_above, rank_by_conductivity
from dopant_workflows.analysis.replicas import arrangement_agreement, pool_by_temperature, pool_point
from dopant_workflows.analysis.transport import transport_from_runs


def _run(sub, t, d, err):
    return {"substitution_id": sub, "temperature_K": t, "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": err,
            "diffusivity_components_cm2_s": {"a": d, "b": d, "c": d}, "rdf_first_peak_A": 3.3, "n_carriers": 60,
            "volume_A3": 2857.0}


def test_a_pooled_point_takes_the_mean_and_the_larger_of_propagated_error_and_scatter():
    close = pool_point([_run("a", 600, 1.0e-6, 0.2e-6), _run("b", 600, 1.1e-6, 0.2e-6)])
    assert close["diffusivity_cm2_s"] == pytest.approx(1.05e-6)
    assert close["diffusivity_std_cm2_s"] == pytest.approx(math.sqrt(2) * 0.2e-6 / 2)  # errors dominate
    assert close["n_runs"] == 2
    apart = pool_point([_run("a", 600, 1.0e-6, 0.01e-6), _run("b", 600, 2.0e-6, 0.01e-6)])
    assert apart["diffusivity_std_cm2_s"] == pytest.approx(np.std([1.0, 2.0], ddof=1) * 1e-6 / math.sqrt(2))
    single = _run("a", 600, 1.0e-6, 0.1e-6)
    assert pool_point([single]) == single
    points = pool_by_temperature([_run("a", 700, 2e-6, 1e-7), _run("a", 600.0004, 1e-6, 1e-7),
                                  _run("b", 600, 1e-6, 1e-7)])
    assert [p["temperature_K"] for p in points] == [600.0004, 700]  # equal to 1 mK: one point, coldest first
    assert [p.get("n_runs", 1) for p in points] == [2, 1]


def test_arrangements_agree_within_their_errors_and_disagree_beyond_them():
    temperatures = [600.0, 700.0, 800.0, 900.0]
    same = [_run(sub, t, 1e-5 * (1 + 0.02 * k), 0.1e-5) for k, sub in enumerate("ab") for t in temperatures]
    agreement = arrangement_agreement(same)
    assert agreement.agree is True and agreement.degrees_of_freedom == 4
    apart = [_run(sub, t, 1e-5 * (1 + k), 0.05e-5) for k, sub in enumerate("ab") for t in temperatures]
    verdict = arrangement_agreement(apart)
    # ln 2 apart with 5 % and 2.5 % errors at each of 4 temperatures: chi2 ~ 600 on 4 dof
    assert verdict.agree is False and verdict.p_value < 1e-6
    assert arrangement_agreement([_run("a", t, 1e-5, 1e-6) for t in temperatures]).agree is None


def test_scatter_beyond_the_errors_widens_ea_by_the_birge_ratio():
    t = np.array([600.0, 700.0, 800.0, 900.0])
    d = 1e-3 * np.exp(-0.2 / (BOLTZMANN_EV_K * t)) * np.array([1.0, 1.3, 0.8, 1.1])
    err = 0.02 * d
    plain = fit_arrhenius(t, d, err)
    scaled = fit_arrhenius(t, d, err, scale_to_scatter=True)
    assert plain.chi2_reduced > 1
    assert scaled.activation_energy_std_eV == pytest.approx(plain.activation_energy_std_eV
                                                            * math.sqrt(plain.chi2_reduced))
    assert scaled.activation_energy_eV == plain.activation_energy_eV
    assert any("scaled by" in w for w in scaled.warnings)
    wide = 0.5 * d  # errors larger than the scatter: chi2/dof < 1, and the error is never narrowed
    assert fit_arrhenius(t, d, wide).chi2_reduced < 1
    assert fit_arrhenius(t, d, wide, scale_to_scatter=True).activation_energy_std_eV == pytest.approx(
        fit_arrhenius(t, d, wide).activation_energy_std_eV)


def test_transport_pools_arrangements_before_fitting():
    temperatures = [600.0, 700.0, 800.0]
    runs = [_run(sub, t, 1e-3 * math.exp(-0.25 / (BOLTZMANN_EV_K * t)) * f, 1e-8)
            for sub, f in (("a", 1.0), ("b", 1.0)) for t in temperatures]
    transport = transport_from_runs(runs)
    assert transport.n_runs == 6 and len(transport.points) == 3
    assert transport.fit.activation_energy_eV == pytest.approx(0.25, rel=1e-9)
    assert transport.ln_conductivity_std == pytest.approx(transport.fit.ln_std_at(300.0))


def test_probability_above_is_the_normal_cdf_of_the_standardised_difference():
    assert probability_above(1.0, 0.3, 0.0, 0.4) == pytest.approx(stats.norm.cdf(1.0 / 0.5))
    assert probability_above(0.0, 0.0, 0.0, 0.0) == 0.5
    assert probability_above(1.0, float("nan"), 0.0, 0.1) is None


def test_rows_not_resolved_from_the_next_share_its_rank():
    ranked = rank_by_conductivity([("low", -2.0, 0.1), ("top", 1.0, 0.1), ("near", 0.9, 0.1), ("no error", -5.0,
                                                                                               float("nan"))])
    assert [r.key for r in ranked] == ["top", "near", "low", "no error"]
    assert [r.rank for r in ranked] == [1, 1, 3, 3]
    assert ranked[0].tied_with_next and ranked[0].p_above_next == pytest.approx(stats.norm.cdf(0.1 / math.hypot(
        0.1, 0.1)))
    assert ranked[1].tied_with_next is False and ranked[1].p_above_next > CONFIDENT
    assert ranked[2].p_above_next is None and ranked[2].tied_with_next  # no error below: no evidence of an order
    assert ranked[3].tied_with_next is None and ranked[3].p_above_next is None  # the last row


def test_probability_best_is_exact_on_analytic_cases_and_matches_sampling():
    # two: P(a > b) = Phi(delta / sqrt(s_a^2 + s_b^2)); equal ones: 1/n; a point mass below a Gaussian: Phi
    assert probabilities_best([0.0, 1.0], [1.0, 1.0]) == pytest.approx(
        [stats.norm.cdf(-1 / math.sqrt(2)), stats.norm.cdf(1 / math.sqrt(2))], abs=1e-9)
    assert probabilities_best([0.3] * 3, [0.2] * 3) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert probabilities_best([0.0, 1.0], [0.0, 1.0]) == pytest.approx([stats.norm.cdf(-1), stats.norm.cdf(1)],
                                                                       abs=1e-9)
    assert probabilities_best([1.0, 1.0], [0.0, 0.0]) == [0.5, 0.5]
    assert probabilities_best([0.0, 1.0], [0.1, float("nan")]) is None
    rng = np.random.default_rng(5)
    means, stds = rng.normal(size=7), rng.uniform(0.05, 0.6, size=7)
    exact = probabilities_best(means, stds)
    assert sum(exact) == pytest.approx(1.0, abs=1e-8)
    sampled = np.bincount(rng.normal(means, stds, size=(400_000, 7)).argmax(axis=1), minlength=7) / 400_000
    assert np.abs(sampled - exact).max() < 4e-3  # 5 sampling standard errors at p ~ 0.5


def test_a_chain_of_ties_can_hold_a_sure_best():
    """Each step 0.3 in ln sigma with widths 0.25: every adjacent step is a tie (P ~ 0.80), all share rank 1, yet the
    first row beats the last surely (P ~ 0.996): p_best says where the best is."""
    ranked = rank_by_conductivity([(f"c{k}", -0.3 * k, 0.25) for k in range(5)])
    assert [r.rank for r in ranked] == [1] * 5 and all(r.tied_with_next for r in ranked[:-1])
    assert probability_above(0.0, 0.25, -1.2, 0.25) > 0.99
    p_best = [r.p_best for r in ranked]
    assert p_best == sorted(p_best, reverse=True) and sum(p_best) == pytest.approx(1.0, abs=1e-8)
    assert p_best[0] > 0.5 and p_best[-1] < 0.01


def test_a_fit_whose_weights_leave_one_temperature_is_refused_by_name():
    from dopant_workflows.errors import DopwfInputError

    with pytest.raises(DopwfInputError, match="fewer than two temperatures that count"):
        fit_arrhenius([600.0, 900.0], [1e-5, 1e-4], [1e38, 1e-5])


def test_networks_agree_within_the_md_errors_and_disagree_beyond_them():
    from dopant_workflows.analysis.replicas import network_agreement

    def runs(offset):
        return [{"temperature_K": t, "network": k, "substitution_id": "a", "diffusivity_cm2_s": d * (1 + offset * k),
                 "diffusivity_std_cm2_s": 0.05 * d} for t, d in ((600.0, 1e-6), (800.0, 4e-6)) for k in (0, 1)]

    assert network_agreement(runs(0.02)).agree is True
    disagree = network_agreement(runs(0.5))
    assert disagree.agree is False and disagree.degrees_of_freedom == 2
    assert network_agreement([r for r in runs(0.5) if r["network"] == 0]).agree is None  # one network: no test
