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


def _insert_many(db_file: str, prefix: str, n: int) -> None:
    db = ResultsDB.from_file(db_file)
    for i in range(n):
        insert(db, "md_tasks", {"task_id": f"{prefix}-{i}", "value": i})


def test_two_processes_inserting_into_one_json_collection_lose_nothing(tmp_path):
    """dopwf run --workers 2: two Firetasks finishing at once each read, update and rewrite md_tasks.json; without
    the collection's lock one of them wrote the file without the other's document (a study's CI run lost an MD
    task that way). Two processes, 40 inserts each, interleaved: all 80 documents are there."""
    import multiprocessing

    db_file = tmp_path / "db.json"
    db_file.write_text(json.dumps({"kind": "json", "directory": str(tmp_path / "results")}))
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_insert_many, args=(str(db_file), prefix, 40)) for prefix in ("a", "b")]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    store = ResultsDB.from_file(db_file).store("md_tasks")
    store.connect()
    assert sorted(d["task_id"] for d in store.query({})) == sorted(f"{p}-{i}" for p in "ab" for i in range(40))
    store.close()
