"""The results database named by db_file: bad files and unreachable servers are clear errors, before any work."""

import json
import time

import pytest

from dopant_workflows.db import COLLECTIONS, ResultsDB, insert
from dopant_workflows.errors import DopwfInputError


def test_json_results_db_round_trip_and_bad_files(tmp_path):
    db_file = tmp_path / "db.json"
    db_file.write_text(json.dumps({"kind": "json", "directory": str(tmp_path / "results")}))
    db = ResultsDB.from_file(db_file)
    db.check_reachable()
    insert(db, "dielectric", {"dielectric_id": "s/x", "eps_r": 5.0})
    insert(db, "dielectric", {"dielectric_id": "s/x", "eps_r": 6.0})  # same key: replaced, not duplicated
    store = db.store("dielectric")
    store.connect()
    assert [d["eps_r"] for d in store.query({})] == [6.0]
    store.close()
    with pytest.raises(DopwfInputError, match="collection 'typo'"):
        db.store("typo")
    with pytest.raises(DopwfInputError, match="not found"):
        ResultsDB.from_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{kind: json")
    with pytest.raises(DopwfInputError, match="not JSON"):
        ResultsDB.from_file(tmp_path / "bad.json")
    (tmp_path / "odd.json").write_text(json.dumps({"kind": "postgres"}))
    with pytest.raises(DopwfInputError, match="expected kind 'json'"):
        ResultsDB.from_file(tmp_path / "odd.json")


def test_unreachable_mongodb_is_named_quickly(tmp_path):
    db_file = tmp_path / "db.json"
    db_file.write_text(json.dumps({"kind": "mongodb", "uri": "mongodb://127.0.0.1:9/dopant_workflows"}))  # no server
    db = ResultsDB.from_file(db_file)
    start = time.perf_counter()
    with pytest.raises(DopwfInputError, match=r"results database \(mongodb: mongodb://127.0.0.1:9/dopant_workflows\): "
                                              r"cannot use collection " + next(iter(COLLECTIONS))):
        db.check_reachable(server_timeout_ms=300)
    assert time.perf_counter() - start < 10  # one bounded attempt, not pymongo's 30 s per collection
