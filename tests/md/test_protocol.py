"""The MD protocol: stages, thermostat check, unwrapped frames, exact resumption after a kill."""

import csv

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.io import read

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.md.protocol import MDProtocol, protocol_from_preset, run_md
from tests.helpers import copper

from ..calculators import DyingEMT, Killed


def test_stages_thermostat_and_trajectory(tmp_path):
    protocol = protocol_from_preset("smoke", production_ps=1.0)
    result = run_md(copper(3), EMT(), protocol, 600.0, tmp_path, seed=1, progress=False)
    assert result.thermostat_ok and abs(result.mean_production_temperature_K - 600) < 12
    rows = list(csv.DictReader(open(tmp_path / "md_log.csv")))
    assert [r["stage"] for r in rows].count("heating") == protocol.stage_steps["heating"] // 2
    heating = [float(r["temperature_K"]) for r in rows if r["stage"] == "heating"]
    assert heating == pytest.approx(np.linspace(100, 600, len(heating) + 1)[1:], abs=1e-3)  # linear scaling
    frames = read(tmp_path / "trajectory.extxyz", ":")
    assert result.n_frames == len(frames) == protocol.stage_steps["production"] // 2
    assert [f.info["time_fs"] for f in frames[:3]] == [4.0, 8.0, 12.0]
    jumps = np.abs(np.diff([f.positions for f in frames], axis=0)).max()
    assert jumps < 1.0  # unwrapped: no jump across the cell


def test_killed_run_resumes_exactly(tmp_path):
    protocol = protocol_from_preset("smoke")
    ref = run_md(copper(), EMT(), protocol, 500.0, tmp_path / "ref", seed=2, checkpoint_every=20, progress=False)
    with pytest.raises(Killed):
        run_md(copper(), DyingEMT(130), protocol, 500.0, tmp_path / "run", seed=2, checkpoint_every=20,
               progress=False)
    resumed = run_md(copper(), EMT(), protocol, 500.0, tmp_path / "run", seed=2, checkpoint_every=20,
                     progress=False)
    a, b = read(ref.trajectory_path, ":"), read(resumed.trajectory_path, ":")
    assert len(a) == len(b) == ref.n_frames
    for fa, fb in zip(a, b, strict=True):
        assert np.allclose(fa.positions, fb.positions, atol=1e-10)
    assert (tmp_path / "ref" / "md_log.csv").read_text() == (tmp_path / "run" / "md_log.csv").read_text()


def test_presets_and_bad_input(tmp_path):
    assert MDProtocol(preset="paper").stage_steps == {"heating": 2000, "equilibration": 500, "production": 10000}
    assert protocol_from_preset("demo", production_ps=8.0).production_ps == 8.0
    with pytest.raises(DopwfInputError, match="preset 'fast'"):
        protocol_from_preset("fast")
    with pytest.raises(DopwfInputError, match="production_ps: Input should be greater than 0"):
        protocol_from_preset("smoke", production_ps=-1.0)
    with pytest.raises(DopwfInputError, match="is it in K"):
        run_md(copper(), EMT(), MDProtocol(preset="smoke"), 0.3, tmp_path, progress=False)


class _EMTOnTheWall(EMT):
    """EMT that reports a network's core-repulsion energy (as BPNNCalculator does): always touching."""

    def __init__(self, wall_eV):
        super().__init__()
        self.wall_eV = wall_eV

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.results["core_repulsion_energy"] = self.wall_eV


def test_time_on_a_networks_wall_is_recorded_and_warned_about(tmp_path):
    import json

    protocol = protocol_from_preset("smoke")
    grazing = run_md(copper(), _EMTOnTheWall(0.25), protocol, 500.0, tmp_path / "graze", seed=1, progress=False)
    info = json.loads((tmp_path / "graze" / "md_run.json").read_text())
    assert info["core_repulsion_contact_fraction"] == 1.0 and info["core_repulsion_max_eV"] == 0.25
    assert grazing.core_repulsion_contact_fraction == 1.0  # grazing: recorded, not warned about
    assert not any("core repulsion" in w for w in grazing.warnings)
    rows = list(csv.DictReader(open(tmp_path / "graze" / "md_log.csv")))
    assert {r["core_repulsion_eV"] for r in rows} == {"0.25000000"}
    walled = run_md(copper(), _EMTOnTheWall(1.5), protocol, 500.0, tmp_path / "wall", seed=1, progress=False)
    assert any("core repulsion reached 1.50 eV (active in 100 %" in w for w in walled.warnings)
    plain = run_md(copper(), EMT(), protocol, 500.0, tmp_path / "plain", seed=1, progress=False)
    assert "core_repulsion_contact_fraction" not in json.loads((tmp_path / "plain" / "md_run.json").read_text())
    assert not any("core repulsion" in w for w in plain.warnings) and plain.core_repulsion_contact_fraction is None


class _Diverging(EMT):
    """EMT until ``after`` force calls, then forces that send the atoms to infinity between two energy checks;
    like the network's calculator, it refuses positions that are not finite."""

    def __init__(self, after):
        super().__init__()
        self.after, self.calls = after, 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        if not np.isfinite(atoms.get_positions()).all():
            raise DopwfInputError("structure: positions contain NaN or inf")
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        if self.calls > self.after:
            self.results["forces"] = np.full((len(atoms), 3), 1e308)


def test_dynamics_that_diverge_between_two_checks_end_as_a_blow_up_not_a_crash(tmp_path):
    """Positions that became inf inside one step (a thermostat or a force overflowing) are the run blowing up
    (MDBlowUp, its run.json 'failed' with the reason): exploration and validation record it as a result."""
    import json

    from dopant_workflows.md.protocol import RUN_FILE, MDBlowUp

    protocol = protocol_from_preset("smoke")
    with pytest.raises(MDBlowUp, match="positions became NaN or inf at step"):
        run_md(copper(), _Diverging(after=30), protocol, 500.0, tmp_path, seed=1, progress=False)
    record = json.loads((tmp_path / RUN_FILE).read_text())
    assert record["status"] == "failed" and "diverged" in record["failure_reason"]
