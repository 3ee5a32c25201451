"""The adaptive-production planner: stop on precision, stop on budget, and where added runs go."""

import math

import pytest

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.analysis.precision import allocate_runs, plan_production, slope_variance


def _runs(relative_error, temperatures=(600.0, 700.0, 800.0, 900.0), arrangements=("a", "b"), scatter=None):
    runs = []
    for k, sub in enumerate(arrangements):
        for j, t in enumerate(temperatures):
            d = 1e-3 * math.exp(-0.2 / (BOLTZMANN_EV_K * t))
            if scatter:
                d *= 1 + scatter * (-1) ** (j + k)
            runs.append({"task_id": f"{sub}-{t}", "substitution_id": sub, "arrangement": k, "temperature_K": t,
                         "diffusivity_cm2_s": d, "diffusivity_std_cm2_s": relative_error * d,
                         "diffusivity_components_cm2_s": {"a": d, "b": d, "c": d}, "n_carriers": 60,
                         "volume_A3": 2857.0, "rdf_first_peak_A": 3.3, "production_ps": 4.0})
    return runs


def test_a_composition_that_meets_the_target_stops_on_precision():
    decision = plan_production(_runs(0.02), 0.02, 128.0, 4.0, rounds_left=3)
    assert decision.status == "precision" and decision.added == []
    assert decision.activation_energy_std_eV < 0.02 and decision.production_ps_used == 32.0


def test_more_runs_scale_with_the_squared_miss_at_most_doubling_and_within_budget():
    runs = _runs(0.30)  # sigma(Ea) ~ 0.06 eV: ~9x the runs needed, a round at most doubles them
    decision = plan_production(runs, 0.02, 1000.0, 4.0, rounds_left=3)
    assert decision.status == "more" and decision.activation_energy_std_eV > 0.04
    assert len(decision.added) == len(runs)
    # the lever arm: the end temperatures gain most; no run at an inner one before both ends have more
    temperatures = [t for _, t in decision.added]
    assert temperatures.count(600.0) >= temperatures.count(700.0) and temperatures.count(900.0) >= temperatures.count(
        800.0)
    by_arrangement = [s for s, _ in decision.added]
    assert abs(by_arrangement.count("a") - by_arrangement.count("b")) <= 1  # replicas kept balanced
    tight = plan_production(runs, 0.02, 32.0 + 12.0, 4.0, rounds_left=3)  # 12 ps left: 3 runs
    assert tight.status == "more" and len(tight.added) == 3
    broke = plan_production(runs, 0.02, 34.0, 4.0, rounds_left=3)
    assert broke.status == "budget" and "2 ps of budget left" in broke.reason
    assert plan_production(runs, 0.02, 1000.0, 4.0, rounds_left=0).status == "budget"


def test_the_greedy_allocation_prefers_the_noisiest_end_of_the_lever_arm():
    points = [{"temperature_K": t, "diffusivity_cm2_s": 1.0, "diffusivity_std_cm2_s": e, "n_runs": 1}
              for t, e in ((600.0, 0.4), (750.0, 0.1), (900.0, 0.1))]
    assert allocate_runs(points, 1) == [600.0]
    base = slope_variance([600.0, 750.0, 900.0], [0.16, 0.01, 0.01])
    after = slope_variance([600.0, 750.0, 900.0], [0.08, 0.01, 0.01])
    assert after < base


def test_no_fit_is_a_budget_stop_that_says_why():
    decision = plan_production(_runs(0.1, temperatures=(600.0,)), 0.02, 100.0, 4.0, rounds_left=3)
    assert decision.status == "budget" and "no Arrhenius fit" in decision.reason


@pytest.mark.parametrize("scatter", [0.5])
def test_scatter_beyond_the_errors_counts_against_precision(scatter):
    """Birge-scaled: arrangements that scatter more than their errors need more runs, not fewer."""
    calm, wild = (plan_production(_runs(0.05, scatter=s), 0.02, 1000.0, 4.0, 3) for s in (None, scatter))
    assert wild.activation_energy_std_eV > 2 * calm.activation_energy_std_eV


def test_added_runs_go_to_the_networks_with_the_fewest_runs_at_their_temperature():
    from dopant_workflows.analysis.precision import assign_networks

    runs = [{"temperature_K": t, "network": k} for t, k in ((600.0, 0), (700.0, 1), (800.0, 0), (900.0, 1))]
    added = [("a", 600.0), ("a", 600.0), ("a", 700.0), ("a", 900.0), ("a", 900.0)]
    assert assign_networks(runs, added, 2) == [1, 0, 0, 0, 1]
    assert assign_networks(runs, added, 1) == [0] * 5
    # records from before networks existed count as network 0
    assert assign_networks([{"temperature_K": 600.0}], [("a", 600.0)], 3) == [1]


def test_first_round_runs_alternate_networks_over_temperatures_and_arrangements():
    from dopant_workflows.names import network_of_run

    grid = [[network_of_run(a, t, 2) for t in range(4)] for a in range(2)]
    assert grid == [[0, 1, 0, 1], [1, 0, 1, 0]]  # every temperature sees both networks, each arrangement both
    assert {network_of_run(a, t, 1) for a in range(3) for t in range(4)} == {0}
