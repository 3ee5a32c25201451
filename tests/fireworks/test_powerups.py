"""Powerups change exactly the Fireworks they name, chain, survive serialisation, and refuse what matches nothing;
the INCAR override reaches the INCAR that is written."""

import pytest
import yaml
from fireworks import Workflow

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.fireworks.powerups import (
    add_priority,
    modify_incar,
    set_execution_options,
    set_queue_options,
    use_device,
)
from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
from dopant_workflows.fireworks.task_helpers import device_of
from dopant_workflows.fireworks.vasp_workflows import get_wf_vasp_reference
from dopant_workflows.names import DEVICE_KEY
from dopant_workflows.study import study_from_dict
from tests.helpers import SMOKE


@pytest.fixture
def study_wf():
    return get_wf_dopant_study(study_from_dict(yaml.safe_load(SMOKE.read_text()), "smoke"))


@pytest.fixture
def vasp_wf(lsips):
    return get_wf_vasp_reference(lsips, AIMDSettings(n_steps=10, segment_steps=5), "x", {"cell": lsips})


def test_device_and_execution_options_reach_only_the_md_fireworks(study_wf):
    wf = set_execution_options(use_device(study_wf, "cuda:1", fw_name_constraint=" md "), category="gpu",
                               fw_name_constraint=" md ")
    md = [fw for fw in wf.fws if " md " in fw.name]
    assert len(md) == 4 + 4 and all(fw.spec[DEVICE_KEY] == "cuda:1" and fw.spec["_category"] == "gpu" for fw in md)
    assert all(DEVICE_KEY not in fw.spec and "_category" not in fw.spec for fw in wf.fws if fw not in md)
    assert device_of(md[0].spec) == "cuda:1"
    again = {fw.name: fw.spec for fw in Workflow.from_dict(wf.to_dict()).fws}  # serialisable (lpad add)
    assert all(again[fw.name][DEVICE_KEY] == "cuda:1" and again[fw.name]["_category"] == "gpu" for fw in md)
    with pytest.raises(ValueError, match="device 'tpu'"):
        use_device(study_wf, "tpu")
    with pytest.raises(ValueError, match="no Firework with RunANNMD/RunEmbeddedAIMD/RunValidationMD/"
                                         "ValidateNetwork/ActiveLearningRound whose name contains 'nope'"):
        use_device(study_wf, "cuda", fw_name_constraint="nope")


def test_priority_and_queue_options(study_wf):
    wf = add_priority(set_queue_options(study_wf, walltime="02:00:00", gres="gpu:1", fw_name_constraint=" md "),
                      100, 50)
    roots = set(wf.root_fw_ids)
    assert {fw.spec["_priority"] for fw in wf.fws if fw.fw_id in roots} == {100}
    assert {fw.spec["_priority"] for fw in wf.fws if fw.fw_id not in roots} == {50}
    queued = [fw for fw in wf.fws if "_queueadapter" in fw.spec]
    assert len(queued) == 4 + 4 and queued[0].spec["_queueadapter"] == {"walltime": "02:00:00", "gres": "gpu:1"}
    with pytest.raises(ValueError, match="no option given"):
        set_queue_options(study_wf)


def test_modify_incar_reaches_the_written_incar(vasp_wf, study_wf, lsips, tmp_path):
    from pymatgen.io.vasp import Incar

    from dopant_workflows.engines.vasp.inputs import write_aimd_segment

    wf = modify_incar(modify_incar(vasp_wf, {"NCORE": 8}), {"KPAR": 2}, fw_name_constraint="segment 1")
    tasks = {fw.name: fw.tasks[0] for fw in wf.fws}
    assert tasks["x aimd segment 0"]["user_incar"] == {"NCORE": 8}
    assert tasks["x aimd segment 1"]["user_incar"] == {"NCORE": 8, "KPAR": 2}
    assert tasks["x cell dielectric"]["user_incar"] == {"NCORE": 8}
    settings = AIMDSettings(n_steps=10, segment_steps=5)
    write_aimd_segment(tmp_path, lsips, settings.segments()[0], settings, potcar_spec=True,
                       user_incar=tasks["x aimd segment 1"]["user_incar"])
    incar = Incar.from_file(tmp_path / "INCAR")
    assert incar["NCORE"] == 8 and incar["KPAR"] == 2 and incar["ENCUT"] == 600  # the paper's settings stay
    with pytest.raises(ValueError, match="upper-case"):
        modify_incar(vasp_wf, {"encut": 500})
    with pytest.raises(ValueError, match="no Firework with RunVaspAIMDSegment/RunVaspDielectric"):
        modify_incar(study_wf, {"NCORE": 4})  # an embedded-engine study has no VASP Firework
