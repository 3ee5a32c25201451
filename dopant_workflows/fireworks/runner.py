"""Running studies: submit to a LaunchPad, or run every Firework here on the embedded store; build; report.

``run_embedded_study`` is what ``dopwf run`` does: one process at a time on the embedded store (a lock), a new
store initialised, the study added (dupefinders link what already ran), Fireworks an interrupted run left behind
rerun from their checkpoints, one Firework launched at a time until none is ready or a signal asks to stop, then
the builders and the report. Call ``config.use_fw_config`` before this module is imported.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from fireworks import FWorker, LaunchPad
from fireworks.core.rocket_launcher import rapidfire
from fireworks.fw_config import LAUNCHPAD_LOC, MONGOMOCK_SERVERSTORE_FILE

from dopant_workflows.db import COLLECTIONS, ResultsDB, insert
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks import embedded_store
from dopant_workflows.fireworks.config import fireworks_stream_level, quiet_fireworks
from dopant_workflows.fireworks.preflight import check_study, check_worker

log = logging.getLogger(__name__)
LOCK_FILE = ".dopwf-run.lock"

embedded_store.install()  # before any LaunchPad opens the store: atomic saves, unreadable files named


def open_launchpad(verbose: bool = False, read_only: bool = False) -> LaunchPad:
    """The configured LaunchPad, its console lines at WARNING (DEBUG with ``verbose``). ``read_only``: an embedded
    store is never written by this process (commands that only look: a run beside them loses nothing)."""
    if read_only:
        embedded_store.read_only()
    level = quiet_fireworks(verbose)
    if LAUNCHPAD_LOC:
        from monty.serialization import loadfn

        return LaunchPad.from_dict({**loadfn(LAUNCHPAD_LOC), "strm_lvl": level})
    return LaunchPad(strm_lvl=level)


_held_locks: list = []  # open lock files, held until the process exits


def hold_store_lock(config_dir: Path, command: str) -> None:
    """Take the embedded store's lock for the rest of this process (every dopwf command that writes the store or
    the results files does), or refuse naming the process that holds it. Its file records the holder."""
    if not MONGOMOCK_SERVERSTORE_FILE:
        return  # a MongoDB server takes concurrent writers
    path = Path(config_dir) / LOCK_FILE
    lock = open(path, "a+")  # noqa: SIM115 - held until the process exits; "a+": the holder's record is kept
    for _ in range(20):  # ~2 s: dopwf status probes the lock for an instant; a real holder keeps it
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.1)
    else:
        lock.seek(0)
        holder = lock.read().strip() or "another process"
        lock.close()
        raise DopwfInputError(f"{config_dir}: another dopwf run is using this embedded store ({holder}; one writer "
                              "at a time): wait for it, watch it with dopwf status, or use another --config") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}: {command}, since {time.strftime('%H:%M:%S')}\n")
    lock.flush()
    _held_locks.append(lock)


def store_lock_holder(config_dir: Path) -> str | None:
    """Who holds the store's lock now (its record), or None when nobody does."""
    path = Path(config_dir) / LOCK_FILE
    if not path.is_file():
        return None
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            return lock.read().strip() or "another process"
        fcntl.flock(lock, fcntl.LOCK_UN)
    return None


def _initialised(lpad: LaunchPad) -> LaunchPad:
    """A new embedded store holds nothing: initialise it. A MongoDB LaunchPad is never reset here."""
    if lpad.fw_id_assigner.count_documents({}) == 0:
        if not MONGOMOCK_SERVERSTORE_FILE:
            raise DopwfInputError("LaunchPad: not initialised; run `lpad reset` once (it holds no workflows yet)")
        lpad.reset("", require_password=False)
    return lpad


def worker_env() -> dict:
    return FWorker.auto_load().env or {}


def results_db() -> ResultsDB:
    env = worker_env()
    if not env.get("db_file"):
        raise DopwfInputError("my_fworker.yaml: env.db_file is not set (dopwf init writes it)")
    return ResultsDB.from_file(env["db_file"])


def record_plan(db: ResultsDB, study, substitutions) -> None:
    """The study's ``studies`` document: what it asks for now (its builders fit these temperatures only). The
    same plan submitted again is left as it was (its time unchanged: nothing to rebuild)."""
    from dopant_workflows.schemas.plan import StudyPlanDocument

    plan = StudyPlanDocument(study=study.name, temperatures_K=[float(t) for t in study.temperatures_K],
                             substitution_ids=[s.id for s in substitutions], engine=study.engine)
    content = plan.model_dump(include={"temperatures_K", "substitution_ids", "engine"})
    known = documents(db, "studies", study.name)
    if not known or {k: known[0].get(k) for k in content} != content:
        insert(db, "studies", plan.model_dump())


