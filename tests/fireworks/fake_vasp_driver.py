"""Run in a subprocess with FW_CONFIG_FILE set (FireWorks reads its config at import): submit the VASP reference
workflow of the LSiPS cell with use_fake_vasp, launch it with rapidfire, print the outcome as JSON."""

import json
import sys
from pathlib import Path

from fireworks import Firework, FWorker, LaunchPad, ScriptTask, Workflow
from fireworks.core.rocket_launcher import rapidfire

from dopant_workflows.db import ResultsDB
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.fireworks.powerups import use_fake_vasp
from dopant_workflows.fireworks.vasp_workflows import get_wf_vasp_reference
from dopant_workflows.structures.hosts import lsips_host

reference, launch_dir = Path(sys.argv[1]), Path(sys.argv[2])
settings = AIMDSettings(n_steps=10, segment_steps=5, temperature_start_K=300, temperature_end_K=1000, seed=5)
host = lsips_host()
wf = get_wf_vasp_reference(host, settings, "lsips", dielectric_structures={"Li20Si3P3S23Cl": host},
                           study="lsips")
# a child of the last segment (as the training Firework is in a study): it must receive every segment's frames
last = next(fw for fw in wf.fws if fw.name == "lsips aimd segment 1")
wf.append_wf(Workflow([Firework(ScriptTask.from_str("true"), name="lsips after aimd")]), [last.fw_id])
wf = use_fake_vasp(wf, {"lsips aimd segment 0": reference / "aimd_edddav_error",
                        "lsips aimd segment 1": reference / "aimd_segment_1",
                        "lsips Li20Si3P3S23Cl dielectric": reference / "dielectric"})
lpad = LaunchPad.auto_load()
lpad.reset("", require_password=False)
lpad.add_wf(wf)
rapidfire(lpad, FWorker(env={"vasp_cmd": "vasp_std", "db_file": sys.argv[3]}), m_dir=str(launch_dir), nlaunches=0,
          sleep_time=0)
out = {}
for fw_id in lpad.get_fw_ids():
    fw = lpad.get_fw_by_id(fw_id)
    out[fw.name] = {"state": fw.state, "stored_data": fw.launches[-1].action.stored_data if fw.launches else None,
                    "spec_frames": fw.spec.get("aimd_frames")}
db = ResultsDB.from_file(sys.argv[3])
store = db.store("dielectric")
store.connect()
out["dielectric documents"] = list(store.query({}, properties=["substitution_id", "study", "formula", "eps_r",
                                                               "source"]))
store.close()
print("RESULT " + json.dumps(out, default=str))
