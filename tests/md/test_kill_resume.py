"""A `dopwf md` process killed with SIGKILL at any moment (before its first checkpoint, or between two checkpoints
with output already written after the last one), then run again with the same command, ends with the files of an
uninterrupted run: trajectory and MD log byte for byte, the same final state, the same analysis."""

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from ase.io import write
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.names import CHECKPOINT_FILE, MD_LOG_FILE, MD_TRAJECTORY_FILE
from tests.helpers import DOPWF, dopwf, dopwf_env

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "bench" / "data" / "lsips_demo_network.json"  # the network `make demo` hands on
STEPS = 790  # smoke heating + equilibration (20 + 20 steps) + 1.5 ps of production at 2 fs
CHECKPOINT_EVERY = 250  # md.protocol.run_md's default: checkpoints at 250, 500, 750 and the end


def _command(cell: Path, out: Path) -> list[str]:
    return ["md", str(cell), "--model", str(MODEL), "--temperature-K", "600", "--preset", "smoke",
            "--production-ps", "1.5", "--seed", "7", "--out", str(out)]


def _checkpoint(run_dir: Path) -> dict | None:
    try:
        with np.load(run_dir / CHECKPOINT_FILE) as data:  # written by rename: whole or absent
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        return None


def _kill_when(process: subprocess.Popen, ready, what: str, timeout_s: float = 600) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (polled every 5 ms)."""
    deadline = time.time() + timeout_s
    while not ready():
        assert process.poll() is None, f"dopwf md ended (exit {process.returncode}) before {what}"
        assert time.time() < deadline, f"no {what} after {timeout_s} s"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_dopwf_md_killed_anywhere_resumes_to_the_uninterrupted_files(lsips, tmp_path):
    """150 atoms (the LSiPS host 3x1x1), the demo network, 790 steps. Measured (2026-12, 2 cores): the resumed run's
    trajectory.extxyz (375 frames), md_log.csv and final checkpoint (positions, momenta, Nose-Hoover chain) are
    identical to the uninterrupted run's, bit for bit; 31 s in all."""
    cell = tmp_path / "cell.extxyz"
    write(cell, AseAtomsAdaptor.get_atoms(lsips).repeat((3, 1, 1)))
    reference = dopwf(_command(cell, tmp_path / "reference"), tmp_path)
    assert reference.returncode == 0, reference.stderr[-3000:]
    run = tmp_path / "run"
    trajectory = run / MD_TRAJECTORY_FILE

    # 1. in production, before the first checkpoint: the rerun has nothing to resume and starts again
    first = subprocess.Popen([str(DOPWF), *_command(cell, run)], cwd=tmp_path, env=dopwf_env(tmp_path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(first, lambda: trajectory.exists() and trajectory.stat().st_size > 0, "a production frame")
    assert _checkpoint(run) is None and trajectory.stat().st_size > 0

    # 2. between two checkpoints, with frames written after the last one (the rerun must drop them)
    def past_a_checkpoint() -> bool:
        saved = _checkpoint(run)
        return saved is not None and int(saved["step"]) < STEPS and trajectory.stat().st_size > int(
            saved["trajectory_bytes"])

    second = subprocess.Popen([str(DOPWF), *_command(cell, run)], cwd=tmp_path, env=dopwf_env(tmp_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(second, past_a_checkpoint, "frames written after a checkpoint")
    saved = _checkpoint(run)
    step = int(saved["step"])
    assert step % CHECKPOINT_EVERY == 0 and 0 < step < STEPS
    assert trajectory.stat().st_size > int(saved["trajectory_bytes"])  # killed mid-segment, not at a checkpoint

    again = dopwf(_command(cell, run), tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming {run} at step {step} of {STEPS}" in again.stderr
    for name in (MD_TRAJECTORY_FILE, MD_LOG_FILE):
        assert (run / name).read_bytes() == (tmp_path / "reference" / name).read_bytes(), name
    final, uninterrupted = _checkpoint(run), _checkpoint(tmp_path / "reference")
    assert sorted(final) == sorted(uninterrupted) and int(final["step"]) == STEPS
    for key in final:
        np.testing.assert_array_equal(final[key], uninterrupted[key], err_msg=key)

    def analysis(directory: Path) -> dict:  # the numbers: the paths (trajectory, plots) name their own directory
        return {k: v for k, v in json.loads((directory / "analysis" / "analysis.json").read_text()).items()
                if k not in ("trajectory", "plots")}

    assert analysis(run) == analysis(tmp_path / "reference")
