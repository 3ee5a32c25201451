"""Workflow -> workflow transforms, atomate style: each takes a Workflow, changes some Fireworks in place and
returns it, so they chain: ``add_priority(use_device(wf, "cuda"), 100)``.

``fw_name_constraint`` (a substring of the Firework name, as in atomate) limits a powerup to some Fireworks;
one that matches no Firework raises ValueError instead of silently doing nothing. The reference engine is a
study setting (``engine:``), not a powerup: training and MD Fireworks depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fireworks import Firework, Workflow

from dopant_workflows.fireworks.study_tasks import (
    ActiveLearningRound,
    RunANNMD,
    RunEmbeddedAIMD,
    RunValidationMD,
    ValidateNetwork,
)
from dopant_workflows.fireworks.vasp_tasks import RunVaspAIMDSegment, RunVaspDielectric
from dopant_workflows.names import DEVICE_KEY, FAKE_VASP_KEY

_VASP_TASKS = (RunVaspAIMDSegment, RunVaspDielectric)
#: the Firetasks that evaluate a potential on a device
_DEVICE_TASKS = (RunANNMD, RunEmbeddedAIMD, RunValidationMD, ValidateNetwork, ActiveLearningRound)


def _matching(workflow: Workflow, powerup: str, task_types: tuple[type, ...] | None = None,
              fw_name_constraint: str | None = None) -> list[Firework]:
    fireworks = [fw for fw in workflow.fws
                 if (task_types is None or any(isinstance(t, task_types) for t in fw.tasks))
                 and (fw_name_constraint is None or fw_name_constraint in fw.name)]
    if not fireworks:
        kinds = f" with {'/'.join(t.__name__ for t in task_types)}" if task_types else ""
        where = f" whose name contains {fw_name_constraint!r}" if fw_name_constraint else ""
        raise ValueError(f"{powerup}: no Firework{kinds}{where} in workflow {workflow.name!r}")
    return fireworks


def _runs_vasp(task) -> bool:
    """A VASP Firetask, or a comparison / active-learning round against VASP (they add VASP single points at run
    time)."""
    return isinstance(task, _VASP_TASKS) or (isinstance(task, ValidateNetwork) and task["reference_engine"] == "vasp"
                                             ) or (isinstance(task, ActiveLearningRound) and task["engine"] == "vasp")


def use_fake_vasp(workflow: Workflow, reference_dirs: dict[str, str | Path]) -> Workflow:
    """Replay reference runs instead of running VASP (like atomate's ``use_fake_vasp``).

    ``reference_dirs`` maps a Firework name to a directory with ``inputs/`` and ``outputs/``. Every VASP
    Firework must be matched (a forgotten one would try to run real VASP): unmatched names raise ValueError. A
    validation or an active-learning round against VASP is matched too: the single points it adds at run time
    replay its directory.
    """
    matched = set()
    for fw in workflow.fws:
        if not any(_runs_vasp(task) for task in fw.tasks):
            continue
        if fw.name not in reference_dirs:
            raise ValueError(f"use_fake_vasp: no reference directory for Firework {fw.name!r}")
        reference = Path(reference_dirs[fw.name])
        if not (reference / "inputs").is_dir():
            raise ValueError(f"use_fake_vasp: {reference} has no inputs/ directory")
        fw.spec[FAKE_VASP_KEY] = str(reference.resolve())
        matched.add(fw.name)
    unused = sorted(set(reference_dirs) - matched)
    if unused:
        raise ValueError(f"use_fake_vasp: no VASP Firework named {unused}")
    return workflow


def modify_incar(workflow: Workflow, incar_update: Mapping[str, Any],
                 fw_name_constraint: str | None = None) -> Workflow:
    """Override INCAR tags of the VASP Fireworks (atomate's ``add_modify_incar``), on top of the paper's settings,
    e.g. ``{"NCORE": 8, "KPAR": 2}``; later calls update earlier ones."""
    if not isinstance(incar_update, Mapping) or not incar_update:
        raise ValueError(f"modify_incar: incar_update {incar_update!r}: expected a non-empty mapping of INCAR tags")
    bad = [k for k in incar_update if not (isinstance(k, str) and k.isupper())]
    if bad:
        raise ValueError(f"modify_incar: {bad}: INCAR tags are upper-case strings")
    for fw in _matching(workflow, "modify_incar", _VASP_TASKS, fw_name_constraint):
        for task in fw.tasks:
            if isinstance(task, _VASP_TASKS):
                task["user_incar"] = {**dict(task.get("user_incar") or {}), **dict(incar_update)}
    return workflow


def set_queue_options(workflow: Workflow, walltime: str | None = None, time_min: str | None = None,
                      qos: str | None = None, nodes: int | None = None, ntasks: int | None = None,
                      gres: str | None = None, fw_name_constraint: str | None = None) -> Workflow:
    """Per-Firework queue settings for ``qlaunch`` (atomate's ``set_queue_options``): they go to the spec's
    ``_queueadapter`` and override my_qadapter.yaml for those jobs (e.g. ``gres="gpu:1"`` for ANN-MD)."""
    options = {k: v for k, v in {"walltime": walltime, "time_min": time_min, "qos": qos, "nodes": nodes,
                                 "ntasks": ntasks, "gres": gres}.items() if v is not None}
    if not options:
        raise ValueError("set_queue_options: no option given")
    for fw in _matching(workflow, "set_queue_options", None, fw_name_constraint):
        fw.spec["_queueadapter"] = {**fw.spec.get("_queueadapter", {}), **options}
    return workflow


def use_device(workflow: Workflow, device: str, fw_name_constraint: str | None = None) -> Workflow:
    """Run ANN-MD (and embedded AIMD) on ``device`` ("cpu", "cuda", "cuda:N") whatever the worker's env says."""
    if not (device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ValueError(f"use_device: device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    for fw in _matching(workflow, "use_device", _DEVICE_TASKS, fw_name_constraint):
        fw.spec[DEVICE_KEY] = device
    return workflow


def set_execution_options(workflow: Workflow, fworker_name: str | None = None, category: str | None = None,
                          fw_name_constraint: str | None = None) -> Workflow:
    """Pin Fireworks to a named worker (``_fworker``) or worker category (``_category``), e.g. ANN-MD on GPU
    nodes: ``set_execution_options(wf, category="gpu", fw_name_constraint=" md ")``."""
    if fworker_name is None and category is None:
        raise ValueError("set_execution_options: give fworker_name and/or category")
    for fw in _matching(workflow, "set_execution_options", None, fw_name_constraint):
        if fworker_name is not None:
            fw.spec["_fworker"] = fworker_name
        if category is not None:
            fw.spec["_category"] = category
    return workflow


def add_priority(workflow: Workflow, root_priority: int, child_priority: int | None = None) -> Workflow:
    """FireWorks ``_priority`` (higher runs first): roots get ``root_priority``, the rest ``child_priority``
    (default: the same), as atomate's ``add_priority``; a study submitted later can jump the queue."""
    child_priority = root_priority if child_priority is None else child_priority
    roots = set(workflow.root_fw_ids)
    for fw in workflow.fws:
        fw.spec["_priority"] = root_priority if fw.fw_id in roots else child_priority
    return workflow
