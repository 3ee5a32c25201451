"""`dopwf init` and the standard FireWorks CLI against the embedded (mongomock) store, across processes."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks.config import init_fw_config

BIN = Path(sys.executable).parent


def _run(args, env, cwd):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_init_writes_absolute_embedded_config(tmp_path):
    config = init_fw_config(tmp_path / "cfg")
    fw_config = yaml.safe_load(config.config_file.read_text())
    assert fw_config["MONGOMOCK_SERVERSTORE_FILE"] == str(tmp_path / "cfg" / "launchpad_store.json")
    assert fw_config["LAUNCHPAD_LOC"] == str(tmp_path / "cfg" / "my_launchpad.yaml")
    assert config.store_file.read_text() == "{}"
    assert yaml.safe_load((tmp_path / "cfg" / "my_fworker.yaml").read_text())["env"]["device"] == "cpu"
    qadapter = yaml.safe_load((tmp_path / "cfg" / "my_qadapter.yaml").read_text())
    assert qadapter["_fw_q_type"] == "SLURM"
    assert qadapter["rocket_launch"] == f"rlaunch -c {tmp_path / 'cfg'} singleshot"
    assert config.export_line == f"export FW_CONFIG_FILE={tmp_path / 'cfg' / 'FW_config.yaml'}"


def test_init_is_idempotent_and_keeps_the_store(tmp_path):
    config = init_fw_config(tmp_path)
    config.store_file.write_text('{"fireworks": {}}')
    init_fw_config(tmp_path)  # same arguments: nothing to refuse, store untouched
    assert config.store_file.read_text() == '{"fireworks": {}}'
    # a configuration written by an earlier version whose templates worded their comments otherwise: the same
    # settings, so `make demo` (which runs init every time) still works; the comments are refreshed
    rendered = config.config_file.read_text()
    config.config_file.write_text("# an older comment\n" + rendered.replace("# ", "#  "))
    init_fw_config(tmp_path)
    assert config.config_file.read_text() == rendered and config.store_file.read_text() == '{"fireworks": {}}'
    config.config_file.write_text(rendered.replace("my_fworker.yaml", "other_fworker.yaml"))
    with pytest.raises(DopwfInputError, match=r"different FireWorks configuration \(FW_config.yaml\)"):
        init_fw_config(tmp_path)


def test_init_refuses_a_different_config_unless_forced(tmp_path):
    init_fw_config(tmp_path)
    before = {p.name: p.read_text() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(DopwfInputError, match="already holds a different FireWorks configuration"):
        init_fw_config(tmp_path, mongodb_uri="mongodb://db.example.edu:27017/dopwf")
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p.is_file()} == before  # nothing written
    config = init_fw_config(tmp_path, mongodb_uri="mongodb://db.example.edu:27017/dopwf", force=True)
    launchpad = yaml.safe_load((tmp_path / "my_launchpad.yaml").read_text())
    assert launchpad == {**launchpad, "host": "mongodb://db.example.edu:27017/dopwf", "uri_mode": True, "name": "dopwf"}
    assert "MONGOMOCK_SERVERSTORE_FILE" not in yaml.safe_load(config.config_file.read_text())
    assert (tmp_path / "launchpad_store.json").exists()  # data is never deleted
    assert oct((tmp_path / "my_launchpad.yaml").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("uri", ["http://example.com/db", "mongodb://host.example.edu:27017", "localhost"])
def test_bad_mongodb_uri_is_named(tmp_path, uri):
    with pytest.raises(DopwfInputError, match="--mongodb-uri"):
        init_fw_config(tmp_path / "cfg", mongodb_uri=uri)
    assert not (tmp_path / "cfg").exists()


def test_init_into_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DopwfInputError, match="not a directory"):
        init_fw_config(tmp_path / "file")


def test_fireworks_cli_runs_against_embedded_store_across_processes(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}  # no ~/.fireworks of the machine may shadow FW_CONFIG_FILE
    env.pop("FW_CONFIG_FILE", None)
    out = _run([BIN / "dopwf", "init", "--dir", str(tmp_path / "cfg")], env, tmp_path)
    export = next(line for line in out.splitlines() if line.startswith("export FW_CONFIG_FILE="))
    env["FW_CONFIG_FILE"] = export.split("=", 1)[1]

    wf = {
        "fws": [
            {"fw_id": 1, "name": "first",
             "spec": {"_tasks": [{"_fw_name": "ScriptTask", "script": "echo one > one.txt"}]}},
            {"fw_id": 2, "name": "second",
             "spec": {"_tasks": [{"_fw_name": "ScriptTask", "script": "echo two > two.txt"}]}},
        ],
        "links": {"1": [2]},
        "metadata": {},
        "name": "two-step",
    }
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(wf))
    _run([BIN / "lpad", "reset", "--password", datetime.date.today().isoformat()], env, tmp_path)
    _run([BIN / "lpad", "add", str(tmp_path / "wf.yaml")], env, tmp_path)
    listing = _run([BIN / "lpad", "get_wflows", "-d", "more"], env, tmp_path)
    assert '"state": "READY"' in listing and "two-step" in listing  # a new process saw what `add` stored

    launches = tmp_path / "launches"
    launches.mkdir()
    _run([BIN / "rlaunch", "rapidfire"], env, launches)
    listing = _run([BIN / "lpad", "get_wflows", "-d", "more"], env, tmp_path)
    assert '"state": "COMPLETED"' in listing
    assert sorted(p.name for p in launches.glob("launcher_*/*.txt")) == ["one.txt", "two.txt"]


def test_config_module_leaves_fireworks_unimported():
    """use_fw_config runs before FireWorks is imported (FireWorks reads FW_CONFIG_FILE then): importing the module
    that holds it must not import FireWorks."""
    code = ("import sys, dopant_workflows.fireworks.config; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fireworks'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
