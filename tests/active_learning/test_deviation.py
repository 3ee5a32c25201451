"""DP-GEN's model deviation and frame selection: analytic cases; the settings refuse what cannot work."""

import numpy as np
import pytest
from pydantic import ValidationError

from dopant_workflows.active_learning.deviation import max_force_deviation, select_frames
from dopant_workflows.active_learning.settings import ActiveLearningSettings


def test_deviation_of_an_agreeing_committee_is_zero_and_of_a_split_one_its_half_spread():
    forces = np.random.default_rng(0).normal(size=(1, 7, 3))
    assert max_force_deviation(np.repeat(forces, 4, axis=0)) == pytest.approx(0.0, abs=1e-15)
    split = np.zeros((2, 5, 3))
    split[0, 3] = [0.3, 0.0, 0.4]  # members disagree on atom 3 only: +-(0.15, 0, 0.2) about the mean
    split[1, 3] = [0.0, 0.0, 0.0]
    assert max_force_deviation(split) == pytest.approx(0.25)  # |(0.15, 0, 0.2)| = 0.25, the worst atom


def test_deviation_needs_a_committee():
    with pytest.raises(ValueError, match="K >= 2"):
        max_force_deviation(np.zeros((1, 5, 3)))


def test_frames_are_split_by_the_trust_levels_and_the_chosen_spread_evenly():
    deviations = np.array([0.01, 0.2, 0.5, 0.12, np.nan, 0.15, 0.3, 0.04, 0.11, 0.13])
    selection = select_frames(deviations, 0.1, 0.35, max_labels=3)
    assert selection.accurate.tolist() == [0, 7]
    assert selection.candidates.tolist() == [1, 3, 5, 6, 8, 9]
    assert selection.failed.tolist() == [2, 4]  # NaN: a frame nobody can trust
    assert selection.chosen.tolist() == [1, 5, 9]  # first, middle (index 2.5 rounds to 2), last
    assert selection.fraction_above_lo == pytest.approx(0.8)
    assert select_frames(deviations, 0.1, 0.35, max_labels=100).chosen.tolist() == selection.candidates.tolist()


def test_even_spread_keeps_both_ends_and_never_repeats():
    from dopant_workflows.active_learning.deviation import evenly_spaced

    assert evenly_spaced(11, 3) == [0, 5, 10]
    assert evenly_spaced(4, 10) == [0, 1, 2, 3]  # fewer frames than asked: all of them
    assert evenly_spaced(0, 5) == []
    assert evenly_spaced(5, 4) == [0, 1, 3, 4]  # 0, 1.33, 2.67, 4 rounded


def test_uniform_choice_takes_the_same_number_from_every_run_and_what_a_short_run_has():
    from dopant_workflows.jobs.active_learning import _per_run_errors, _uniform_choice

    explored = [{"cell": "a", "n_frames": 10}, {"cell": "b", "n_frames": 2}, {"cell": "c", "n_frames": 5}]
    chosen = _uniform_choice(explored, 9)  # 3 per run
    assert chosen.tolist() == [0, 4, 9, 10, 11, 12, 14, 16]  # run b blew up after 2 frames: both are taken
    errors = [0.1, 0.1, 0.1, 0.3, 0.4, 0.2, 0.2, 0.2]
    runs = _per_run_errors(explored, chosen, errors)
    assert [r["n_labelled"] for r in runs] == [3, 2, 3]
    assert runs[1]["force_rmse_eV_A"] == pytest.approx(np.sqrt((0.09 + 0.16) / 2))
    assert runs[0]["force_rmse_eV_A"] == pytest.approx(0.1) and runs[2]["force_rmse_eV_A"] == pytest.approx(0.2)


def test_a_committee_of_one_is_only_for_the_uniform_selection():
    with pytest.raises(ValidationError, match="needs a committee of at least 2"):
        ActiveLearningSettings(committee_size=1)
    assert ActiveLearningSettings(selection="uniform", committee_size=1).committee_size == 1


