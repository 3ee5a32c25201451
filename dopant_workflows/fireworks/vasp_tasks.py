"""Firetasks that run the VASP engine: one AIMD segment, one dielectric (DFPT) run, one single point (validation
relabelling), and the analysis of a validation reference run (its segments' frames -> D).

Each runs in its launch directory. VASP is ``env_chk(">>vasp_cmd<<")`` (my_fworker.yaml env), unless the
``use_fake_vasp`` powerup put a reference directory in the spec (``_fake_vasp_dir``): then the run is replayed
(inputs checked, outputs copied) under the same custodian handlers. Results travel to children through the
spec: ``aimd_frames`` (pushed frame files: a segment passes on its predecessors' with its own, so the last
segment's child gets the whole run), ``previous_segment_dir`` (continuation), ``dielectric`` documents,
``validation_runs`` / ``vasp_labels`` (validation records and VASP-labelled frames).

The VASP single points that validation and active learning (``study_tasks``) add as detours are made here too
(:func:`vasp_single_points`, :func:`vasp_labelled_frames`): ``study_tasks`` imports them where it needs them (this
module's engine imports are heavy), and this module never imports ``study_tasks``.
"""

from __future__ import annotations

import os

from fireworks import FiretaskBase, Firework, FWAction, explicit_serialize

from dopant_workflows.db import insert
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.vasp.replay import ReplayVaspJob
from dopant_workflows.engines.vasp.runs import run_aimd_segment
from dopant_workflows.fireworks.task_helpers import (
    VASP_SPEC,
    announce,
    as_structure,
    env_value,
    fake_vasp_spec,
    fw_id_of,
    inherited_priority,
    results_db,
    run_dir_of,
    study_spec,
)
from dopant_workflows.jobs.dielectric import run_vasp_dielectric
from dopant_workflows.names import (
    AIMD_FRAMES_FILE,
    DIELECTRIC_KEY,
    FAKE_VASP_KEY,
    FRAMES_KEY,
    LABELLED_FRAMES_FILE,
    PREVIOUS_SEGMENT_KEY,
    VALIDATION_RUNS_KEY,
    VASP_LABELS_KEY,
)


def _engine_args(fw_spec, vasp_cmd) -> dict:
    reference = fw_spec.get(FAKE_VASP_KEY)
    if reference:
        return {"vasp_cmd": "replay", "job": ReplayVaspJob(reference), "potcar_spec": True, "polling_time_step_s": 0.05}
    command = env_value(vasp_cmd, fw_spec)
    if not command:
        raise ValueError("vasp_cmd: not set for this worker (my_fworker.yaml env.vasp_cmd)")
    return {"vasp_cmd": command}


@explicit_serialize
class RunVaspAIMDSegment(FiretaskBase):
    """One walltime-sized segment of the reference AIMD (continues from the parent segment's CONTCAR)."""

    required_params = ["structure", "settings", "segment_index"]
    optional_params = ["vasp_cmd", "walltime_s", "user_incar"]

    def run_task(self, fw_spec):
        announce(self)
        settings = AIMDSettings(**self["settings"])
        segment = settings.segments()[int(self["segment_index"])]
        structure = as_structure(self["structure"])
        previous = fw_spec.get(PREVIOUS_SEGMENT_KEY) if segment.index > 0 else None
        result = run_aimd_segment(os.getcwd(), structure, segment, settings, previous_dir=previous,
                                  walltime_s=self.get("walltime_s") or settings.walltime_s,
                                  user_incar=self.get("user_incar"),
                                  **_engine_args(fw_spec, self.get("vasp_cmd", ">>vasp_cmd<<")))
        frames = str(result.run_dir / AIMD_FRAMES_FILE)
        # FireWorks hands a push to direct children only: the earlier segments' files travel on with this one's
        earlier = [f for f in fw_spec.get(FRAMES_KEY, []) if f != frames] if segment.index > 0 else []
        return FWAction(
            stored_data={"n_frames": result.n_frames, "truncated": result.truncated, "corrections": result.corrections},
            update_spec={PREVIOUS_SEGMENT_KEY: os.getcwd()},
            mod_spec=[{"_push_all": {FRAMES_KEY: [*earlier, frames]}}],
        )


