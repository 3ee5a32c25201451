"""Embedded reference AIMD: resumption after a kill, blow-up detection, real CHGNet frames, the data set."""

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.io import read
from ase.stress import full_3x3_to_voigt_6_stress
from pydantic import ValidationError
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.engines.embedded import run_embedded_aimd
from dopant_workflows.engines.schedule import AIMDSettings, parse_temperature_range
from dopant_workflows.engines.universal import check_elements, parse_engine
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.md.driver import MDBlowUp
from dopant_workflows.schemas.training_set import describe_training_set
from tests.helpers import copper

from ..calculators import DyingEMT, JumpingEMT, Killed

SETTINGS = AIMDSettings(n_steps=40, segment_steps=20, temperature_start_K=300, temperature_end_K=900, seed=3)


def test_killed_run_resumes_from_its_checkpoint_and_ends_identical(tmp_path):
    reference = run_embedded_aimd(copper(), SETTINGS, tmp_path / "ref", engine="emt", calculator=EMT(),
                                  checkpoint_every=10, progress=False)
    assert reference.n_frames == 40
    with pytest.raises(Killed):
        run_embedded_aimd(copper(), SETTINGS, tmp_path / "run", engine="emt", calculator=DyingEMT(27),
                          checkpoint_every=10, progress=False)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "running"
    resumed = run_embedded_aimd(copper(), SETTINGS, tmp_path / "run", engine="emt", calculator=EMT(),
                                checkpoint_every=10, progress=False)
    assert resumed.n_frames == 40
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "completed"
    assert resumed.steps_per_s > 0
    a, b = read(tmp_path / "ref" / "frames.extxyz", ":"), read(tmp_path / "run" / "frames.extxyz", ":")
    assert [f.info["step"] for f in b] == list(range(1, 41))
    for fa, fb in zip(a, b, strict=True):
        assert np.allclose(fa.positions, fb.positions, atol=1e-10)
        assert fa.get_potential_energy() == pytest.approx(fb.get_potential_energy(), abs=1e-10)


def test_blow_up_stops_the_run_and_flags_earlier_frames(tmp_path):
    with pytest.raises(MDBlowUp, match="energy jumped"):  # the same convention as the MD protocol
        run_embedded_aimd(copper(), SETTINGS, tmp_path, engine="emt", calculator=JumpingEMT(15), progress=False)
    frames = read(tmp_path / "frames.extxyz", ":")
    assert 0 < len(frames) < 20
    assert all(f.info["flag"] == "precedes_failure" for f in frames)
    document = describe_training_set(tmp_path)
    assert document.status == "failed" and "energy jumped" in document.failure_reason


def test_checkpoint_of_another_run_is_refused(tmp_path):
    run_embedded_aimd(copper(), AIMDSettings(n_steps=5, segment_steps=5), tmp_path, engine="emt", calculator=EMT(),
                      progress=False)
    with pytest.raises(DopwfInputError, match="checkpoint of a different run"):
        run_embedded_aimd(copper(), AIMDSettings(n_steps=6, segment_steps=5), tmp_path, engine="emt",
                          calculator=EMT(), progress=False)


def test_chgnet_frames_and_document(tmp_path, lsips):
    atoms = AseAtomsAdaptor.get_atoms(lsips)
    settings = AIMDSettings(n_steps=6, segment_steps=3, sample_every=2, temperature_start_K=300,
                            temperature_end_K=1000)
    result = run_embedded_aimd(atoms, settings, tmp_path, engine="chgnet", progress=False)
    assert result.n_frames == 3
    frames = read(tmp_path / "frames.extxyz", ":")
    for frame in frames:
        assert np.isfinite(frame.get_potential_energy()) and -6 < frame.get_potential_energy() / 50 < -3
        assert frame.get_forces().shape == (50, 3) and frame.get_stress().shape == (6,)
        assert {"step", "time_fs", "temperature_K", "target_temperature_K", "segment"} <= set(frame.info)
    assert [f.info["time_fs"] for f in frames] == [4.0, 8.0, 12.0]
    document = describe_training_set(tmp_path)
    assert document.engine == "embedded:chgnet" and document.model == "CHGNet 0.3.0"
    assert document.n_frames == 3 and document.formula == "ClLi20P3S23Si3"
    assert document.set_id.startswith("embedded:chgnet-") and len(document.frames_sha256) == 64
    # the ANN trainer reads these frames as they are
    from dopant_workflows.ann.dataset import load_images

    assert len(load_images(tmp_path / "frames.extxyz")) == 3


def test_chgnet_runs_stress_only_when_asked(lsips):
    """MD asks for forces: CHGNet's task "ef" (no second backward pass for the stress), the same forces bit for
    bit as its "efsm"; a caller that asks for the stress still gets it."""
    from dopant_workflows.engines.universal import make_calculator

    calculator, _ = make_calculator("chgnet")
    atoms = AseAtomsAdaptor.get_atoms(lsips)
    atoms.rattle(0.05, seed=3)
    atoms.calc = calculator
    forces = atoms.get_forces().copy()
    assert "stress" not in calculator.results and "magmoms" not in calculator.results
    energy = atoms.get_potential_energy()  # cached: no second call
    stress = atoms.get_stress()
    assert stress.shape == (6,) and np.all(np.isfinite(stress)) and np.abs(stress).max() > 0
    calculator.calculate(atoms, ["forces"], None, task="efsm")  # CHGNet's own default
    assert np.array_equal(calculator.results["forces"], forces)
    assert calculator.results["energy"] == energy
    assert np.array_equal(full_3x3_to_voigt_6_stress(calculator.results["stress"]), stress)
    calculator.stress_with_forces = True  # what the AIMD driver sets for a step whose frame it stores
    atoms.rattle(0.01, seed=4)
    atoms.get_forces()
    assert "stress" in calculator.results


def test_schedule_segments_and_ramp():
    settings = AIMDSettings(n_steps=1000, segment_steps=300, temperature_start_K=300, temperature_end_K=1000)
    segments = settings.segments()
    assert [(s.start_step, s.stop_step) for s in segments] == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    assert segments[1].temperature_begin_K == pytest.approx(510) and segments[-1].temperature_end_K == 1000
    assert parse_temperature_range("300:1000") == (300, 1000) and parse_temperature_range("600") == (600, 600)
    for bad in ["300-1000", "0:1000", "hot"]:
        with pytest.raises(DopwfInputError, match="--temperatures"):
            parse_temperature_range(bad)
    with pytest.raises(ValidationError, match="are they in K"):
        AIMDSettings(temperature_start_K=0.3, temperature_end_K=1.0)
    with pytest.raises(ValidationError, match="n_steps"):
        AIMDSettings(n_steps=0)


def test_engine_names_and_coverage():
    assert parse_engine("embedded") == "chgnet" and parse_engine("embedded:sevenn") == "sevenn"
    with pytest.raises(DopwfInputError, match="unknown embedded model"):
        parse_engine("embedded:mace")
    with pytest.raises(DopwfInputError, match=r"\['Xe'\] are not covered"):
        check_elements(bulk("Xe", "fcc", a=6.2), "chgnet")
