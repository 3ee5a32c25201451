"""A real SLURM batch system on localhost for the cluster-path test: munged, slurmctld and slurmd (Debian's
slurm-wlm and munge; `make test` installs them where it can), each with its own files and ports under a temporary
directory, so nothing outside it is touched. Where they cannot run, :func:`start` raises ``pytest.skip`` with the
reason: the cluster path is then reported as not tested, never as passed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "munge")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _slurm_conf(d: Path, host: str) -> str:
    return f"""ClusterName=dopwftest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge.socket
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
NodeName={host} CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _tail(path: Path, n: int = 5) -> str:
    return " | ".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else "(no log)"


def _stop(d: Path) -> None:
    for pid_file in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
        try:
            os.kill(int((d / pid_file).read_text().split()[0]), signal.SIGTERM)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass


@contextmanager
def local_slurm(directory: Path):
    """Start the three daemons in ``directory``; yields the environment (SLURM_CONF) their clients need; stops
    them on exit."""
    missing = [name for name in DAEMONS + CLIENTS if _which(name) is None]
    if missing:
        pytest.skip(f"SLURM not installed ({', '.join(missing)} not found; `make test` installs Debian's slurm-wlm "
                    "and munge where apt and root allow)")
    if os.geteuid() != 0:
        pytest.skip("SLURM on localhost needs root here (slurmd runs jobs as their user; SlurmUser=root)")
    d = Path(directory)
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    host = socket.gethostname().split(".")[0]
    (d / "slurm.conf").write_text(_slurm_conf(d, host))
    env = {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}
    try:
        started = subprocess.run([_which("munged"), "--force", f"--key-file={key}", f"--socket={d}/munge.socket",
                                  f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log",
                                  f"--seed-file={d}/munged.seed"], capture_output=True, text=True, timeout=30)
        if started.returncode != 0:
            pytest.skip(f"munged did not start: {started.stderr.strip() or _tail(d / 'munged.log')}")
        for daemon in ("slurmctld", "slurmd"):
            started = subprocess.run([_which(daemon), "-f", str(d / "slurm.conf")], env=env, capture_output=True,
                                     text=True, timeout=30)
            if started.returncode != 0:
                pytest.skip(f"{daemon} did not start: {started.stderr.strip() or _tail(d / f'{daemon}.log')}")
        deadline = time.time() + 30
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=10)
            if state.stdout.strip() == "idle":
                break
            time.sleep(0.5)
        else:
            pytest.skip(f"the SLURM node never became idle (sinfo: {state.stdout.strip() or state.stderr.strip()}; "
                        f"slurmd: {_tail(d / 'slurmd.log')}; slurmctld: {_tail(d / 'slurmctld.log')})")
        yield env
    finally:
        _stop(d)


def wait_for_empty_queue(env: dict, timeout_s: float) -> None:
    """Until squeue lists no job (the one job submitted has run), or fail naming what is still queued."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        queued = subprocess.run(["squeue", "-h", "-o", "%i %T %r"], env=env, capture_output=True, text=True,
                                timeout=30)
        if queued.returncode == 0 and not queued.stdout.strip():
            return
        time.sleep(1)
    raise AssertionError(f"SLURM jobs still queued after {timeout_s:.0f} s: {queued.stdout.strip()}")
