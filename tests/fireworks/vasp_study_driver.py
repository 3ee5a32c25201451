"""Run in a subprocess with FW_CONFIG_FILE set (FireWorks reads its config at import): a whole study with
``engine: vasp`` under FireWorks, every VASP run replayed (use_fake_vasp): training AIMD -> active learning (2
rounds, explored frames labelled by VASP single points added at run time) -> ANN-MD and validation (VASP AIMD at
each validation temperature, then VASP single points of ANN-MD frames added at run time as a detour) ->
comparison. Prints the outcome as JSON."""

import json
import sys
from pathlib import Path

from fireworks import FWorker, LaunchPad
from fireworks.core.rocket_launcher import rapidfire

from dopant_workflows.db import ResultsDB
from dopant_workflows.fireworks.powerups import use_fake_vasp
from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
from dopant_workflows.study import study_from_dict

reference, work = Path(sys.argv[1]), Path(sys.argv[2])
STUDY = {
    "name": "vstudy", "host": "LSiPS", "engine": "vasp", "temperatures_K": [700, 900], "seed": 7,
    "substitutions": {"dopant": "Cl:S", "compensate": "Si:P", "supercell": [1, 1, 1], "counts": [1]},  # the host
    # tools/vasp_replay/make_reference_runs.py: STUDY_AIMD and VALIDATION_PROTOCOL
    "reference_aimd": {"n_steps": 10, "segment_steps": 100, "temperature_start_K": 300, "temperature_end_K": 1000,
                       "seed": 5},
    "protocol": {"preset": "smoke", "heating_ps": 0.02, "equilibration_ps": 0.02, "production_ps": 0.1,
                 "sample_interval_fs": 4.0},
    "ann": {"hidden_layers": [5, 5], "max_steps": 40},
    "validation": {"seeds": 1, "relabel_frames": 2},
    # two rounds, each labelling 2 explored frames (and any beyond the data) by VASP single points
    "active_learning": {"enabled": True, "committee_size": 1, "selection": "uniform", "explore_ps": 0.1,
                        "explore_interval_fs": 10.0, "max_labels_per_round": 2, "max_rounds": 2,
                        "label_beyond_data": False},
}
study = study_from_dict(STUDY)
wf = get_wf_dopant_study(study)
mapping = {}
for fw in wf.fws:
    if " aimd segment " in fw.name:
        mapping[fw.name] = reference / ("aimd_single_segment" if "validation" not in fw.name else
                                        "validation_md_700K" if " 700K " in fw.name else "validation_md_900K")
    elif fw.name.endswith(" dielectric"):
        mapping[fw.name] = reference / "dielectric"
    elif fw.name.endswith(" validation") or fw.name.endswith(" active learning round 1"):
        mapping[fw.name] = reference / "static"
wf = use_fake_vasp(wf, mapping)
lpad = LaunchPad.auto_load()
lpad.reset("", require_password=False)
lpad.add_wf(wf)
db_file = Path(sys.argv[3])
(work / "launches").mkdir(exist_ok=True)
rapidfire(lpad, FWorker(env={"vasp_cmd": "vasp_std", "db_file": str(db_file), "runs_dir": str(work / "runs")}),
          m_dir=str(work / "launches"), nlaunches=0, sleep_time=0)
out = {"fireworks": {}}
for fw_id in lpad.get_fw_ids():
    fw = lpad.get_fw_by_id(fw_id)
    out["fireworks"][fw.name] = {"state": fw.state, "spec_frames": fw.spec.get("aimd_frames"),
                                 "labels": fw.spec.get("vasp_labels")}
db = ResultsDB.from_file(db_file)
for collection in ("validation", "models", "active_learning"):
    store = db.store(collection)
    store.connect()
    out[collection] = list(store.query({}, properties={"_id": 0}))
    store.close()
print("RESULT " + json.dumps(out, default=str))