@pytest.mark.parametrize("values, field", [
    ({"committee_size": 1}, "committee_size"),
    ({"committee_size": 0, "selection": "uniform"}, "committee_size"),
    ({"selection": "random"}, "selection"),
    ({"converged_force_rmse_eV_A": 0, "selection": "uniform"}, "converged_force_rmse_eV_A"),
    ({"trust_lo_eV_A": 0.3, "trust_hi_eV_A": 0.2}, "must be below trust_hi_eV_A"),
    ({"trust_lo_eV_A": 0.2, "trust_hi_eV_A": 0.2}, "must be below trust_hi_eV_A"),
    ({"converged_fraction": 1.5}, "converged_fraction"),
    ({"explore_ps": 0}, "explore_ps"),
    ({"temperatures_K": [600, 600]}, "duplicate temperatures"),
])
def test_bad_active_learning_settings_are_refused(values, field):
    with pytest.raises(ValidationError, match=field):
        ActiveLearningSettings(**values)


def test_given_labels_ask_for_labels_then_hand_out_the_ones_that_sit_on_the_frames():
    from ase import Atoms

    from dopant_workflows.jobs.active_learning import LabelsNeeded, given_labels

    frames = [Atoms("Li2", positions=[[0, 0, 0], [1.5 + x, 0, 0]], cell=[5, 5, 5], pbc=True) for x in (0.0, 0.1)]
    assert given_labels(None)([]) == []
    with pytest.raises(LabelsNeeded) as needed:
        given_labels(None)(frames)
    assert needed.value.frames == frames
    assert given_labels(frames)(frames) == frames
    with pytest.raises(ValueError, match="2 labelled frames for 1 requested"):
        given_labels(frames)(frames[:1])
    with pytest.raises(ValueError, match="labelled frame 0 is not the explored frame"):
        given_labels(frames[::-1])(frames)


def _round_document(number, worst, beyond=0, converged=False, blew_up=False):
    from dopant_workflows.schemas.active_learning import ActiveLearningDocument

    status = "blew up: energy" if blew_up else "completed"
    return ActiveLearningDocument(
        al_id=f"s-shared-round{number}", round=number, reference_engine="chgnet", selection="uniform",
        committee_sha256=[f"sha{number}"], model_path=f"/r{number}/model.json", training_frame_files=[],
        n_training_images=100, test_force_rmse_eV_A=[0.1], explored=[{"status": status}], n_explored=50,
        n_accurate=None, n_candidates=None, n_failed=None, fraction_above_lo=None, deviation_histogram=None,
        n_selected=8, n_labelled=8, n_beyond_data=beyond, true_error={"worst_run_force_rmse_eV_A": worst},
        converged=converged, final=False, settings={})


def test_the_study_gets_the_best_measured_round_unless_it_asks_for_the_last():
    """The demo's rounds (worst-run force RMSE 0.264, 0.115, 0.198, 1.319 eV/A): 'best' hands on round 2, 'last'
    round 4; a converged round beats a lower error with frames beyond the data; a blown-up run loses."""
    from dopant_workflows.jobs.active_learning import hand_on

    rounds = [_round_document(1, 0.264, 89), _round_document(2, 0.115, 3), _round_document(3, 0.198, 41)]
    last = _round_document(4, 1.319, 118).model_copy(update={"final": True})
    best = hand_on(last, rounds, "best")
    assert (best.handed_on_round, best.handed_on_sha256, best.handed_on_model_path) == (2, "sha2", "/r2/model.json")
    assert hand_on(last, rounds, "last").handed_on_round == 4
    converged = _round_document(3, 0.14, 0, converged=True).model_copy(update={"final": True})
    assert hand_on(converged, [_round_document(1, 0.2, 5), _round_document(2, 0.10, 2)], "best").handed_on_round == 3
    blown = [_round_document(1, 0.05, blew_up=True)]
    assert hand_on(_round_document(2, 0.3).model_copy(update={"final": True}), blown, "best").handed_on_round == 2
