"""The VASP side of validation, on analytic frames: VASP writes positions wrapped into the cell and no velocities,
so the reference run's MSD and temperature come from unwrapped positions and their finite differences."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write
from ase.units import fs, kB

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.jobs.vasp_validation import (
    _temperatures_K,
    analyze_reference_md,
    reference_md_settings,
    unwrapped_positions,
)
from dopant_workflows.md.settings import MDProtocol

PROTOCOL = MDProtocol(preset="smoke", heating_ps=0.02, equilibration_ps=0.02, production_ps=0.1,
                      sample_interval_fs=4.0)


def _drifting(n_steps: int, velocity_A_fs: np.ndarray, cell: float = 5.0) -> list[Atoms]:
    """Two Li atoms moving at constant velocity, written wrapped into a cubic cell, as VASP writes them."""
    start = np.array([[0.5, 0.5, 0.5], [2.5, 2.5, 2.5]])
    frames = []
    for step in range(1, n_steps + 1):
        atoms = Atoms("Li2", positions=start + velocity_A_fs * 2.0 * step, cell=[cell] * 3, pbc=True)
        atoms.wrap()
        atoms.info.update(step=step)
        frames.append(atoms)
    return frames


def test_wrapped_positions_are_unwrapped_into_the_real_path():
    velocity = np.array([[0.3, -0.2, 0.0], [-0.3, 0.2, 0.0]])  # 0.6 A per step: crosses the 5 A cell often
    frames = _drifting(40, velocity)
    unwrapped = unwrapped_positions(frames)
    assert unwrapped[-1] - unwrapped[0] == pytest.approx(velocity * 2.0 * 39)


def test_temperature_from_finite_differences_is_the_kinetic_temperature():
    velocity = np.array([[0.01, 0.02, -0.005], [-0.01, -0.02, 0.005]])  # A/fs, centre of mass at rest
    frames = _drifting(10, velocity)
    masses = frames[0].get_masses()
    expected = (masses[:, None] * (velocity / fs) ** 2).sum() / ((3 * 2 - 3) * kB)
    temperatures = _temperatures_K(unwrapped_positions(frames), masses, 2.0)
    assert len(temperatures) == 8 and temperatures == pytest.approx(expected, rel=1e-9)


def test_reference_settings_are_the_protocol_at_constant_temperature_without_heating():
    reference = AIMDSettings(n_steps=2000, segment_steps=300, walltime_s=3600, temperature_start_K=300,
                             temperature_end_K=1000)
    settings = reference_md_settings(PROTOCOL, 800.0, 17, reference)
    assert settings.n_steps == 10 + 50 and settings.temperature_start_K == settings.temperature_end_K == 800.0
    assert (settings.segment_steps, settings.walltime_s, settings.seed, settings.sample_every) == (300, 3600, 17, 1)


def test_only_production_is_analysed_and_segments_may_arrive_in_any_order(tmp_path):
    velocity = np.array([[0.01, 0.0, 0.0], [-0.01, 0.0, 0.0]])
    frames = _drifting(60, velocity)
    write(tmp_path / "seg1.extxyz", frames[30:])
    write(tmp_path / "seg0.extxyz", frames[:30])
    record = analyze_reference_md([tmp_path / "seg1.extxyz", tmp_path / "seg0.extxyz"], PROTOCOL, 700.0, 3,
                                  tmp_path / "run")
    document = record["document"]
    assert record["status"] == "completed" and document["engine"] == "vasp"
    assert document["n_frames"] == 25  # steps 11-60, every second one
    # two atoms in ballistic flight at constant speed: a kinetic temperature far from 700 K is flagged
    assert not document["thermostat_ok"] and any("not within 2 %" in w for w in document["warnings"])


def test_a_segment_pushed_twice_from_different_runs_is_refused(tmp_path):
    frames = _drifting(30, np.zeros((2, 3)))
    write(tmp_path / "a.extxyz", frames)
    write(tmp_path / "b.extxyz", frames)
    with pytest.raises(ValueError, match="step numbers repeat"):
        analyze_reference_md([tmp_path / "a.extxyz", tmp_path / "b.extxyz"], PROTOCOL, 700.0, 3, tmp_path / "run")


def test_a_segment_cut_short_by_its_walltime_leaves_one_continuous_shorter_run(tmp_path):
    frames = _drifting(55, np.array([[0.01, 0.0, 0.0], [-0.01, 0.0, 0.0]]))
    for n, frame in enumerate(frames):  # segment 0 (steps 1-40) stopped after 35; segment 1 continued it
        frame.info.update(segment=0 if n < 35 else 1, step=n + 1 if n < 35 else n + 6)
    write(tmp_path / "seg1.extxyz", frames[35:])
    write(tmp_path / "seg0.extxyz", frames[:35])
    record = analyze_reference_md([tmp_path / "seg1.extxyz", tmp_path / "seg0.extxyz"], PROTOCOL, 700.0, 3,
                                  tmp_path / "run")
    document = record["document"]
    assert record["status"] == "completed" and document["n_frames"] == 22  # 45 production steps, every second
    assert any("45 of 50 production steps ran" in w for w in document["warnings"])
    written = read(tmp_path / "run" / "trajectory.extxyz", ":")
    assert np.diff([f.positions[0, 0] for f in written]) == pytest.approx(0.04)  # no jump where the segments meet
