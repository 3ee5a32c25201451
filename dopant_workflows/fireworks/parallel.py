"""``dopwf run --workers N``: independent Fireworks run N at a time on the embedded store, by FireWorks' own
reservation + offline launching (what ``qlaunch -r`` with ``rlaunch --offline`` does on a cluster).

The embedded store (mongomock) lives in this process and nowhere else, so no two processes ever write it. This
process reserves a ready Firework (``LaunchPad.reserve_fw``), writes its FW.json / FW_offline.json into a launch
directory (``setup_offline_job``) and starts a worker process there that runs it offline (``Rocket`` without a
LaunchPad: the Firetasks write their documents to the results database, the rocket its FWAction to
FW_offline.json). When a worker exits, ``LaunchPad.recover_offline`` takes the action in: the Firework completes or
fizzles, detours (active learning, precision) join the workflow, and children become ready. The store is saved
after every Firework, as with one worker. Each worker gets ``cpus // N`` threads (torch, numba, BLAS): two heavy
processes that each spin a full set of threads on two cores run far slower than one at a time.

A worker killed outright leaves no action: its Firework is marked FIZZLED with the worker's last log lines. Ctrl-C
or SIGTERM stops the workers (each turns it into a KeyboardInterrupt, recorded like one worker's), takes in what
they recorded, and saves; the next ``dopwf run`` reruns them from their checkpoints.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fireworks import FWAction, FWorker, LaunchPad

from dopant_workflows.fireworks import embedded_store

log = logging.getLogger("dopwf")
WORKER_LOG = "worker.log"
POLL_S = 0.5


@dataclass
class _Running:
    launch_id: int
    fw_id: int
    name: str
    launch_dir: Path
    process: subprocess.Popen
    started: float


def worker_threads(workers: int) -> int:
    """Threads per worker: the machine's cores shared out (at least one)."""
    return max(1, (os.cpu_count() or 1) // workers)


def _worker_env(workers: int) -> dict[str, str]:
    threads = str(worker_threads(workers))
    return {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "NUMBA_NUM_THREADS": threads, "DOPWF_WORKER_THREADS": threads}


def _start(lpad: LaunchPad, worker: FWorker, launches: Path, workers: int) -> _Running | None:
    """Reserve the next ready Firework and start a worker process on it (None: nothing ready)."""
    from fireworks.queue.queue_launcher import setup_offline_job

    launch_dir = launches / f"launcher_{time.strftime('%Y-%m-%d-%H-%M-%S')}_{time.perf_counter_ns() % 10**9:09d}"
    launch_dir.mkdir(parents=True)
    fw, launch_id = lpad.reserve_fw(worker, str(launch_dir))
    if fw is None:
        launch_dir.rmdir()
        return None
    cwd = os.getcwd()
    try:
        os.chdir(launch_dir)
        setup_offline_job(lpad, fw, launch_id)
    finally:
        os.chdir(cwd)
    with open(launch_dir / WORKER_LOG, "w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "dopant_workflows.fireworks.parallel", str(launch_dir)],
                                   cwd=launch_dir, env=_worker_env(workers), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # Ctrl-C reaches the workers through us, in order
    log.info("== %s: started (worker %d)", fw.name, process.pid)
    return _Running(launch_id, fw.fw_id, fw.name, launch_dir, process, time.perf_counter())


def _take_in(lpad: LaunchPad, run: _Running) -> str:
    """The finished worker's result into the store: its recorded action, or FIZZLED with its last log lines."""
    offline = json.loads((run.launch_dir / "FW_offline.json").read_text(encoding="utf-8") or "{}")
    if "fwaction" in offline:
        lpad.recover_offline(run.launch_id, ignore_errors=True, print_errors=True)
    else:
        tail = (run.launch_dir / WORKER_LOG).read_text(encoding="utf-8", errors="replace")[-3000:]
        action = FWAction(stored_data={"_message": f"worker process exited with {run.process.returncode} before "
                                                   "recording a result", "_task": None,
                                       "_exception": {"_stacktrace": tail, "_details": None}}, exit=True)
        lpad.complete_launch(run.launch_id, action, "FIZZLED")
        lpad.offline_runs.update_one({"launch_id": run.launch_id}, {"$set": {"completed": True}})
    state = lpad.get_fw_dict_by_id(run.fw_id)["state"]
    log.info("== %s: %s in %.1f min", run.name, state, (time.perf_counter() - run.started) / 60)
    return state


def launch_parallel(lpad: LaunchPad, worker: FWorker, launches: Path, workers: int) -> bool:
    """Run every ready Firework (and those they make ready), ``workers`` at a time, until none is ready and none
    runs (True) or a signal says stop (False)."""
    launches.mkdir(parents=True, exist_ok=True)
    running: list[_Running] = []
    stop: list[int] = []

    def interrupt(signum, frame):
        stop.append(signum)

    previous = signal.signal(signal.SIGTERM, interrupt), signal.signal(signal.SIGINT, interrupt)
    try:
        while not stop:
            for run in [r for r in running if r.process.poll() is not None]:
                running.remove(run)
                _take_in(lpad, run)
                embedded_store.save(lpad)  # as with one worker: every finished Firework is kept
            while len(running) < workers and not stop and lpad.run_exists(worker):
                started = _start(lpad, worker, launches, workers)
                if started is None:
                    break
                running.append(started)
                embedded_store.save(lpad)
            if not running:
                break
            time.sleep(POLL_S)
    finally:
        for run in running:  # stopped: the workers record a KeyboardInterrupt, which the next run reruns
            run.process.send_signal(signal.SIGINT)
        for run in running:
            try:
                run.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()
            _take_in(lpad, run)
        if running:
            embedded_store.save(lpad)
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    return not stop


def _run_offline(launch_dir: str) -> int:
    """A worker process: the Firework in ``launch_dir`` run offline with this machine's FireWorks configuration
    (its FWorker: env db_file, runs_dir, device); SIGTERM is a KeyboardInterrupt, as Ctrl-C."""
    from fireworks.core.rocket_launcher import launch_rocket

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"dopwf run worker interrupted (signal {signum})")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    embedded_store.read_only()  # the store is the parent's alone: nothing here may write it, not even at exit
    threads = int(os.environ.get("DOPWF_WORKER_THREADS", "0"))
    if threads:
        import torch

        torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    _offline_zopen_compatible()
    os.chdir(launch_dir)
    launch_rocket(None, FWorker.auto_load())
    return 0


def _offline_zopen_compatible() -> None:
    """FireWorks 2.1's offline Rocket reads FW_offline.json with ``zopen(path)``; monty >= 2024.12 made the mode
    argument required (text reads named "rt"), so an offline launch fails before its Firetask starts. The Rocket's
    own zopen gets the text default back; every other call passes its mode and is unchanged."""
    import fireworks.core.rocket as rocket
    from monty.io import zopen

    def text_by_default(filename, mode="rt", **kwargs):
        return zopen(filename, mode, **kwargs)

    rocket.zopen = text_by_default


if __name__ == "__main__":
    sys.exit(_run_offline(sys.argv[1]))