@explicit_serialize
class RunVaspDielectric(FiretaskBase):
    """DFPT (LEPSILON) of one structure; eps_r = trace/3 of electronic + ionic tensors.

    With ``study`` given (the study workflow), a ``dielectric`` document keyed by ``label`` (the substitution id)
    goes to the results database, where the Anderson-Stuart builder finds it."""

    required_params = ["structure", "label"]
    optional_params = ["vasp_cmd", "study", "user_incar"]

    def run_task(self, fw_spec):
        db = results_db(fw_spec) if self.get("study") else None
        announce(self)
        document, corrections = run_vasp_dielectric(
            os.getcwd(), as_structure(self["structure"]), self["label"], study=self.get("study"),
            user_incar=self.get("user_incar"), fw_id=fw_id_of(self),
            **_engine_args(fw_spec, self.get("vasp_cmd", ">>vasp_cmd<<")))
        if db is not None:
            insert(db, "dielectric", document.model_dump())
        record = {"label": self["label"], "eps_r": document.eps_r, "source": document.source,
                  "epsilon_electronic": document.epsilon_electronic, "epsilon_ionic": document.epsilon_ionic,
                  "run_dir": os.getcwd(), "corrections": corrections}
        return FWAction(stored_data=record, mod_spec=[{"_push": {DIELECTRIC_KEY: record}}])


@explicit_serialize
class RunVaspStatic(FiretaskBase):
    """A VASP single point of one ANN-MD frame (validation relabelling); pushes the labelled frame's file. ``info``
    (temperature, source trajectory, frame index) travels with the labels."""

    required_params = ["structure", "info"]
    optional_params = ["vasp_cmd", "user_incar"]

    def run_task(self, fw_spec):
        from ase.io import write

        from dopant_workflows.engines.vasp.runs import run_static

        announce(self)
        frame, corrections = run_static(os.getcwd(), as_structure(self["structure"]),
                                        user_incar=self.get("user_incar"),
                                        **_engine_args(fw_spec, self.get("vasp_cmd", ">>vasp_cmd<<")))
        frame.info.update(self["info"])
        path = os.path.join(os.getcwd(), LABELLED_FRAMES_FILE)
        write(path, frame, format="extxyz")
        return FWAction(stored_data={"energy_eV": frame.get_potential_energy(), "corrections": corrections},
                        mod_spec=[{"_push": {VASP_LABELS_KEY: path}}])


@explicit_serialize
class AnalyzeVaspValidationMD(FiretaskBase):
    """D of one VASP validation reference run from the frames its segments pushed; pushes the validation record
    (as RunValidationMD does for an embedded engine)."""

    required_params = ["temperature_K", "protocol", "seed", "run_path"]
    optional_params = ["analysis"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.jobs.vasp_validation import analyze_reference_md
        from dopant_workflows.md.settings import MDProtocol

        announce(self)
        frames = sorted(set(fw_spec.get(FRAMES_KEY, [])))
        if not frames:
            raise ValueError(f"{FRAMES_KEY}: the VASP segments of this validation run pushed no frames")
        record = analyze_reference_md(frames, MDProtocol(**self["protocol"]), float(self["temperature_K"]),
                                      int(self["seed"]), run_dir_of(self, fw_spec),
                                      AnalysisSettings(**self.get("analysis", {})))
        return FWAction(stored_data={k: record.get(k) for k in ("role", "status", "temperature_K")},
                        mod_spec=[{"_push": {VALIDATION_RUNS_KEY: record}}])


# ---------------------------------------------------------------- VASP labels for other Firetasks
# Validation and active learning (study_tasks) send frames to VASP single points as detours and read the labels back.


def vasp_labelled_frames(fw_spec) -> list:
    """The frames the VASP single points of :func:`vasp_single_points` pushed, in the order they were asked for
    (a rerun single point pushes its file again: read once)."""
    from ase.io import read

    labelled = [read(path) for path in set(fw_spec.get(VASP_LABELS_KEY, []))]
    return sorted(labelled, key=lambda atoms: atoms.info["index"])


def vasp_single_points(frames, name: str, fw_spec) -> list:
    """One VASP single point Firework per frame (``<name> n of N``); each pushes its labelled frame, which carries
    the frame's ``info`` and its position in ``frames`` (``index``), and the ``_priority`` of the Firework asking
    (an active-learning round's: the study's critical path)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    spec = study_spec(VASP_SPEC, **fake_vasp_spec(fw_spec), **inherited_priority(fw_spec))
    return [Firework([RunVaspStatic(structure=AseAtomsAdaptor.get_structure(atoms).as_dict(),
                                    info={**_json_info(atoms.info), "index": n})],
                     name=f"{name} {n + 1} of {len(frames)}", spec=spec)
            for n, atoms in enumerate(frames)]


def _json_info(info: dict) -> dict:
    """The frame's info entries a Firework spec can hold (numbers, strings)."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in info.items()
            if isinstance(v, (int, float, str, bool)) or hasattr(v, "item")}
