"""What every Firetask of a study shares: the worker's settings (my_fworker.yaml env), the results database, the
run directory, the running Firework's id and log heading, and the spec of the Fireworks they make.

Below ``study_tasks`` and ``vasp_tasks`` (both import it; it imports neither): helpers only, no Firetask classes.
Firetask classes stay where they are: their module paths are stored in LaunchPads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fireworks import FiretaskBase
from pymatgen.core import Structure

from dopant_workflows.db import ResultsDB
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks.dupefinder import DupeFinderSameTasks
from dopant_workflows.names import (
    DEVICE_KEY,
    ENSEMBLE_SHA_KEY,
    FAKE_VASP_KEY,
    MODEL_PATH_KEY,
    MODEL_SHA_KEY,
    NETWORK_INDEX_KEY,
    NETWORKS_KEY,
    TRAINING_FRAMES_KEY,
)

log = logging.getLogger("dopwf")
#: in the spec of every study Firework: FireWorks then sets the Firework's id (and LaunchPad) on its tasks, for
#: fw_id in the documents and the name in the log heading
STUDY_SPEC = {"_add_launchpad_and_fw_id": True}
#: VASP Fireworks run on the workers of this category (FireWorks' ``_category``)
VASP_SPEC = {"_category": "vasp"}


def study_spec(head: Mapping[str, Any] | None = None, /, **tail: Any) -> dict[str, Any]:
    """The spec of a study Firework with the study's dupefinder (:class:`DupeFinderSameTasks`): the same Firework
    submitted twice runs once. ``head`` goes before the dupefinder, ``tail`` after it (the order specs have always
    had)."""
    return {**STUDY_SPEC, **(head or {}), "_dupefinder": DupeFinderSameTasks(), **tail}


def inherited_priority(fw_spec) -> dict:
    """The running Firework's ``_priority`` for the Fireworks it adds (its detours share its place on the critical
    path), {} when it has none."""
    return {"_priority": fw_spec["_priority"]} if "_priority" in fw_spec else {}


def fake_vasp_spec(fw_spec) -> dict:
    """The replay directory (use_fake_vasp) handed on to Fireworks a task adds at run time."""
    return {FAKE_VASP_KEY: fw_spec[FAKE_VASP_KEY]} if fw_spec.get(FAKE_VASP_KEY) else {}


def env_value(value, fw_spec, default=None):
    """atomate's env_chk: ">>name<<" reads the worker's env (my_fworker.yaml), ``default`` when the worker has no
    such entry; anything else is returned as is."""
    from atomate.utils.utils import env_chk

    return env_chk(value, fw_spec, strict=False, default=default)


def worker_setting(name: str, fw_spec) -> str:
    """An env entry this worker must have; a clear error naming it (checked before any work)."""
    value = env_value(f">>{name}<<", fw_spec)
    if not value:
        raise DopwfInputError(f"my_fworker.yaml of this worker: env.{name} is not set (dopwf init writes it)")
    return value


def results_db(fw_spec) -> ResultsDB:
    """The results database of this worker (env db_file, like atomate's db_file)."""
    return ResultsDB.from_file(worker_setting("db_file", fw_spec))


def device_of(fw_spec) -> str:
    """Where ANN-MD and embedded AIMD run: the Firework's own choice (use_device), else the worker's env, else cpu."""
    return fw_spec.get(DEVICE_KEY) or env_value(">>device<<", fw_spec) or "cpu"


def run_dir_of(task: FiretaskBase, fw_spec) -> Path:
    path = Path(worker_setting("runs_dir", fw_spec)) / task["run_path"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def as_structure(value) -> Structure:
    """Firetask parameters arrive deserialised (FireWorks rebuilds MSONable dicts) or as plain dicts."""
    return value if isinstance(value, Structure) else Structure.from_dict(value)


def fw_id_of(task: FiretaskBase) -> int | None:
    """The running Firework's id (FireWorks sets it on the task when the spec asks: ``_add_launchpad_and_fw_id``)."""
    return getattr(task, "fw_id", None)


def announce(task: FiretaskBase) -> None:
    """A heading in the log naming the Firework that starts: the stages of a long run, readable in the output."""
    launchpad, fw_id = getattr(task, "launchpad", None), fw_id_of(task)
    record = launchpad.fireworks.find_one({"fw_id": fw_id}, {"name": 1}) if launchpad and fw_id is not None else None
    log.info("== %s", record["name"] if record else type(task).__name__)


def network_handoff(index: int, label: str | None, model_path: str, model_sha256: str,
                    ensemble_sha256: str | None = None, training_frames: list[str] | None = None) -> dict:
    """What a network Firework (training, active learning's last round, a replica) gives its children, as FWAction
    keywords: the network and its place in the ensemble to the runs below it, an entry in NETWORKS_KEY for the
    Fireworks that spread runs over every network, and (network 0) the frames it was trained on for the replicas."""
    entry = {"index": int(index), "label": label, MODEL_PATH_KEY: model_path, MODEL_SHA_KEY: model_sha256,
             ENSEMBLE_SHA_KEY: ensemble_sha256 or model_sha256}
    update = network_spec(entry)
    if training_frames is not None:
        update[TRAINING_FRAMES_KEY] = [str(f) for f in training_frames]
    return {"update_spec": update, "mod_spec": [{"_push": {NETWORKS_KEY: entry}}]}


def networks_of(fw_spec, label: str | None = None) -> list[dict]:
    """The networks the parents pushed (NETWORKS_KEY) for the network ``label`` (None: any label), one per index,
    in index order; a workflow stored before ensembles existed passes one network in MODEL_PATH_KEY: network 0."""
    pushed = {int(n["index"]): n for n in fw_spec.get(NETWORKS_KEY, [])
              if label is None or n.get("label") in (None, label)}
    if not pushed and fw_spec.get(MODEL_PATH_KEY):
        sha = fw_spec.get(MODEL_SHA_KEY)
        pushed = {0: {"index": 0, MODEL_PATH_KEY: fw_spec[MODEL_PATH_KEY], MODEL_SHA_KEY: sha, ENSEMBLE_SHA_KEY: sha}}
    if not pushed:
        raise ValueError(f"{NETWORKS_KEY}: no trained network{f' {label!r}' if label else ''} was passed by the "
                         "parent Fireworks")
    return [pushed[k] for k in sorted(pushed)]


def network_spec(network: Mapping) -> dict:
    """The spec of a run added at run time on ``network`` (an entry of :func:`networks_of`), as its network
    Firework would have handed it on."""
    return {MODEL_PATH_KEY: network[MODEL_PATH_KEY], MODEL_SHA_KEY: network.get(MODEL_SHA_KEY),
            NETWORK_INDEX_KEY: int(network["index"]),
            ENSEMBLE_SHA_KEY: network.get(ENSEMBLE_SHA_KEY) or network.get(MODEL_SHA_KEY)}
