"""VASP engine without VASP: inputs checked, custodian runs replays of reference directories (written by
tools/vasp_replay from an embedded-engine trajectory; not VASP output), errors corrected, outputs parsed."""

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from ase.io import read
from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.vasp.inputs import check_vasp_available, write_aimd_segment, write_dielectric
from dopant_workflows.engines.vasp.outputs import read_aimd_frames, read_dielectric
from dopant_workflows.engines.vasp.replay import ReplayMismatch, ReplayVaspJob
from dopant_workflows.engines.vasp.runs import run_aimd_segment, run_dielectric
from dopant_workflows.errors import DopwfInputError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "vasp_replay"
SETTINGS = AIMDSettings(n_steps=10, segment_steps=5, temperature_start_K=300, temperature_end_K=1000, seed=5)
FAST = {"potcar_spec": True, "polling_time_step_s": 0.05}


def test_aimd_inputs_follow_the_paper(tmp_path, lsips):
    seg0, seg1 = SETTINGS.segments()
    write_aimd_segment(tmp_path, lsips, seg1, SETTINGS, potcar_spec=True, user_incar={"NCORE": 4})
    incar = Incar.from_file(tmp_path / "INCAR")
    expected = {"ENCUT": 600, "ISMEAR": 0, "SIGMA": 0.2, "ISPIN": 1, "IBRION": 0, "MDALGO": 2, "POTIM": 2.0,
                "ISYM": 0, "NSW": 5, "TEBEG": 650.0, "TEEND": 1000.0, "EDIFF": 1e-5, "NCORE": 4}
    assert {k: incar[k] for k in expected} == expected
    kpoints = Kpoints.from_file(tmp_path / "KPOINTS")
    assert kpoints.style == Kpoints.supported_modes.Gamma and list(kpoints.kpts[0]) == [2, 2, 3]
    assert (tmp_path / "POTCAR.spec").read_text().split() == ["Li_sv", "Si", "P", "S", "Cl"]
    write_dielectric(tmp_path / "dfpt", lsips * (3, 1, 1), potcar_spec=True)
    dfpt = Incar.from_file(tmp_path / "dfpt" / "INCAR")
    assert dfpt["LEPSILON"] is True and dfpt["IBRION"] == 8 and dfpt["ENCUT"] == 600
    assert list(Kpoints.from_file(tmp_path / "dfpt" / "KPOINTS").kpts[0]) == [1, 1, 1]  # supercell


def test_segmented_aimd_replay_continues_positions_and_velocities(tmp_path, lsips):
    seg0, seg1 = SETTINGS.segments()
    first = run_aimd_segment(tmp_path / "s0", lsips, seg0, SETTINGS, "vasp_std",
                             job=ReplayVaspJob(REFERENCE / "aimd_segment_0"), **FAST)
    second = run_aimd_segment(tmp_path / "s1", lsips, seg1, SETTINGS, "vasp_std", previous_dir=tmp_path / "s0",
                              job=ReplayVaspJob(REFERENCE / "aimd_segment_1"), **FAST)
    assert (first.n_frames, second.n_frames) == (5, 5) and not first.truncated and first.corrections == []
    contcar = Poscar.from_file(tmp_path / "s0" / "CONTCAR", check_for_potcar=False)
    poscar = Poscar.from_file(tmp_path / "s1" / "POSCAR", check_for_potcar=False)
    assert np.allclose(poscar.structure.frac_coords, contcar.structure.frac_coords)
    assert poscar.velocities is not None and np.allclose(poscar.velocities, contcar.velocities)
    frames = read(tmp_path / "s0" / "frames.extxyz", ":") + read(tmp_path / "s1" / "frames.extxyz", ":")
    assert [f.info["step"] for f in frames] == list(range(1, 11))
    assert [f.info["time_fs"] for f in frames][-1] == 20.0
    assert all(f.info["engine"] == "vasp" and f.get_forces().shape == (50, 3) for f in frames)
    # both engines' data sets load with the same code
    from dopant_workflows.ann.dataset import load_images

    assert len(load_images([tmp_path / "s0" / "frames.extxyz", tmp_path / "s1" / "frames.extxyz"])) == 10


def test_custodian_corrects_an_injected_vasp_error(tmp_path, lsips):
    seg0 = SETTINGS.segments()[0]
    result = run_aimd_segment(tmp_path, lsips, seg0, SETTINGS, "vasp_std",
                              job=ReplayVaspJob(REFERENCE / "aimd_edddav_error"), **FAST)
    assert result.n_frames == 5
    assert [c["errors"] for c in result.corrections] == [["edddav"]]
    attempts = json.loads((tmp_path / "replay.json").read_text())
    assert [a["outputs"] for a in attempts] == ["outputs_attempt1", "outputs"]
    assert attempts[0]["incar"].get("ALGO") != "All" and attempts[1]["incar"]["ALGO"] == "All"
    assert json.loads((tmp_path / "custodian.json").read_text())[0]["corrections"]


def test_replay_refuses_inputs_that_differ(tmp_path, lsips):
    other = AIMDSettings(n_steps=10, segment_steps=5, temperature_start_K=400, temperature_end_K=1000)
    with pytest.raises(ReplayMismatch, match="INCAR TEBEG: 400.0, reference 300.0"):
        run_aimd_segment(tmp_path, lsips, other.segments()[0], other, "vasp_std",
                         job=ReplayVaspJob(REFERENCE / "aimd_segment_0"), **FAST)


def test_dielectric_replay_gives_tensors_and_eps_r(tmp_path, lsips):
    result, corrections = run_dielectric(tmp_path, lsips, "vasp_std", job=ReplayVaspJob(REFERENCE / "dielectric"),
                                         **FAST)
    assert corrections == []
    assert result.epsilon_electronic[2, 2] == pytest.approx(3.6188)
    assert result.epsilon_ionic[0, 0] == pytest.approx(1.7023)
    assert result.eps_r == pytest.approx((3.4121 + 3.4056 + 3.6188 + 1.7023 + 1.6987 + 1.5714) / 3)


def test_truncated_outputs_keep_complete_steps_and_say_so(tmp_path):
    shutil.copytree(REFERENCE / "aimd_segment_0" / "outputs", tmp_path, dirs_exist_ok=True)
    shutil.copy(REFERENCE / "aimd_segment_0" / "inputs" / "INCAR", tmp_path / "INCAR")
    text = (tmp_path / "vasprun.xml").read_text()
    (tmp_path / "vasprun.xml").write_text(text[: int(len(text) * 0.55)])  # killed mid-step
    parsed = read_aimd_frames(tmp_path)
    assert parsed.truncated and 0 < len(parsed.frames) < 5 and parsed.expected_steps == 5
    outcar = tmp_path / "OUTCAR"
    outcar.write_text((REFERENCE / "dielectric" / "outputs" / "OUTCAR").read_text()[:400])
    with pytest.raises(DopwfInputError, match="IONIC CONTRIBUTION"):
        read_dielectric(tmp_path)


def test_missing_vasp_or_potcars_is_refused_at_submit_time(tmp_path, lsips, monkeypatch):
    with pytest.raises(DopwfInputError, match="no vasp_cmd configured"):
        check_vasp_available(None, lsips)
    with pytest.raises(DopwfInputError, match="'vasp_nowhere' is not on PATH"):
        check_vasp_available("srun vasp_nowhere", lsips)
    fake = tmp_path / "vasp_std"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path / "no_potcars_here"))
    with pytest.raises(DopwfInputError, match="POTCARs .* not found"):
        check_vasp_available("vasp_std", lsips)
