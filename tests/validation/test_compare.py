"""The comparison behind every validation document: analytic cases, and the bad input the study file refuses."""

import math

import pytest
from pydantic import ValidationError
from scipy import stats

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.validation.compare import (
    combine_runs,
    compare_diffusivities,
    compare_temperature,
    exact_network_fail_probability,
)
from dopant_workflows.validation.settings import ValidationSettings, ValidationThresholds

THRESHOLDS = ValidationThresholds()


def _run(t, d, std=None, **extra):
    return {"temperature_K": t, "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": std, "n_carriers": 20,
            "volume_A3": 1000.0, **extra}


def _arrhenius(ea_eV, t, d0=1e-2):
    return d0 * math.exp(-ea_eV / (BOLTZMANN_EV_K * t))


def test_combined_error_is_the_larger_of_scatter_and_propagated_errors():
    scattered = combine_runs([_run(600, 1e-5, 1e-7), _run(600, 3e-5, 1e-7)])
    assert scattered.diffusivity_cm2_s == pytest.approx(2e-5)
    assert scattered.std_cm2_s == pytest.approx(math.sqrt(2) * 1e-5 / math.sqrt(2))  # std(ddof=1) / sqrt(2)
    agreeing = combine_runs([_run(600, 2e-5, 4e-6), _run(600, 2e-5, 4e-6)])
    assert agreeing.std_cm2_s == pytest.approx(math.sqrt(2) * 4e-6 / 2)  # no scatter: the runs' own errors
    single = combine_runs([_run(600, 2e-5)])
    assert math.isnan(single.std_cm2_s)  # one run without an error: none is invented


def test_runs_at_two_temperatures_are_not_one_point():
    with pytest.raises(ValueError, match="several temperatures"):
        combine_runs([_run(600, 1e-5, 1e-6), _run(700, 1e-5, 1e-6)])


@pytest.mark.parametrize("ann, std, passed", [
    (1.30e-5, 1e-8, True),   # factor 1.30: within 1.33 although 300 sigma apart
    (1.40e-5, 1e-8, False),  # factor 1.40, 400 sigma: fails
    (1.40e-5, 3e-6, True),   # factor 1.40 but z = 4e-6 / 4.2e-6 < 2: within the noise
    (0.70e-5, 1e-8, False),  # a factor 1/0.70 = 1.43 the other way
])
def test_one_temperature_within_factor_or_sigma(ann, std, passed):
    ref = combine_runs([_run(800, 1.0e-5, std)])
    result = compare_temperature(ref, combine_runs([_run(800, ann, std)]), THRESHOLDS)
    assert result.passed is passed
    assert result.ratio == pytest.approx(ann / 1e-5)
    assert result.z_score == pytest.approx((ann - 1e-5) / math.hypot(std, std))


def test_identical_arrhenius_laws_pass_and_a_shifted_barrier_fails():
    temperatures = [600, 700, 800, 900]
    ref = [_run(t, _arrhenius(0.20, t), 0.05 * _arrhenius(0.20, t)) for t in temperatures]
    same = compare_diffusivities(ref, [dict(r) for r in ref], THRESHOLDS)
    assert [c.passed for c in same.checks] == [True, True]
    assert same.ann_fit.activation_energy_eV == pytest.approx(0.20, abs=1e-9)
    # Ea 0.30 instead of 0.20 with the same D at 900 K: the D check fails at the low temperatures, Ea by 0.1 eV
    d0 = _arrhenius(0.20, 900) / math.exp(-0.30 / (BOLTZMANN_EV_K * 900))
    steeper = [_run(t, _arrhenius(0.30, t, d0), 0.05 * _arrhenius(0.30, t, d0)) for t in temperatures]
    result = compare_diffusivities(ref, steeper, THRESHOLDS)
    d_check, ea_check = result.checks
    assert not d_check.passed and "600 K" in d_check.detail and "900 K" not in d_check.detail
    assert not ea_check.passed and ea_check.value == pytest.approx(0.10, abs=1e-6)


def _two_point_fit_error(relative_error):
    """sigma(Ea) of a two-point Arrhenius fit at 600 and 900 K with relative D errors ``relative_error``."""
    return BOLTZMANN_EV_K * math.sqrt(2) * relative_error / (1 / 600 - 1 / 900)


