"""active_learning.confirm_ps: a converged round's network is confirmed by longer runs before it is handed on.
The MD is replaced by given frames (the AMP reference's LGPS images and an AMP model with a wall); the verdict,
the labels and the record are the real code's."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from dopant_workflows.active_learning.settings import ActiveLearningSettings

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "amp_reference"


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The LGPS AMP model with a core repulsion fitted to its two images, saved as a model.json; the images."""
    from dopant_workflows.ann.amp_io import load_amp_potential
    from dopant_workflows.ann.core_repulsion import CoreRepulsion
    from dopant_workflows.ann.model_io import save_potential

    potential = load_amp_potential(REFERENCE_DIR / "lgps_default.amp")
    images = read(REFERENCE_DIR / "images.extxyz", index=":2")
    walled = dataclasses.replace(potential, core_repulsion=CoreRepulsion.from_images(images, potential.elements, 6.5))
    path = save_potential(walled, tmp_path_factory.mktemp("net") / "model.json")
    return walled, path, images


def _labeller(potential, offset_eV_A=0.0):
    """Labels with the network's own forces (+ a constant offset on every component): its RMSE is the offset."""
    from ase.calculators.singlepoint import SinglePointCalculator

    asked = []

    def label(frames):
        asked.append(len(frames))
        out = []
        for frame in frames:
            labelled = frame.copy()
            forces = potential.evaluate(frame, forces=True).forces_eV_A + offset_eV_A
            labelled.calc = SinglePointCalculator(labelled, energy=0.0, forces=forces)
            out.append(labelled)
        return out

    label.asked = asked
    return label


def _confirm(monkeypatch, network, labeller, walls=None, last=False, status="completed"):
    from dopant_workflows.jobs import active_learning

    potential, path, images = network
    frames = [images[0], images[1], images[0], images[1]]  # two runs of two frames
    runs = [{"cell": name, "formula": "LGPS", "temperature_K": 900.0, "n_frames": 2, "status": status,
             "core_repulsion_max_eV": None} for name in ("training", "doped")]
    seen = {}

    def fake_runs(paths, cells, temperatures_K, settings, out_dir, seed, round_number, device):
        seen.update(temperatures_K=max(temperatures_K), ps=settings.confirm_ps, out_dir=out_dir)
        return frames, [dict(r) for r in runs], None if walls is None else np.asarray(walls, float)

    monkeypatch.setattr(active_learning, "_confirmation_runs", fake_runs)
    settings = ActiveLearningSettings(selection="uniform", committee_size=1, confirm_ps=8.0, max_labels_per_round=4,
                                      converged_force_rmse_eV_A=0.15)
    record, labelled, n_beyond = active_learning._uniform_confirmation(
        [str(path)], [], [600.0, 900.0], settings, Path("/round"), 0, 1, "cpu", labeller, last)
    return record, labelled, n_beyond, seen


def test_a_confirmation_the_network_meets_passes_and_keeps_its_labels_out_of_training(monkeypatch, network):
    label = _labeller(network[0])
    record, labelled, n_beyond, seen = _confirm(monkeypatch, network, label, walls=[0, 0, 0, 0])
    assert record["passed"] and record["n_labelled"] == 0 and n_beyond == 0
    assert record["worst_run_force_rmse_eV_A"] == pytest.approx(0.0, abs=1e-9)
    assert (record["temperature_K"], record["ps_per_run"], record["n_frames"]) == (900.0, 8.0, 4)
    assert seen["ps"] == 8.0 and seen["out_dir"] == Path("/round/confirm")
    assert [r["n_labelled"] for r in record["runs"]] == [2, 2] and label.asked == [4]
    assert record["n_beyond_data"] == 0


def test_a_confirmation_the_network_misses_fails_and_its_labels_train_the_next_round(monkeypatch, network):
    record, labelled, n_beyond, _ = _confirm(monkeypatch, network, _labeller(network[0], 0.2), walls=[0, 0, 0, 0])
    assert not record["passed"] and record["worst_run_force_rmse_eV_A"] == pytest.approx(0.2, rel=1e-9)
    assert len(labelled) == 4 == record["n_labelled"] and n_beyond == 0


def test_a_frame_beyond_the_data_fails_the_confirmation_and_is_labelled_unless_the_round_is_the_last(
        monkeypatch, network):
    """Accurate forces everywhere, but one frame met the wall: extrapolation, so not confirmed."""
    walls = [0, 0, 0, 0.3]
    record, labelled, n_beyond, _ = _confirm(monkeypatch, network, _labeller(network[0]), walls=walls)
    assert not record["passed"] and record["n_beyond_data"] == 1 and record["beyond_data_max_eV"] == 0.3
    # the even sample of 2 frames per run already holds frame 3: nothing is labelled twice
    assert n_beyond == 0 and len(labelled) == 4
    record, labelled, n_beyond, _ = _confirm(monkeypatch, network, _labeller(network[0]), walls=walls, last=True)
    assert not record["passed"] and n_beyond == 0


def test_a_confirmation_run_that_blew_up_fails_it(monkeypatch, network):
    record, _, _, _ = _confirm(monkeypatch, network, _labeller(network[0]), walls=[0, 0, 0, 0],
                               status="blew up: temperature")
    assert not record["passed"]


def test_confirm_ps_must_be_positive_and_uniform_confirmation_is_refused_with_vasp_labels():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="confirm_ps"):
        ActiveLearningSettings(confirm_ps=0)
    import yaml

    from dopant_workflows.study import StudyValidationError, study_from_dict
    from tests.helpers import SMOKE

    data = yaml.safe_load(SMOKE.read_text())
    data["engine"], data["dielectric"] = "vasp", []  # a VASP study takes its eps_r from DFPT
    data["active_learning"] = {"enabled": True, "selection": "uniform", "committee_size": 1, "confirm_ps": 4}
    with pytest.raises(StudyValidationError, match="confirm_ps"):
        study_from_dict(data)
