"""Custodian: explicit handler lists for MD and DFPT, and one call that runs VASP under them.

MD list: VaspErrorHandler, StdErrHandler, NonConvergingErrorHandler, FrozenJobErrorHandler, PositiveEnergyErrorHandler,
and WalltimeHandler when a walltime is known (it asks VASP to stop cleanly so the segment can be continued).
Not PotimErrorHandler: it shrinks POTIM, which changes the MD protocol (atomate2's MD jobs leave it out too).
DFPT list: VaspErrorHandler, StdErrHandler, UnconvergedErrorHandler, NonConvergingErrorHandler,
FrozenJobErrorHandler, MeshSymmetryErrorHandler. Corrections land in custodian.json beside the run.
"""

from __future__ import annotations

import json
from pathlib import Path

from custodian import Custodian
from custodian.custodian import Job
from custodian.vasp.handlers import (
    FrozenJobErrorHandler,
    MeshSymmetryErrorHandler,
    NonConvergingErrorHandler,
    PositiveEnergyErrorHandler,
    StdErrHandler,
    UnconvergedErrorHandler,
    VaspErrorHandler,
    WalltimeHandler,
)
from custodian.vasp.jobs import VaspJob


def md_handlers(walltime_s: int | None = None) -> list:
    handlers = [VaspErrorHandler(), StdErrHandler(), NonConvergingErrorHandler(), FrozenJobErrorHandler(),
                PositiveEnergyErrorHandler()]
    if walltime_s:
        handlers.append(WalltimeHandler(wall_time=walltime_s, buffer_time=300))
    return handlers


def dielectric_handlers() -> list:
    return [VaspErrorHandler(), StdErrHandler(), UnconvergedErrorHandler(), NonConvergingErrorHandler(),
            FrozenJobErrorHandler(), MeshSymmetryErrorHandler()]


def run_vasp(run_dir: str | Path, vasp_cmd: str | list[str], handlers: list, job: Job | None = None,
             max_errors: int = 5, polling_time_step_s: float = 10.0) -> list[dict]:
    """Run VASP (or a replay job) in ``run_dir`` under custodian; returns the corrections custodian made.

    ``polling_time_step_s``: how often custodian checks the running job (replays finish at once: use ~0.1 s).
    """
    run_dir = Path(run_dir)
    command = vasp_cmd.split() if isinstance(vasp_cmd, str) else list(vasp_cmd)
    job = job or VaspJob(command, auto_npar=False, copy_magmom=False)
    Custodian(handlers, [job], max_errors=max_errors, directory=str(run_dir),
              polling_time_step=polling_time_step_s, monitor_freq=1).run()
    log = run_dir / "custodian.json"
    return [c for run in json.loads(log.read_text()) for c in run.get("corrections", [])] if log.exists() else []
