"""Firetask class paths are public API: LaunchPads store each Firetask as its ``_fw_name`` (module path + class
name), and FireWorks rebuilds it from that name in whatever version of dopant_workflows a worker runs. Moving or
renaming a Firetask class breaks every workflow already stored; these names may only ever be added to."""

import json
import subprocess
import sys

import pytest
import yaml
from fireworks import FiretaskBase, Workflow
from fireworks.utilities.fw_serializers import load_object

from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
from dopant_workflows.fireworks.vasp_tasks import vasp_single_points
from dopant_workflows.study import study_from_dict
from tests.helpers import SMOKE

#: every Firetask's name as stored in LaunchPads (written out: a moved class must fail here)
FW_NAMES = (
    "{{dopant_workflows.fireworks.study_tasks.RunEmbeddedAIMD}}",
    "{{dopant_workflows.fireworks.study_tasks.TrainNetwork}}",
    "{{dopant_workflows.fireworks.study_tasks.RunANNMD}}",
    "{{dopant_workflows.fireworks.study_tasks.RecordDielectric}}",
    "{{dopant_workflows.fireworks.study_tasks.RunValidationMD}}",
    "{{dopant_workflows.fireworks.study_tasks.ValidateNetwork}}",
    "{{dopant_workflows.fireworks.study_tasks.ActiveLearningRound}}",
    "{{dopant_workflows.fireworks.study_tasks.LabelReferenceFrames}}",
    "{{dopant_workflows.fireworks.study_tasks.RunCp2kDielectric}}",
    "{{dopant_workflows.fireworks.study_tasks.RunCp2kValidationMD}}",
    "{{dopant_workflows.fireworks.study_tasks.TrainNetworkReplica}}",
    "{{dopant_workflows.fireworks.vasp_tasks.RunVaspAIMDSegment}}",
    "{{dopant_workflows.fireworks.vasp_tasks.RunVaspDielectric}}",
    "{{dopant_workflows.fireworks.vasp_tasks.RunVaspStatic}}",
    "{{dopant_workflows.fireworks.vasp_tasks.AnalyzeVaspValidationMD}}",
)


#: a value for every required parameter of those Firetasks (nothing runs here; FireWorks checks they are present)
PARAMETERS = {"structure": {}, "settings": {}, "engine": "embedded", "run_path": "study/run", "study": "study",
              "label": "shared", "substitution_id": "x", "formula": "Li", "eps_r": 5.0, "source": "test",
              "temperature_K": 500.0, "protocol": {}, "seed": 1, "substitution": {}, "role": "ann",
              "reference_engine": "embedded", "expected_runs": 1, "round": 1, "training": {}, "cells": [],
              "temperatures_K": [500.0], "frames": [], "segment_index": 0, "info": {},
              "calculation": {}, "cp2k": {}, "reference_aimd": {}, "index": 1}


def _stored_task(name: str) -> dict:
    """The task as a LaunchPad holds it: its name and its parameters."""
    return {"_fw_name": name, **PARAMETERS}


def _loaded(name: str) -> FiretaskBase:
    task = load_object(_stored_task(name))
    module, cls = name.strip("{}").rsplit(".", 1)
    assert isinstance(task, FiretaskBase) and (type(task).__module__, type(task).__name__) == (module, cls)
    return task


@pytest.mark.parametrize("name", FW_NAMES)
def test_each_stored_firetask_name_rebuilds_its_task(name):
    task = _loaded(name)
    assert task["run_path"] == "study/run" and task.to_dict()["_fw_name"] == name


def test_the_names_are_every_firetask_of_the_package():
    """A new Firetask is added to FW_NAMES (and never moved afterwards)."""
    from dopant_workflows.fireworks import study_tasks, vasp_tasks

    defined = {cls._fw_name for module in (study_tasks, vasp_tasks) for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, FiretaskBase) and cls.__module__ == module.__name__}
    assert defined == set(FW_NAMES)


def test_a_stored_workflow_dict_loads_back():
    """A workflow as a LaunchPad (or ``dopwf submit --dry-run``) stores it: one Firework per Firetask name, linked
    in a chain, through JSON."""
    stored = {"name": "stored study", "metadata": {"study": "stored"},
              "links": {str(k): [k + 1] if k < len(FW_NAMES) else [] for k in range(1, len(FW_NAMES) + 1)},
              "fws": [{"fw_id": k, "name": f"firework {k}",
                       "spec": {"_tasks": [_stored_task(name)], "_add_launchpad_and_fw_id": True,
                                "_dupefinder": {"_fw_name": "DupeFinderExact"}}}
                      for k, name in enumerate(FW_NAMES, start=1)]}
    wf = Workflow.from_dict(json.loads(json.dumps(stored)))
    assert [fw.tasks[0].to_dict()["_fw_name"] for fw in sorted(wf.fws, key=lambda fw: fw.fw_id)] == list(FW_NAMES)
    assert wf.links == {k: [k + 1] if k < len(FW_NAMES) else [] for k in range(1, len(FW_NAMES) + 1)}


def _study_workflows() -> list[Workflow]:
    data = yaml.safe_load(SMOKE.read_text())
    embedded = study_from_dict({**data, "active_learning": {"enabled": True},
                                "training": {**data["training"], "networks": 2}})
    labelled = study_from_dict({**data, "labels": {"engine": "cp2k"}, "validation": {"enabled": False},
                                "dielectric": [], "dielectric_calculation": {"engine": "cp2k"}})
    vasp = study_from_dict({**data, "engine": "vasp", "dielectric": []})
    cp2k = study_from_dict({**data, "engine": "cp2k", "active_learning": {"enabled": True}})
    vasp_runtime = Workflow(vasp_single_points([vasp.enumerate_substitutions()[0].structure.to_ase_atoms()], "sp", {}))
    ensemble = study_from_dict({**data, "training": {**data["training"], "networks": 2}})
    return [get_wf_dopant_study(ensemble), get_wf_dopant_study(embedded), get_wf_dopant_study(vasp),
            get_wf_dopant_study(labelled), get_wf_dopant_study(cp2k), vasp_runtime]


def test_workflows_of_this_version_round_trip_under_the_stored_names():
    """What this version writes to a LaunchPad uses only the names above and loads back unchanged."""
    seen = set()
    for wf in _study_workflows():
        text = wf.to_format("json")
        seen |= {task["_fw_name"] for fw in json.loads(text)["fws"] for task in fw["spec"]["_tasks"]}
        assert Workflow.from_format(text, "json").to_format("json") == text
    assert seen == set(FW_NAMES)


def test_a_fresh_process_rebuilds_every_task_from_its_name_alone():
    """A worker that has imported nothing of dopant_workflows (FireWorks imports each module from the name)."""
    code = ("import json, sys; from fireworks.utilities.fw_serializers import load_object; "
            "tasks = [load_object(t) for t in json.load(sys.stdin)]; print([type(t).__name__ for t in tasks])")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps([_stored_task(n) for n in FW_NAMES]),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str([n.strip("{}").rsplit(".", 1)[1] for n in FW_NAMES])