def submit_study(study, substitutions, workflow, verbose: bool = False) -> list[int]:
    """Add the study's workflow to the configured LaunchPad. The workers that will run it check their own env
    when each Firework starts; this machine's worker file is checked too when it names a results database, and
    the study's plan is recorded there."""
    check_study(study, substitutions)
    env = worker_env()
    if env.get("db_file"):
        check_worker(env, study)
    else:
        log.info("this machine's my_fworker.yaml names no results database: each worker checks its own at launch")
    ids = list(_initialised(open_launchpad(verbose)).add_wf(workflow).values())
    if env.get("db_file"):
        record_plan(ResultsDB.from_file(env["db_file"]), study, substitutions)
    return ids


@dataclass(frozen=True)
class RunOutcome:
    interrupted: bool
    states: dict[str, int]
    builders: dict | None = None  # builders.BuildSummary
    report_text: str | None = None
    report_dir: Path | None = None
    db_file: str | None = None

    @property
    def ok(self) -> bool:
        return (not self.interrupted and set(self.states) <= {"COMPLETED", "linked duplicates"}
                and not (self.builders and self.builders.failures))


def run_embedded_study(study, substitutions, workflow, config_dir: Path, report_dir: Path | None = None,
                       verbose: bool = False, workers: int = 1) -> RunOutcome:
    if not MONGOMOCK_SERVERSTORE_FILE:
        raise DopwfInputError("dopwf run: the configuration uses a MongoDB server; submit with dopwf submit and "
                              "launch with rlaunch/qlaunch rapidfire")
    hold_store_lock(config_dir, "dopwf run")
    worker = FWorker.auto_load()
    env = worker.env or {}
    check_study(study, substitutions)
    check_worker(env, study)
    lpad = _initialised(open_launchpad(verbose))
    lpad.add_wf(workflow)  # dupefinders link repeated AIMD/training/MD to the Fireworks already there
    record_plan(ResultsDB.from_file(env["db_file"]), study, substitutions)
    for fw_id in interrupted_fireworks(lpad):
        lpad.rerun_fw(fw_id)  # stopped by an interrupted dopwf run: rerun, continuing from its checkpoints
    launches = Path(env["runs_dir"]) / "launches"
    if workers > 1:
        from dopant_workflows.fireworks.parallel import launch_parallel

        finished = launch_parallel(lpad, worker, launches, workers)
    else:
        finished = _launch_all(lpad, worker, launches, verbose)
    if not finished:
        return RunOutcome(interrupted=True, states=study_states(lpad, study.name))
    states = study_states(lpad, study.name)
    db = ResultsDB.from_file(env["db_file"])
    summary = build(db, study.name)
    report_dir = report_dir or Path(env["runs_dir"]) / study.name / "report"
    return RunOutcome(False, states, summary, report(db, report_dir, study.name), report_dir, env["db_file"])


def _launch_all(lpad: LaunchPad, worker: FWorker, launches: Path, verbose: bool) -> bool:
    """Launch Fireworks one at a time until none is ready (True) or a signal says stop (False).

    The embedded store is written after every Firework and when this process exits normally; SIGTERM (a
    scheduler, `kill`) is turned into the same clean exit as Ctrl-C, so what finished is kept and the running
    Firework resumes next time. FireWorks
    records an exception in a Firetask (KeyboardInterrupt included) as FIZZLED and moves on to the next Firework,
    so one is launched at a time and the loop stops when told."""
    launches.mkdir(parents=True, exist_ok=True)
    cwd, stop = os.getcwd(), []  # rapidfire changes directory into its launch directories

    def interrupt(signum, frame):
        stop.append(signum)
        raise KeyboardInterrupt(f"dopwf run interrupted (signal {signum})")

    previous = signal.signal(signal.SIGTERM, interrupt), signal.signal(signal.SIGINT, interrupt)
    level = fireworks_stream_level(verbose)  # open_launchpad already quietened FireWorks' loggers
    try:
        while not stop and lpad.run_exists(worker):
            newest, started = _newest_launch(lpad), time.perf_counter()
            rapidfire(lpad, worker, m_dir=str(launches), nlaunches=1, sleep_time=0, strm_lvl=level)
            embedded_store.save(lpad)  # a run killed later (SIGKILL, OOM) keeps every Firework finished so far
            _log_launches(lpad, newest, time.perf_counter() - started)
    except KeyboardInterrupt:
        stop.append(True)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        os.chdir(cwd)
    return not stop


