"""`dopwf submit` and `dopwf run`: a study as FireWorks workflows, on a cluster or on the embedded store."""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import re
import signal
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

    p = sub.add_parser("run", help="embedded store: submit the study, run every Firework here, build, report")
    p.add_argument("study")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.add_argument("--out", help="report directory (default: <runs_dir>/<study>/report)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("build", help="run the maggma builders: diffusivity, conductivity, anderson_stuart")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("report", help="the paper's Table 2 and Table 3 (text, Markdown, CSV) and plots")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.add_argument("--study", help="only this study")
    p.add_argument("--out", default="report", help="directory for report.md, table2.csv, table3.csv, plots")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="Fireworks by state per study, and documents per results collection")
    p.add_argument("--config", help="FireWorks configuration directory (default: $FW_CONFIG_FILE's)")
    p.set_defaults(func=cmd_status)


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


def _workflow(study_path: str):
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
    study, substitutions, wf = _workflow(args.study)
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
    cwd = os.getcwd()  # rapidfire changes directory into its launch directories: resolve user paths first
    out = Path(args.out).resolve() if args.out else None
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
    study, substitutions, wf = _workflow(args.study)
    _preflight(study, substitutions)
    lpad, worker = LaunchPad.auto_load(), FWorker.auto_load()
    if lpad.fw_id_assigner.count_documents({}) == 0:  # a new embedded store: initialise it (it holds nothing)
        lpad.reset("", require_password=False)
    lpad.add_wf(wf)  # dupefinders link repeated AIMD/training/MD to the Fireworks already there
    for fw_id in _interrupted(lpad):
        lpad.rerun_fw(fw_id)  # stopped by an interrupted dopwf run: rerun, continuing from its checkpoints
    launches = Path(worker.env["runs_dir"]) / "launches"
    launches.mkdir(parents=True, exist_ok=True)
    # The embedded store is written when this process exits normally; SIGTERM (a scheduler, `kill`) is turned
    # into the same clean exit as Ctrl-C, so what finished is kept and the running Firework resumes next time.
    # FireWorks records an exception in a Firetask (KeyboardInterrupt included) as FIZZLED and moves on to the
    # next Firework, so launch one at a time and stop when told.
    stop = []
    previous = signal.signal(signal.SIGTERM, _interrupt(stop)), signal.signal(signal.SIGINT, _interrupt(stop))
    try:
        while not stop and lpad.run_exists(worker):
            rapidfire(lpad, worker, m_dir=str(launches), nlaunches=1, sleep_time=0)
    except KeyboardInterrupt:
        stop.append(True)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        os.chdir(cwd)
    if stop:
        log.warning("interrupted: finished Fireworks are kept; run the same command again to continue (the "
                    "interrupted Firework resumes from its checkpoint)")
        return 130
    states = _states(lpad, study.name)
    print(f"study {study.name}: Fireworks by state {states}; results in {worker.env['db_file']}")
    db = _results_db()
    counts = _run_builders(db)
    print(f"builders: {counts}")
    out = out or Path(worker.env["runs_dir"]) / study.name / "report"
    print(_report(db, out, study.name))
    print(f"report and plots in {out}")
    return 0 if set(states) <= {"COMPLETED", "linked duplicates"} else 1


def _interrupt(stop: list):
    """Signal handler: remember to stop, and stop the running Firetask now."""
    def handler(signum, frame):
        stop.append(signum)
        raise KeyboardInterrupt(f"dopwf run interrupted (signal {signum})")
    return handler


def _interrupted(lpad) -> list[int]:
    """Fireworks an earlier dopwf run left behind when it was stopped: RUNNING ones (a process killed outright)
    and FIZZLED ones whose error is a KeyboardInterrupt (ours, or Ctrl-C: FireWorks stores it as the exception)."""
    ids = lpad.get_fw_ids({"state": {"$in": ["RUNNING", "RESERVED"]}})
    for fw in lpad.fireworks.find({"state": "FIZZLED"}, {"fw_id": 1, "launches": 1}):
        launch = lpad.launches.find_one({"launch_id": {"$in": fw.get("launches", [])[-1:]}}, {"action": 1})
        trace = str(((launch or {}).get("action") or {}).get("stored_data", {}).get("_exception", {}))
        if "KeyboardInterrupt" in trace:
            ids.append(fw["fw_id"])
    return ids


def _states(lpad, study_name: str) -> dict[str, int]:
    """Fireworks of a study by state, counting each run once: Fireworks that FireWorks' dupefinder linked to an
    earlier identical one (a resubmission) share its launch and are counted apart, as 'linked duplicates'."""
    fireworks = list(lpad.fireworks.find({"name": {"$regex": f"^{re.escape(study_name)} "}},
                                         {"fw_id": 1, "state": 1, "launches": 1}))
    launch_ids = [i for fw in fireworks for i in fw.get("launches", [])]
    owner = {d["launch_id"]: d["fw_id"] for d in lpad.launches.find({"launch_id": {"$in": launch_ids}},
                                                                    {"launch_id": 1, "fw_id": 1})}
    states: dict[str, int] = {}
    linked = 0
    for fw in fireworks:
        launches = fw.get("launches", [])
        if launches and all(owner.get(i, fw["fw_id"]) != fw["fw_id"] for i in launches):
            linked += 1
            continue
        states[fw["state"]] = states.get(fw["state"], 0) + 1
    if linked:
        states["linked duplicates"] = linked
    return states


def _results_db():
    from fireworks import FWorker

    from dopant_workflows.db import ResultsDB

    env = FWorker.auto_load().env or {}
    if not env.get("db_file"):
        raise DopwfInputError("my_fworker.yaml: env.db_file is not set (dopwf init writes it)")
    return ResultsDB.from_file(env["db_file"])


def _run_builders(db) -> dict[str, int]:
    from builders import get_builders, run_builders

    plots = (db.directory.parent if db.directory else Path.cwd()) / "plots"
    return run_builders(get_builders(db, plots_dir=plots))


def _documents(db, collection: str, study: str | None) -> list[dict]:
    store = db.store(collection)
    store.connect()
    try:
        return list(store.query({"study": study} if study else {}))
    finally:
        store.close()


def _report(db, out: Path, study: str | None) -> str:
    from dopant_workflows.report import write_report

    return write_report(_documents(db, "conductivity", study), _documents(db, "anderson_stuart", study),
                        _documents(db, "diffusivity", study), out)


def cmd_build(args: argparse.Namespace) -> int:
    _use_config(args.config)
    print(f"builders: {_run_builders(_results_db())}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _use_config(args.config)
    print(_report(_results_db(), Path(args.out), args.study))
    print(f"written to {args.out}/ (report.md, table2.csv, table3.csv, arrhenius_all.png)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _use_config(args.config)
    from fireworks import LaunchPad

    from dopant_workflows.db import COLLECTIONS

    lpad = LaunchPad.auto_load()
    studies = sorted({wf["metadata"].get("study") for wf in lpad.workflows.find({}, {"metadata": 1})} - {None})
    for name in studies:
        print(f"study {name}: {_states(lpad, name)}")
    db = _results_db()
    print("results: " + ", ".join(f"{c} {len(_documents(db, c, None))}" for c in COLLECTIONS))
    return 0
