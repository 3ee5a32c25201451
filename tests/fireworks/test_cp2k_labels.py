"""A study whose network learns CP2K labels of CHGNet-proposed frames (study.labels), run end to end with the real
CP2K on a 12-atom cell (tests/data/studies/cp2k_labels_study.yaml). Skipped, with the reason, where CP2K is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.io import read

from dopant_workflows.engines.cp2k.settings import cp2k_available
from dopant_workflows.fireworks.config import init_fw_config
from tests.helpers import dopwf, results_collection

STUDY = Path(__file__).resolve().parents[1] / "data" / "studies" / "cp2k_labels_study.yaml"



@pytest.mark.slow
@pytest.mark.skipif(cp2k_available() is not None, reason=f"CP2K not here: {cp2k_available()}")
def test_a_study_trains_on_cp2k_labels_of_chgnet_frames(tmp_path):
    """The subject is where the labels come from. The network itself is a toy (16 frames of a 12-atom cell at cheap
    CP2K settings) and its MD may blow up (seen: an energy jump of 0.66 eV/atom at 500 K): an ANN-MD Firework is the
    only kind allowed to fail, and every one that did not fail gave its document."""
    config = init_fw_config(tmp_path / "cfg")
    result = dopwf(["run", str(STUDY), "--config", str(config.directory)], tmp_path, timeout=1800)
    fizzled = [line for line in result.stderr.splitlines() if ": FIZZLED in" in line]
    assert all(" md " in line for line in fizzled), result.stdout[-2000:] + result.stderr[-4000:]
    assert result.returncode == (1 if fizzled else 0), result.stderr[-4000:]
    assert "cp2k-labels shared cp2k labels: COMPLETED" in result.stderr

    (label_set,) = results_collection(config, "label_sets")
    assert label_set["engine"] == "cp2k" and label_set["n_frames"] == 16 and label_set["n_source_frames"] == 8 + 4 + 4
    assert "SZV-MOLOPT-SR-GTH" in label_set["level_of_theory"]
    labelled = read(label_set["frames_path"], index=":")
    assert {f.info["engine"] for f in labelled} == {"cp2k"}
    aimd = read(label_set["source_frames_paths"][0], index=":")
    assert {f.info["engine"] for f in aimd} == {"embedded:chgnet"}
    # the same geometries, other energies: CP2K's, not CHGNet's (pseudopotential energies differ by ~1e3 eV here)
    assert abs(labelled[0].get_potential_energy() - aimd[0].get_potential_energy()) > 100

    rounds = sorted(results_collection(config, "active_learning"), key=lambda d: d["round"])
    assert rounds and all(r["reference_engine"] == "cp2k" for r in rounds)
    assert rounds[0]["training_frame_files"][0] == label_set["frames_path"]
    assert rounds[0]["n_labelled"] >= 1
    chosen = read(rounds[0]["labelled_frames_path"], index=":")
    assert {f.info["engine"] for f in chosen} == {"cp2k"}
    assert len(results_collection(config, "md_tasks")) == 4 - len(fizzled)
    dielectric = {d["formula"]: d for d in results_collection(config, "dielectric")}
    assert set(dielectric) == {"Li8S4", "Li7S3Cl1"}
    for document in dielectric.values():  # computed at the labels' level of theory; electronic only, so no eps_r
        assert document["engine"] == "cp2k" and document["holds"] == "electronic" and document["eps_r"] is None
        assert 2.5 < document["eps_electronic"] < 5 and len(document["epsilon_electronic"]) == 3
        assert document["source"].startswith("missing: only the electronic part was computed")
    barriers = results_collection(config, "anderson_stuart")  # a composition whose MD all failed has none
    assert all(b["barrier_eV"] is None and b["epsilon_r_source"] == dielectric[b["formula"]]["source"]
               for b in barriers)
    report = (config.directory / "runs" / "cp2k-labels" / "report" / "report.md").read_text()
    assert "## Training labels" in report and "| shared | cp2k | cp2k PBE/SZV-MOLOPT-SR-GTH" in report