def _newest_launch(lpad: LaunchPad) -> int:
    newest = lpad.launches.find_one({}, {"launch_id": 1}, sort=[("launch_id", -1)])
    return newest["launch_id"] if newest else 0


def _log_launches(lpad: LaunchPad, after_launch_id: int, seconds: float) -> None:
    """One line per Firework just run: its name, final state and wall time (the end of a stage in the output)."""
    for launch in lpad.launches.find({"launch_id": {"$gt": after_launch_id}}, {"fw_id": 1, "state": 1}):
        fw = lpad.fireworks.find_one({"fw_id": launch["fw_id"]}, {"name": 1}) or {}
        log.info("== %s: %s in %.1f min", fw.get("name", f"Firework {launch['fw_id']}"), launch["state"],
                 seconds / 60)


def interrupted_fireworks(lpad: LaunchPad) -> list[int]:
    """Fireworks an earlier dopwf run left behind when it was stopped: RUNNING ones (a process killed outright)
    and FIZZLED ones whose error is a KeyboardInterrupt (ours, or Ctrl-C: FireWorks stores it as the exception)."""
    ids = lpad.get_fw_ids({"state": {"$in": ["RUNNING", "RESERVED"]}})
    for fw in lpad.fireworks.find({"state": "FIZZLED"}, {"fw_id": 1, "launches": 1}):
        launch = lpad.launches.find_one({"launch_id": {"$in": fw.get("launches", [])[-1:]}}, {"action": 1})
        trace = str(((launch or {}).get("action") or {}).get("stored_data", {}).get("_exception", {}))
        if "KeyboardInterrupt" in trace:
            ids.append(fw["fw_id"])
    return ids


def study_states(lpad: LaunchPad, study_name: str) -> dict[str, int]:
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


def studies(lpad: LaunchPad) -> list[str]:
    return sorted({wf["metadata"].get("study") for wf in lpad.workflows.find({}, {"metadata": 1})} - {None})


def build(db: ResultsDB, study: str | None = None):
    """Run the builders on ``db`` (``study``: that study's documents only); returns their ``BuildSummary``
    (failures included)."""
    from builders import get_builders, run_builders

    return run_builders(get_builders(db, study))


def documents(db: ResultsDB, collection: str, study: str | None = None) -> list[dict]:
    store = db.store(collection)
    store.connect()
    try:
        return list(store.query({"study": study} if study else {}))
    finally:
        store.close()


def result_studies(db: ResultsDB) -> list[str]:
    """The studies that have documents in the results database (a plan alone, submitted and not run, is none)."""
    return sorted({doc.get("study") for collection in COLLECTIONS if collection != "studies"
                   for doc in documents(db, collection)} - {None})


def check_known_study(db: ResultsDB, study: str) -> None:
    """A --study that names no study in the results database: an error naming those it holds."""
    known = result_studies(db)
    if study not in known:
        raise DopwfInputError(f"--study {study!r}: no results of that study in the results database; studies "
                              f"with results: {', '.join(known) if known else 'none yet'}")


def report(db: ResultsDB, out: Path, study: str | None = None) -> str:
    """The report of ``study`` (all studies: None) written into ``out``; its text. A study without results is an
    error naming the studies that have some (no empty report for a misspelt name)."""
    from dopant_workflows.report import write_report

    if study is not None:
        check_known_study(db, study)
    elif not result_studies(db):
        raise DopwfInputError(f"results database ({db.kind}: {db.uri or db.directory}): no results yet; run a study "
                              "(dopwf run, or dopwf submit and rlaunch/qlaunch) and dopwf build first")
    return write_report(documents(db, "conductivity", study), documents(db, "anderson_stuart", study),
                        documents(db, "diffusivity", study), out, documents(db, "validation", study),
                        documents(db, "active_learning", study), documents(db, "label_sets", study))


def collection_counts(db: ResultsDB) -> dict[str, int]:
    return {collection: len(documents(db, collection)) for collection in COLLECTIONS}
