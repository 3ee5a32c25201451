"""`dopwf submit` and `dopwf run`: a study as FireWorks workflows, on a cluster or on the embedded store."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
from pathlib import Path

from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")
LOCK_FILE = ".dopwf-run.lock"


def add_study_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="add a study's workflow to the configured LaunchPad (lpad add)")
    p.add_argument("study")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.add_argument("--dry-run", action="store_true", help="write the workflow file instead of submitting")
    p.add_argument("-o", "--output", default="wf.yaml", help="workflow file for --dry-run (lpad add accepts it)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("run", help="embedded store: submit the study and run every Firework in this process")
    p.add_argument("study")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.set_defaults(func=cmd_run)


def _use_config(config_dir: str | None) -> Path:
    """Point FireWorks at a configuration before it is imported (it reads its config at import)."""
    if config_dir:
        path = Path(config_dir).expanduser().resolve() / "FW_config.yaml"
        if not path.is_file():
            raise DopwfInputError(f"--config {config_dir!r}: no FW_config.yaml there (run dopwf init --dir {config_dir})")
        os.environ["FW_CONFIG_FILE"] = str(path)
    path = os.environ.get("FW_CONFIG_FILE")
    if not path or not Path(path).is_file():
        raise DopwfInputError("FireWorks configuration: set FW_CONFIG_FILE (the line dopwf init prints) or pass --config")
    return Path(path).parent


def _build(study_path: str):
    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study, study_substitutions
    from dopant_workflows.study import load_study

    study = load_study(study_path)
    substitutions = study_substitutions(study)
    return study, substitutions, get_wf_dopant_study(study, substitutions)


def _preflight(study, substitutions) -> None:
    """Everything that would make Fireworks fizzle hours later, checked now."""
    from fireworks import FWorker

    from dopant_workflows.db import ResultsDB

    env = FWorker.auto_load().env or {}
    if not env.get("db_file"):
        raise DopwfInputError("my_fworker.yaml: env.db_file is not set (dopwf init writes it)")
    ResultsDB.from_file(env["db_file"]).check_reachable()
    if not env.get("runs_dir"):
        raise DopwfInputError("my_fworker.yaml: env.runs_dir is not set (dopwf init writes it)")
    if study.engine == "vasp":
        from dopant_workflows.engines.vasp.inputs import check_vasp_available
        from dopant_workflows.structures.hosts import load_host

        check_vasp_available(env.get("vasp_cmd"), load_host(study.host))
    else:
        from pymatgen.io.ase import AseAtomsAdaptor

        from dopant_workflows.engines.universal import check_elements, parse_engine

        for sub in substitutions:
            check_elements(AseAtomsAdaptor.get_atoms(sub.structure), parse_engine(study.engine))


def cmd_submit(args: argparse.Namespace) -> int:
    study, substitutions, wf = _build(args.study)
    if args.dry_run:
        wf.to_file(args.output)
        print(f"wrote {args.output}: {len(wf.fws)} Fireworks for {len(substitutions)} substitutions x "
              f"{len(study.temperatures_K)} temperatures (lpad add {args.output})")
        return 0
    _use_config(args.config)
    from fireworks import LaunchPad

    _preflight(study, substitutions)
    lpad = LaunchPad.auto_load()
    if lpad.fw_id_assigner.count_documents({}) == 0:
        raise DopwfInputError("LaunchPad: not initialised; run `lpad reset` once (it holds no workflows yet)")
    ids = lpad.add_wf(wf)
    print(f"submitted study {study.name}: {len(ids)} Fireworks (launch with rlaunch rapidfire or qlaunch rapidfire)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config_dir = _use_config(args.config)
    from fireworks import FWorker, LaunchPad
    from fireworks.core.rocket_launcher import rapidfire
    from fireworks.fw_config import MONGOMOCK_SERVERSTORE_FILE

    if not MONGOMOCK_SERVERSTORE_FILE:
        raise DopwfInputError("dopwf run: the configuration uses a MongoDB server; submit with dopwf submit and "
                              "launch with rlaunch/qlaunch rapidfire")
    lock = open(config_dir / LOCK_FILE, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise DopwfInputError(f"{config_dir}: another dopwf run is using this embedded store (one process at a "
                              "time); wait for it or use another --config") from None
    study, substitutions, wf = _build(args.study)
    _preflight(study, substitutions)
    lpad, worker = LaunchPad.auto_load(), FWorker.auto_load()
    if lpad.fw_id_assigner.count_documents({}) == 0:  # a new embedded store: initialise it (it holds nothing)
        lpad.reset("", require_password=False)
    lpad.add_wf(wf)  # dupefinders link repeated AIMD/training/MD to the Fireworks already there
    for fw_id in lpad.get_fw_ids({"state": {"$in": ["RUNNING", "RESERVED"]}}):
        lpad.rerun_fw(fw_id)  # left RUNNING by an interrupted dopwf run: rerun from its checkpoints
    launches = Path(worker.env["runs_dir"]) / "launches"
    launches.mkdir(parents=True, exist_ok=True)
    rapidfire(lpad, worker, m_dir=str(launches), nlaunches=0, sleep_time=0)
    states = {}
    for fw_id in lpad.get_fw_ids({"name": {"$regex": f"^{study.name} "}}):
        state = lpad.get_fw_by_id(fw_id).state
        states[state] = states.get(state, 0) + 1
    print(f"study {study.name}: Fireworks by state {states}; results in {worker.env['db_file']}")
    return 0 if set(states) <= {"COMPLETED"} else 1
