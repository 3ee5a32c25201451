"""Validation and active learning against VASP, the cluster path of the paper's section 3.2 and of DP-GEN,
replayed: a whole ``engine: vasp`` study under FireWorks (tests/fireworks/vasp_study_driver.py). The replayed
outputs are CHGNet frames in VASP's layouts (tests/data/vasp_replay/README.md), so the numbers test the machinery,
not LSiPS."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ase.io import read

from dopant_workflows.fireworks.config import init_fw_config

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "vasp_replay"
pytestmark = pytest.mark.slow  # every test reads the one replayed VASP study (the module's fixture runs it whole)


@pytest.fixture(scope="module")
def vasp_study(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("vasp_study")
    config = init_fw_config(tmp_path / "cfg")
    env = {**os.environ, "HOME": str(tmp_path), "FW_CONFIG_FILE": str(config.config_file)}
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "vasp_study_driver.py"), str(REFERENCE),
                           str(tmp_path), str(config.directory / "db.json")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.split("RESULT ", 1)[1]), tmp_path


def test_every_firework_of_a_vasp_study_completes_with_the_relabelling_added_at_run_time(vasp_study):
    result, _ = vasp_study
    states = {name: fw["state"] for name, fw in result["fireworks"].items()}
    assert set(states.values()) == {"COMPLETED"}, states
    relabel = sorted(name for name in states if " relabel " in name)
    # 2 frames of each of the 2 ANN-MD validation runs (700 and 900 K), each a VASP single point
    assert relabel == [f"vstudy shared validation relabel {n} of 4" for n in (1, 2, 3, 4)]
    assert "vstudy shared validation (VASP labels)" in states
    for t in ("700K", "900K"):
        assert f"vstudy shared validation reference md {t} #1 aimd segment 0" in states
        assert f"vstudy shared validation reference md {t} #1 analysis" in states
        assert f"vstudy shared validation reference md {t} #1" not in states  # VASP runs it, not a potential


def test_the_vasp_reference_runs_give_d_from_their_production_frames(vasp_study):
    result, _ = vasp_study
    (document,) = result["validation"]
    assert document["reference_engine"] == "vasp"
    reference = [r for r in document["runs"] if r["role"] == "reference"]
    assert sorted(r["temperature_K"] for r in reference) == [700.0, 900.0]
    for run in reference:
        assert run["status"] == "completed" and run["diffusivity_cm2_s"] > 0
        trajectory = Path(run["run_dir"]) / "trajectory.extxyz"
        frames = read(trajectory, ":")
        # 10 equilibration steps dropped; 50 production steps sampled every 4 fs (2 steps)
        assert len(frames) == 25 and [f.info["step"] for f in frames[:2]] == [12, 14]
        replayed = read(REFERENCE / f"validation_md_{run['temperature_K']:g}K" / "outputs" / "vasprun.xml", ":")
        assert frames[0].positions == pytest.approx(replayed[11].positions)
        assert frames[0].get_forces() == pytest.approx(replayed[11].get_forces())
    for point in document["temperatures"]:
        assert point["reference"]["diffusivity_cm2_s"] > 0 and point["ann"]["diffusivity_cm2_s"] > 0


def test_the_network_error_is_taken_against_the_vasp_labels(vasp_study):
    from dopant_workflows.ann.calculator import BPNNCalculator
    from dopant_workflows.ann.model_io import load_potential
    from dopant_workflows.jobs.vasp_validation import labelled_errors

    result, _ = vasp_study
    (document,) = result["validation"]
    labels = result["fireworks"]["vstudy shared validation (VASP labels)"]["labels"]
    assert len(set(labels)) == 4
    labelled = [read(path) for path in labels]
    static = read(REFERENCE / "static" / "outputs" / "vasprun.xml")
    for frame in labelled:  # the replayed single point's labels, on the ANN-MD frame's temperature
        assert frame.get_forces() == pytest.approx(static.get_forces())
        assert frame.info["temperature_K"] in (700.0, 900.0) and "trajectory.extxyz" in frame.info["source"]
    expected = labelled_errors(labelled, BPNNCalculator(load_potential(document["model_path"])))
    for point in document["temperatures"]:
        errors = expected[point["temperature_K"]]
        assert point["n_frames_relabelled"] == 2
        assert point["force_rmse_eV_A"] == pytest.approx(errors.force_rmse_eV_A, rel=1e-9)
        assert point["energy_rmse_eV_atom"] == pytest.approx(errors.energy_rmse_eV_atom, rel=1e-9)
    # the verdict follows from those errors: 0.83 (700 K) and 0.85 eV/A (900 K) were measured against the replayed
    # labels, above the 0.15 eV/A threshold: the network fails, and the reasons name the force check
    assert all(point["force_rmse_eV_A"] > 0.15 for point in document["temperatures"])
    assert document["status"] == "failed" and document["passed"] is False
    assert any(r.startswith("force_rmse_ann_md: ") for r in document["reasons"]), document["reasons"]


def test_active_learning_labels_its_explored_frames_by_vasp_single_points(vasp_study):
    result, _ = vasp_study
    states = {name: fw["state"] for name, fw in result["fireworks"].items()}
    rounds = sorted(result["active_learning"], key=lambda d: d["round"])
    assert [d["round"] for d in rounds] == [1, 2] and rounds[-1]["final"]
    for document in rounds:
        # round r asks for labels: one VASP single point per chosen frame (one frame of each exploration run),
        # then the same round again with them (trained members and exploration found in place)
        r, n = document["round"], len(document["explored"])
        assert document["reference_engine"] == "vasp" and document["n_labelled"] == n >= 2
        assert sorted(name for name in states if name.startswith(f"vstudy shared active learning round {r} label ")
                      ) == sorted(f"vstudy shared active learning round {r} label {k} of {n}" for k in range(1, n + 1))
        assert f"vstudy shared active learning round {r} (VASP labels)" in states
    # round 2 trained on round 1's VASP labels: its frame files are the AIMD's and round 1's labelled frames
    assert rounds[0]["labelled_frames_path"] in rounds[1]["training_frame_files"]
    labelled = read(rounds[0]["labelled_frames_path"], ":")
    static = read(REFERENCE / "static" / "outputs" / "vasprun.xml")
    assert all(frame.get_forces() == pytest.approx(static.get_forces()) for frame in labelled)
    # each label sits on the explored frame it labels (the positions asked for, not the replay's)
    explored = read(Path(rounds[0]["model_path"]).parents[1] / "explore" / "training-700K" / "trajectory.extxyz", ":")
    assert any(labelled[0].positions == pytest.approx(frame.positions) for frame in explored)