def test_an_activation_energy_difference_measured_too_coarsely_is_not_a_pass():
    """The same law for both engines, but D known to 30 %: each Ea to 0.066 eV, the difference to 0.093 eV, more
    than the 0.05 eV threshold. Equal Ea then proves nothing: the check fails as inconclusive and says how many
    runs would resolve it (1 x (0.093 / 0.05)^2 -> 4)."""
    ref = [_run(t, _arrhenius(0.20, t), 0.3 * _arrhenius(0.20, t)) for t in (600, 900)]
    result = compare_diffusivities(ref, [dict(r) for r in ref], THRESHOLDS)
    d_check, ea_check = result.checks
    assert d_check.passed and ea_check.value == pytest.approx(0.0, abs=1e-9)
    assert result.reference_fit.activation_energy_std_eV == pytest.approx(_two_point_fit_error(0.3), rel=1e-6)
    assert ea_check.passed is False
    assert "inconclusive" in ea_check.detail and "about 4 runs per temperature" in ea_check.detail
    sharp = [_run(t, _arrhenius(0.20, t), 0.1 * _arrhenius(0.20, t)) for t in (600, 900)]  # sigma 0.031: resolved
    sharp_check = compare_diffusivities(sharp, [dict(r) for r in sharp], THRESHOLDS).checks[1]
    assert sharp_check.passed is True
    # a perfect network still fails |difference| <= 0.05 eV at sigma 0.031 in 2 Phi(-0.05 / 0.031) ~ 11 % of draws
    sigma = math.sqrt(2) * _two_point_fit_error(0.1)
    assert exact_network_fail_probability(sigma, 0.05) == pytest.approx(2 * stats.norm.sf(0.05 / sigma), rel=1e-12)
    assert f"fail this check in {100 * 2 * stats.norm.sf(0.05 / sigma):.0f} % of draws" in sharp_check.detail
    relaxed = ValidationThresholds(activation_energy_sigma_eV=0.1)
    assert compare_diffusivities(ref, [dict(r) for r in ref], relaxed).checks[1].passed is True


def test_a_difference_beyond_the_threshold_by_more_than_two_sigma_is_named_as_such():
    ref = [_run(t, _arrhenius(0.20, t), 0.05 * _arrhenius(0.20, t)) for t in (600, 900)]
    ann = [_run(t, _arrhenius(0.40, t), 0.05 * _arrhenius(0.40, t)) for t in (600, 900)]
    check = compare_diffusivities(ref, ann, THRESHOLDS).checks[1]
    assert check.passed is False and check.value == pytest.approx(0.20, abs=1e-9)
    assert "beyond the threshold by more than 2 sigma" in check.detail


def test_extra_ann_runs_sit_beside_the_reference_runs():
    settings = ValidationSettings(seeds=2, ann_seeds=4)
    assert settings.run_keys() == [("reference", 0), ("ann", 0), ("reference", 1), ("ann", 1), ("ann", 2), ("ann", 3)]
    assert ValidationSettings(seeds=2).run_keys() == [("reference", 0), ("ann", 0), ("reference", 1), ("ann", 1)]


def test_a_temperature_without_ann_runs_fails_and_is_named():
    ref = [_run(t, _arrhenius(0.2, t), 1e-7) for t in (600, 700, 800)]
    ann = [_run(t, _arrhenius(0.2, t), 1e-7) for t in (600, 800)]  # the 700 K network run blew up
    result = compare_diffusivities(ref, ann, THRESHOLDS)
    assert result.problems == ("700 K: no ANN MD run to compare with",)
    assert result.checks[0].passed is False


def test_no_fit_with_one_usable_temperature():
    ref = [_run(600, 1e-6, 1e-7), _run(700, 2e-6, 1e-7)]
    ann = [_run(600, 0.0, 1e-7), _run(700, 2e-6, 1e-7)]  # no diffusion resolved at 600 K
    result = compare_diffusivities(ref, ann, THRESHOLDS)
    assert result.ann_fit is None and result.checks[1].passed is False and result.checks[1].value is None


@pytest.mark.parametrize("section, field", [
    ({"temperatures_K": [700]}, "temperatures_K"),
    ({"temperatures_K": [700, 700]}, "temperatures_K"),
    ({"temperatures_K": [700, -800]}, "temperatures_K.1"),
    ({"seeds": 0}, "seeds"),
    ({"ann_seeds": 0}, "ann_seeds"),
    ({"thresholds": {"activation_energy_sigma_eV": 0}}, "thresholds.activation_energy_sigma_eV"),
    ({"supercell": [1, 1]}, "supercell"),
    ({"thresholds": {"diffusivity_ratio": 0.9}}, "thresholds.diffusivity_ratio"),
    ({"thresholds": {"force_rmse": 0.1}}, "thresholds.force_rmse"),
    ({"relabel": 3}, "relabel"),
])
def test_bad_validation_settings_name_the_field(section, field):
    with pytest.raises(ValidationError) as error:
        ValidationSettings(**section)
    assert field in {".".join(map(str, e["loc"])) for e in error.value.errors()}


def test_each_frame_is_compared_with_the_network_that_made_it_and_errors_pool_over_networks():
    from ase import Atoms

    from dopant_workflows.jobs.validation import RelabelErrors, combined_errors
    from dopant_workflows.jobs.vasp_validation import network_for

    a, b = object(), object()
    frame = Atoms("Li", info={"model_sha256": "bbb", "source": "x.extxyz", "frame": 3})
    assert network_for(frame, {"aaa": a, "bbb": b}) is b
    assert network_for(Atoms("Li"), {"aaa": a}) is a and network_for(frame, a) is a  # one network: that one
    with pytest.raises(ValueError, match=r"x.extxyz#3: made by network bbb, which is not among"):
        network_for(frame, {"aaa": a})
    pooled = combined_errors([RelabelErrors(0.1, 0.002, 10), RelabelErrors(0.2, 0.004, 30)])
    assert pooled.n_frames == 40
    assert pooled.force_rmse_eV_A == pytest.approx(math.sqrt((0.01 * 10 + 0.04 * 30) / 40))
    assert math.isnan(combined_errors([]).force_rmse_eV_A)
