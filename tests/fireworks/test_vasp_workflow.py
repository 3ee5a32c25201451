"""The VASP reference workflow under FireWorks (embedded LaunchPad), VASP replayed by the use_fake_vasp powerup:
segment 0 hits an injected VASP error that custodian corrects, segment 1 continues it, DFPT gives eps_r."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.fireworks.config import init_fw_config

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "vasp_replay"


def test_replayed_vasp_workflow_runs_end_to_end(tmp_path):
    config = init_fw_config(tmp_path / "cfg")
    env = {**os.environ, "HOME": str(tmp_path), "FW_CONFIG_FILE": str(config.config_file)}
    (tmp_path / "launches").mkdir()
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "fake_vasp_driver.py"), str(REFERENCE),
                           str(tmp_path / "launches"), str(config.directory / "db.json")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    documents = result.pop("dielectric documents")
    assert {name: fw["state"] for name, fw in result.items()} == {
        "lsips aimd segment 0": "COMPLETED", "lsips aimd segment 1": "COMPLETED",
        "lsips Li20Si3P3S23Cl dielectric": "COMPLETED", "lsips after aimd": "COMPLETED"}
    seg0 = result["lsips aimd segment 0"]["stored_data"]
    assert seg0["n_frames"] == 5 and [c["errors"] for c in seg0["corrections"]] == [["edddav"]]
    assert len(result["lsips aimd segment 1"]["spec_frames"]) == 1  # segment 0's frames pushed to its child
    # the last segment's child gets the whole run: FireWorks pushes to direct children only, so each segment
    # passes its predecessors' files on (the training Firework once saw the last segment's frames alone)
    frames = result["lsips after aimd"]["spec_frames"]
    assert len(set(frames)) == 2 and frames[0] == result["lsips aimd segment 1"]["spec_frames"][0]
    dielectric = result["lsips Li20Si3P3S23Cl dielectric"]["stored_data"]
    assert dielectric["eps_r"] == pytest.approx(5.1363, abs=1e-4)
    # the DFPT result is also a dielectric document in the results DB, where the Anderson-Stuart builder reads it
    assert len(documents) == 1
    assert documents[0]["substitution_id"] == "Li20Si3P3S23Cl" and documents[0]["study"] == "lsips"
    assert documents[0]["formula"] == "Li20Si3P3S23Cl1" and documents[0]["eps_r"] == pytest.approx(dielectric["eps_r"])
    assert documents[0]["source"].startswith("VASP DFPT")


def test_use_fake_vasp_refuses_unmatched_fireworks(lsips):
    from dopant_workflows.fireworks.powerups import use_fake_vasp
    from dopant_workflows.fireworks.vasp_workflows import get_wf_vasp_reference

    settings = AIMDSettings(n_steps=10, segment_steps=5)
    wf = get_wf_vasp_reference(lsips, settings, "x")
    with pytest.raises(ValueError, match="no reference directory for Firework 'x aimd segment 1'"):
        use_fake_vasp(wf, {"x aimd segment 0": REFERENCE / "aimd_segment_0"})
    with pytest.raises(ValueError, match=r"no VASP Firework named \['typo'\]"):
        use_fake_vasp(get_wf_vasp_reference(lsips, settings, "x"),
                      {"x aimd segment 0": REFERENCE / "aimd_segment_0",
                       "x aimd segment 1": REFERENCE / "aimd_segment_1",
                       "typo": REFERENCE / "dielectric"})
