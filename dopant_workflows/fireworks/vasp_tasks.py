"""Firetasks that run the VASP engine: one AIMD segment, one dielectric (DFPT) run, one single point (validation
relabelling), and the analysis of a validation reference run (its segments' frames -> D).

Each runs in its launch directory. VASP is ``env_chk(">>vasp_cmd<<")`` (my_fworker.yaml env), unless the
``use_fake_vasp`` powerup put a reference directory in the spec (``_fake_vasp_dir``): then the run is replayed
(inputs checked, outputs copied) under the same custodian handlers. Results travel to children through the
spec: ``aimd_frames`` (pushed frame files: a segment passes on its predecessors' with its own, so the last
segment's child gets the whole run), ``previous_segment_dir`` (continuation), ``dielectric`` documents,
``validation_runs`` / ``vasp_labels`` (validation records and VASP-labelled frames).
"""

from __future__ import annotations

import os

from fireworks import FiretaskBase, FWAction, explicit_serialize

from dopant_workflows.db import insert
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.vasp.replay import ReplayVaspJob
from dopant_workflows.engines.vasp.runs import run_aimd_segment
from dopant_workflows.fireworks.study_tasks import (
    announce,
    as_structure,
    env_value,
    fw_id_of,
    results_db,
    run_dir_of,
)
from dopant_workflows.jobs.dielectric import run_vasp_dielectric
from dopant_workflows.names import (
    AIMD_FRAMES_FILE,
    DIELECTRIC_KEY,
    FAKE_VASP_KEY,
    FRAMES_KEY,
    PREVIOUS_SEGMENT_KEY,
    VASP_LABELS_KEY,
    VALIDATION_RUNS_KEY,
)

#: a VASP single point's frame with its labels, in its launch directory
LABELLED_FRAME_FILE = "labelled.extxyz"


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
        path = os.path.join(os.getcwd(), LABELLED_FRAME_FILE)
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
