"""Firetasks of a dopant study: reference AIMD (embedded), network training, ANN-MD + analysis, dielectric record.

Each reads its parameters into the stage's settings model, calls one job (``dopant_workflows.jobs``), inserts the
job's document into the worker's results database and passes what children need through the spec. Runs that
must survive a restart (AIMD, training, MD) live under the worker's ``runs_dir``/<run_path>, not in the launch
directory: a relaunched Firework finds its checkpoint there and continues.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fireworks import FiretaskBase, FWAction, explicit_serialize
from pymatgen.core import Structure

from dopant_workflows.db import ResultsDB, insert
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.names import DEVICE_KEY, FRAMES_KEY, MODEL_PATH_KEY, MODEL_SHA_KEY, VALIDATION_RUNS_KEY

log = logging.getLogger("dopwf")
#: in the spec of every study Firework: FireWorks then sets the Firework's id (and LaunchPad) on its tasks, for
#: fw_id in the documents and the name in the log heading
STUDY_SPEC = {"_add_launchpad_and_fw_id": True}


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


@explicit_serialize
class RunEmbeddedAIMD(FiretaskBase):
    """Reference AIMD of the training cell with a universal potential (resumable); pushes its frames."""

    required_params = ["structure", "settings", "engine", "run_path"]

    def run_task(self, fw_spec):
        from dopant_workflows.engines.schedule import AIMDSettings
        from dopant_workflows.jobs.reference import run_reference_aimd

        db = results_db(fw_spec)
        announce(self)
        document = run_reference_aimd(as_structure(self["structure"]), AIMDSettings(**self["settings"]),
                                      run_dir_of(self, fw_spec), self["engine"], device_of(fw_spec))
        insert(db, "training_sets", document.model_dump())
        if document.status != "completed":
            raise RuntimeError(f"reference AIMD failed: {document.failure_reason} (frames kept in "
                               f"{document.frames_path})")
        return FWAction(stored_data={"set_id": document.set_id, "n_frames": document.n_frames},
                        mod_spec=[{"_push": {FRAMES_KEY: document.frames_path}}])


@explicit_serialize
class TrainNetwork(FiretaskBase):
    """Train the Behler-Parrinello network on every frame file the parents pushed; children get the model."""

    required_params = ["settings", "run_path", "study", "label"]

    def run_task(self, fw_spec):
        from dopant_workflows.ann.settings import TrainingSettings
        from dopant_workflows.jobs.training import train_network

        db = results_db(fw_spec)
        announce(self)
        frames = sorted(set(fw_spec.get(FRAMES_KEY, [])))
        if not frames:
            raise ValueError(f"{FRAMES_KEY}: no training frames were passed by the parent Fireworks")
        document = train_network(frames, TrainingSettings(**self["settings"]), run_dir_of(self, fw_spec),
                                 study=self["study"], label=self["label"], replace=True)
        insert(db, "models", document.model_copy(update={"fw_id": fw_id_of(self)}).model_dump())
        return FWAction(stored_data={"model_sha256": document.model_sha256,
                                     "test_force_rmse_eV_A": document.force_rmse_eV_A["test"]},
                        update_spec={MODEL_PATH_KEY: document.model_path, MODEL_SHA_KEY: document.model_sha256})


@explicit_serialize
class RunANNMD(FiretaskBase):
    """ANN-MD of one substitution at one temperature with the parent's network, then its analysis."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "run_path", "study", "substitution"]
    optional_params = ["analysis"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.jobs.md import run_md_stage
        from dopant_workflows.md.settings import MDProtocol
        from dopant_workflows.schemas.tasks import MDTaskDocument

        db = results_db(fw_spec)
        announce(self)
        if not fw_spec.get(MODEL_PATH_KEY):
            raise ValueError(f"{MODEL_PATH_KEY}: no trained network was passed by the parent Firework")
        run = run_md_stage(as_structure(self["structure"]), fw_spec[MODEL_PATH_KEY], MDProtocol(**self["protocol"]),
                           float(self["temperature_K"]), run_dir_of(self, fw_spec), seed=int(self["seed"]),
                           device=device_of(fw_spec), analysis=AnalysisSettings(**self.get("analysis", {})))
        document = MDTaskDocument.from_run(run, self["study"], self["substitution"], fw_id_of(self))
        insert(db, "md_tasks", document.model_dump())
        return FWAction(stored_data={"task_id": document.task_id, "diffusivity_cm2_s": document.diffusivity_cm2_s})


@explicit_serialize
class RecordDielectric(FiretaskBase):
    """eps_r of a substitution from the study file (with its source), or a record of why it is missing."""

    required_params = ["study", "substitution_id", "formula", "eps_r", "source"]

    def run_task(self, fw_spec):
        from dopant_workflows.jobs.dielectric import record_dielectric

        announce(self)
        document = record_dielectric(self["study"], self["substitution_id"], self["formula"], self["eps_r"],
                                     self["source"], fw_id_of(self))
        insert(results_db(fw_spec), "dielectric", document.model_dump())
        return FWAction(stored_data={"eps_r": document.eps_r, "source": document.source})


@explicit_serialize
class RunValidationMD(FiretaskBase):
    """One validation run: the network (``role: ann``, the parent's model) or the reference engine (``role:
    reference``) on the network's own cell at one temperature. A run that blows up is a validation result, not a
    workflow error: its record says why and the Firework completes."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "run_path", "role", "engine"]
    optional_params = ["analysis"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.jobs.validation import validation_run
        from dopant_workflows.md.settings import MDProtocol

        announce(self)
        role = self["role"]
        if role == "ann" and not fw_spec.get(MODEL_PATH_KEY):
            raise ValueError(f"{MODEL_PATH_KEY}: no trained network was passed by the parent Firework")
        record = validation_run(as_structure(self["structure"]), fw_spec[MODEL_PATH_KEY] if role == "ann" else
                                self["engine"], role, MDProtocol(**self["protocol"]), float(self["temperature_K"]),
                                run_dir_of(self, fw_spec), int(self["seed"]),
                                AnalysisSettings(**self.get("analysis", {})), device_of(fw_spec))
        update = {MODEL_PATH_KEY: fw_spec[MODEL_PATH_KEY], MODEL_SHA_KEY: fw_spec.get(MODEL_SHA_KEY)} if (
            role == "ann") else {}
        return FWAction(stored_data={k: record.get(k) for k in ("role", "status", "temperature_K")},
                        mod_spec=[{"_push": {VALIDATION_RUNS_KEY: record}}], update_spec=update)


@explicit_serialize
class ValidateNetwork(FiretaskBase):
    """Compare the parent network with its reference from the validation runs the parents pushed; one
    ``validation`` document. With VASP as the reference, the ANN-MD frames' single points come first, as a detour
    that ends in this comparison again (``relabelled``)."""

    required_params = ["settings", "run_path", "study", "label", "reference_engine", "expected_runs"]
    optional_params = ["training_range_K", "relabelled"]

    def run_task(self, fw_spec):
        from dopant_workflows.jobs.validation import validate_network
        from dopant_workflows.validation.settings import ValidationSettings

        db = results_db(fw_spec)
        announce(self)
        if not fw_spec.get(MODEL_PATH_KEY):
            raise ValueError(f"{MODEL_PATH_KEY}: no trained network was passed by the parent Firework")
        settings = ValidationSettings(**self["settings"])
        common = {"study": self["study"], "label": self["label"], "fw_id": fw_id_of(self)}
        # one record per run directory: a rerun parent pushes its record again
        runs = list({r["run_dir"]: r for r in fw_spec.get(VALIDATION_RUNS_KEY, [])}.values())
        relabelled = None
        if self["reference_engine"] == "vasp":
            if not self.get("relabelled"):
                detour = self._vasp_relabelling(runs, settings, fw_spec)
                if detour is not None:
                    return detour
            relabelled = self._vasp_errors(fw_spec)
        document = validate_network(fw_spec[MODEL_PATH_KEY], runs, settings,
                                    reference_engine=self["reference_engine"], out_dir=run_dir_of(self, fw_spec),
                                    training_range_K=self.get("training_range_K"), device=device_of(fw_spec),
                                    relabelled=relabelled, **common)
        if len(runs) < int(self["expected_runs"]):
            missing = f"{int(self['expected_runs']) - len(runs)} of {self['expected_runs']} validation runs did " \
                      "not finish (their Fireworks fizzled: see lpad get_fws -s FIZZLED)"
            document = document.model_copy(update={"status": "failed", "passed": False,
                                                   "reasons": [*document.reasons, missing]})
        insert(db, "validation", document.model_dump())
        return FWAction(stored_data={"validation_id": document.validation_id, "status": document.status})

    def _vasp_relabelling(self, runs: list[dict], settings, fw_spec) -> FWAction | None:
        """VASP single points of the ANN-MD frames, then this comparison again with their labels: a detour (the
        frames exist only now). None when there is nothing to label (every ANN-MD run failed)."""
        from fireworks import Firework, Workflow

        from dopant_workflows.jobs.vasp_validation import frames_to_relabel

        frames = frames_to_relabel(runs, settings.relabel_frames)
        if not frames:
            return None
        name = f"{self['study']} {self['label']} validation"
        statics = _vasp_single_points(frames, f"{name} relabel", fw_spec)
        compare = Firework([ValidateNetwork({**self, "relabelled": True})], name=f"{name} (VASP labels)",
                           parents=statics, spec={**STUDY_SPEC, "_allow_fizzled_parents": True, VALIDATION_RUNS_KEY: runs,
                                                  MODEL_PATH_KEY: fw_spec[MODEL_PATH_KEY],
                                                  MODEL_SHA_KEY: fw_spec.get(MODEL_SHA_KEY)})
        log.info("validation: %d ANN-MD frames go to VASP single points before the comparison", len(frames))
        return FWAction(stored_data={"relabel_frames": len(frames)}, detours=Workflow([*statics, compare]))

    @staticmethod
    def _vasp_errors(fw_spec) -> dict:
        from dopant_workflows.ann.calculator import BPNNCalculator
        from dopant_workflows.ann.model_io import load_potential
        from dopant_workflows.jobs.vasp_validation import labelled_errors

        network = BPNNCalculator(load_potential(fw_spec[MODEL_PATH_KEY]), device=device_of(fw_spec))
        return labelled_errors(_vasp_labelled_frames(fw_spec), network)


@explicit_serialize
class ActiveLearningRound(FiretaskBase):
    """One round of active learning (train a committee on every frame so far, explore, select, label). Not done:
    the next round is added as a detour (its Firework comes between this one and the MD that waits for the
    network). Done: member 0 is handed to the children as the study's network."""

    required_params = ["round", "training", "settings", "engine", "cells", "temperatures_K", "run_path", "study",
                       "label", "seed", "frames"]
    optional_params = ["relabelled"]

    def run_task(self, fw_spec):
        from fireworks import Firework
        from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact

        from dopant_workflows.active_learning.settings import ActiveLearningSettings
        from dopant_workflows.ann.settings import TrainingSettings
        from dopant_workflows.jobs.active_learning import LabelsNeeded, given_labels, run_round

        db = results_db(fw_spec)
        announce(self)
        frames = [*sorted(set(fw_spec.get(FRAMES_KEY, []))), *self["frames"]]
        if not frames:
            raise ValueError(f"{FRAMES_KEY}: no training frames were passed by the parent Fireworks")
        cells = [(name, as_structure(cell)) for name, cell in self["cells"]]
        labeller = None
        if self["engine"] == "vasp":  # single points as Fireworks: labels exist only on the second call
            labeller = given_labels(_vasp_labelled_frames(fw_spec) if self.get("relabelled") else None)
        try:
            document, committee = run_round(
                int(self["round"]), frames, cells, self["temperatures_K"], TrainingSettings(**self["training"]),
                ActiveLearningSettings(**self["settings"]), self["engine"], run_dir_of(self, fw_spec),
                study=self["study"], label_name=self["label"], seed=int(self["seed"]), device=device_of(fw_spec),
                fw_id=fw_id_of(self), labeller=labeller)
        except LabelsNeeded as needed:
            return self._vasp_labelling(needed.frames, fw_spec)
        for member in committee:
            insert(db, "models", member.model_copy(update={"fw_id": fw_id_of(self)}).model_dump())
        insert(db, "active_learning", document.model_dump())
        stored = {"al_id": document.al_id, "fraction_above_lo": document.fraction_above_lo,
                  "n_labelled": document.n_labelled}
        if document.final:
            stored["handed_on_round"] = document.handed_on_round
            return FWAction(stored_data=stored, update_spec={MODEL_PATH_KEY: document.handed_on_model_path,
                                                             MODEL_SHA_KEY: document.handed_on_sha256})
        following = int(self["round"]) + 1
        task = ActiveLearningRound({**{k: v for k, v in self.items() if k != "relabelled"}, "round": following,
                                    "frames": [*self["frames"], document.labelled_frames_path],
                                    "run_path": str(Path(self["run_path"]).parent / f"round{following}")})
        name = f"{self['study']} {self['label']} active learning round {following}"
        detour = Firework([task], name=name, spec={**STUDY_SPEC, "_dupefinder": DupeFinderExact(),
                                                   FRAMES_KEY: fw_spec.get(FRAMES_KEY, []),
                                                   **_fake_vasp_spec(fw_spec)})
        return FWAction(stored_data=stored, detours=[detour])

    def _vasp_labelling(self, frames, fw_spec) -> FWAction:
        """The frames this round chose, as VASP single points, then this round again with their labels (a
        detour: the trained members and the exploration are found in place and not redone)."""
        from fireworks import Firework, Workflow
        from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact

        name = f"{self['study']} {self['label']} active learning round {self['round']}"
        statics = _vasp_single_points(frames, f"{name} label", fw_spec)
        again = Firework([ActiveLearningRound({**self, "relabelled": True})], name=f"{name} (VASP labels)",
                         parents=statics, spec={**STUDY_SPEC, "_dupefinder": DupeFinderExact(),
                                                FRAMES_KEY: fw_spec.get(FRAMES_KEY, []), **_fake_vasp_spec(fw_spec)})
        log.info("active learning round %s: %d frames go to VASP single points", self["round"], len(frames))
        return FWAction(stored_data={"vasp_single_points": len(frames)}, detours=Workflow([*statics, again]))



def _vasp_labelled_frames(fw_spec) -> list:
    """The frames the VASP single points of :func:`_vasp_single_points` pushed, in the order they were asked for
    (a rerun single point pushes its file again: read once)."""
    from ase.io import read

    from dopant_workflows.names import VASP_LABELS_KEY

    labelled = [read(path) for path in set(fw_spec.get(VASP_LABELS_KEY, []))]
    return sorted(labelled, key=lambda atoms: atoms.info["index"])


def _fake_vasp_spec(fw_spec) -> dict:
    """The replay directory (use_fake_vasp) handed on to Fireworks a task adds at run time."""
    from dopant_workflows.names import FAKE_VASP_KEY

    return {FAKE_VASP_KEY: fw_spec[FAKE_VASP_KEY]} if fw_spec.get(FAKE_VASP_KEY) else {}


def _vasp_single_points(frames, name: str, fw_spec) -> list:
    """One VASP single point Firework per frame (``<name> n of N``); each pushes its labelled frame, which carries
    the frame's ``info`` and its position in ``frames`` (``index``)."""
    from fireworks import Firework
    from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.fireworks.vasp_tasks import RunVaspStatic

    spec = {**STUDY_SPEC, "_category": "vasp", "_dupefinder": DupeFinderExact(), **_fake_vasp_spec(fw_spec)}
    return [Firework([RunVaspStatic(structure=AseAtomsAdaptor.get_structure(atoms).as_dict(),
                                    info={**_json_info(atoms.info), "index": n})],
                     name=f"{name} {n + 1} of {len(frames)}", spec=spec)
            for n, atoms in enumerate(frames)]


def _json_info(info: dict) -> dict:
    """The frame's info entries a Firework spec can hold (numbers, strings)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in info.items()
            if isinstance(v, (int, float, str, bool)) or hasattr(v, "item")}
