"""The embedded stores survive a kill: atomic saves keep the last good copy; an unreadable file is named."""

import json
from types import SimpleNamespace

import pytest

from dopant_workflows.db import ResultsDB, insert
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks import embedded_store


@pytest.fixture
def store_file(tmp_path, monkeypatch):
    path = tmp_path / "launchpad_store.json"
    path.write_text("{}")
    monkeypatch.setenv("MONGOMOCK_SERVERSTORE_FILE", str(path))
    embedded_store.install()
    return path


def _client():
    import mongomock

    return mongomock.MongoClient()


def test_the_launchpad_store_is_saved_atomically_keeping_the_last_good_copy(store_file):
    client = _client()
    lpad = SimpleNamespace(connection=client)
    client.fireworks["fireworks"].insert_one({"fw_id": 1, "state": "COMPLETED"})
    assert embedded_store.save(lpad)
    client.fireworks["fireworks"].insert_one({"fw_id": 2, "state": "COMPLETED"})
    assert embedded_store.save(lpad)
    saved = json.loads(store_file.read_text())["fireworks"]["fireworks"]["documents"]
    kept = json.loads(store_file.with_name(store_file.name + ".last-good").read_text())
    assert [d[1]["fw_id"] for d in saved] == [1, 2]
    assert [d[1]["fw_id"] for d in kept["fireworks"]["fireworks"]["documents"]] == [1]
    assert not list(store_file.parent.glob("*.tmp"))  # no temporary file left behind
    reopened = _client()  # a new process's view: what was saved
    assert reopened.fireworks["fireworks"].count_documents({}) == 2
    assert not embedded_store.save(SimpleNamespace(connection=None))  # a MongoDB LaunchPad: nothing to save


def test_an_unreadable_launchpad_store_is_named_with_its_last_good_copy(store_file):
    client = _client()
    client.fireworks["fireworks"].insert_one({"fw_id": 1})
    embedded_store.save(SimpleNamespace(connection=client))
    embedded_store.save(SimpleNamespace(connection=client))
    text = store_file.read_text()
    store_file.write_text(text[: len(text) // 2])  # what an in-place write killed halfway left before
    with pytest.raises(DopwfInputError) as info:
        _client()
    message = str(info.value)
    assert f"LaunchPad store '{store_file}': cannot be read" in message
    assert "launchpad_store.json.last-good" in message and "nothing was changed" in message
    assert store_file.read_text() == text[: len(text) // 2]


def test_an_unreadable_results_file_is_an_error_not_a_silent_rewrite(tmp_path):
    (tmp_path / "db.json").write_text(json.dumps({"kind": "json", "directory": str(tmp_path / "results")}))
    db = ResultsDB.from_file(tmp_path / "db.json")
    for key in "abc":
        insert(db, "models", {"model_sha256": key})
    path = tmp_path / "results" / "models.json"
    assert [d["model_sha256"] for d in json.loads(path.read_text())] == ["a", "b", "c"]
    assert [d["model_sha256"] for d in json.loads((tmp_path / "results" / "models.json.last-good").read_text())] == [
        "a", "b"]
    path.write_text(path.read_text()[:20])
    with pytest.raises(DopwfInputError,
                       match=r"results file '.*models\.json': cannot be read .* kept as '.*models\.json\.last-good'"):
        insert(db, "models", {"model_sha256": "d"})
    assert path.read_text().startswith('[{"model_sha256"') and len(path.read_text()) == 20  # untouched
