"""The results database, configured like atomate's ``db_file``: a small JSON file naming where documents go.

``{"kind": "json", "directory": "/abs/results"}`` (embedded default: one maggma JSONStore file per collection)
or ``{"kind": "mongodb", "uri": "mongodb://.../dbname"}`` (clusters: maggma MongoStore per collection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dopant_workflows.errors import DopwfInputError

#: collection -> key field
COLLECTIONS = {
    "training_sets": "set_id",
    "models": "model_sha256",
    "md_tasks": "task_id",
    "dielectric": "substitution_id",
    "validation": "validation_id",
    "active_learning": "al_id",
    "diffusivity": "task_id",
    "conductivity": "substitution_id",
    "anderson_stuart": "substitution_id",
}


@dataclass(frozen=True)
class ResultsDB:
    kind: str
    directory: Path | None = None
    uri: str | None = None

    @classmethod
    def from_file(cls, db_file: str | Path) -> ResultsDB:
        path = Path(db_file)
        if not path.is_file():
            raise DopwfInputError(f"db_file {str(path)!r}: not found (dopwf init writes one)")
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DopwfInputError(f"db_file {str(path)!r}: not JSON ({exc})") from None
        kind = config.get("kind")
        if kind == "json":
            return cls("json", directory=Path(config["directory"]))
        if kind == "mongodb" and config.get("uri"):
            return cls("mongodb", uri=config["uri"])
        raise DopwfInputError(f"db_file {str(path)!r}: expected kind 'json' (with directory) or 'mongodb' (with uri)")

    def store(self, collection: str, server_timeout_ms: int | None = None):
        """A maggma Store for ``collection`` (not yet connected); MongoDB: ``server_timeout_ms`` bounds the wait
        for a server (pymongo's default, 30 s, otherwise)."""
        if collection not in COLLECTIONS:
            raise DopwfInputError(f"collection {collection!r}: expected one of {sorted(COLLECTIONS)}")
        key = COLLECTIONS[collection]
        if self.kind == "json":
            from maggma.stores import JSONStore

            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{collection}.json"
            if not path.exists():
                path.write_text("[]")
            return JSONStore(str(path), read_only=False, key=key)
        from maggma.stores import MongoStore

        kwargs = {"serverSelectionTimeoutMS": server_timeout_ms} if server_timeout_ms else {}
        return MongoStore.from_uri(self.uri, collection_name=collection, key=key, mongoclient_kwargs=kwargs)

    def check_reachable(self, server_timeout_ms: int = 5000) -> None:
        """Connect once to every collection; a clear error before any work starts."""
        for collection in COLLECTIONS:
            store = self.store(collection, server_timeout_ms)
            try:
                store.connect()
                store.count()
            except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"; named below
                raise DopwfInputError(f"results database ({self.kind}: {self.uri or self.directory}): cannot use "
                                      f"collection {collection} ({exc})") from None
            finally:
                store.close()


def insert(db: ResultsDB, collection: str, document: dict) -> None:
    store = db.store(collection)
    store.connect()
    try:
        store.update([document])
    finally:
        store.close()
