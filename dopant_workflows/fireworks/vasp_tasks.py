"""Firetasks that run the VASP engine: one AIMD segment, one dielectric (DFPT) run.

Each runs in its launch directory. VASP is ``env_chk(">>vasp_cmd<<")`` (my_fworker.yaml env), unless the
``use_fake_vasp`` powerup put a reference directory in the spec (``_fake_vasp_dir``): then the run is replayed
(inputs checked, outputs copied) under the same custodian handlers. Results travel to children through the
spec: ``aimd_frames`` (pushed frame files), ``previous_segment_dir`` (continuation), ``dielectric`` documents.
"""

from __future__ import annotations

import os

from fireworks import FiretaskBase, FWAction, explicit_serialize

from dopant_workflows.db import insert
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.engines.vasp.replay import ReplayVaspJob
from dopant_workflows.engines.vasp.runs import run_aimd_segment
from dopant_workflows.fireworks.study_tasks import announce, as_structure, env_value, fw_id_of, results_db
from dopant_workflows.jobs.dielectric import run_vasp_dielectric
from dopant_workflows.names import AIMD_FRAMES_FILE, DIELECTRIC_KEY, FAKE_VASP_KEY, FRAMES_KEY, PREVIOUS_SEGMENT_KEY


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
        return FWAction(
            stored_data={"n_frames": result.n_frames, "truncated": result.truncated, "corrections": result.corrections},
            update_spec={PREVIOUS_SEGMENT_KEY: os.getcwd()},
            mod_spec=[{"_push": {FRAMES_KEY: frames}}],
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
