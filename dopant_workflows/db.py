"""The results database, configured like atomate's ``db_file``: a small JSON file naming where documents go.

``{"kind": "json", "directory": "/abs/results"}`` (embedded default: one maggma JSONStore file per collection)
or ``{"kind": "mongodb", "uri": "mongodb://.../dbname"}`` (clusters: maggma MongoStore per collection).
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import unreadable_file_message, write_text_atomically, write_text_keeping_last_good

#: collection -> key field
COLLECTIONS = {
    "training_sets": "set_id",
    "label_sets": "set_id",
    "models": "model_sha256",
    "md_tasks": "task_id",
    "dielectric": "dielectric_id",
    "validation": "validation_id",
    "active_learning": "al_id",
    "diffusivity": "task_id",
    "conductivity": "conductivity_id",
    "anderson_stuart": "anderson_stuart_id",
    "studies": "study",
    "precision": "precision_id",
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
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{collection}.json"
            if not path.exists():
                write_text_atomically(path, "[]")
            return _safe_json_store(str(path), key)
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


#: keys that earlier layouts did not store (documents keyed by substitution alone), and whether the collection is
#: derived (built from others: its legacy documents are rebuilt by the next build, see builders.drop_legacy)
STUDY_KEYS = {"dielectric_id": False, "conductivity_id": True, "anderson_stuart_id": True}
LEGACY_FLAG = "legacy_layout"


def with_study_key(document: dict, key: str) -> dict:
    """A document as the current layout keys it: one written before ``key`` existed gets it from its study and
    substitution (and, in a derived collection, the ``legacy_layout`` flag that has the next build rebuild it).
    A document without its key that cannot be given one is an error naming what is missing."""
    if key in document:
        return document
    if key not in STUDY_KEYS:
        raise DopwfInputError(f"a document without its key field {key!r} (keys: {sorted(document)[:8]})")
    # derived documents are keyed by composition since arrangements are pooled; earlier ones by substitution
    ident = document.get("composition_id") if STUDY_KEYS[key] else None
    ident = ident or document.get("substitution_id")
    if "study" not in document or not ident:
        raise DopwfInputError(f"a document without {key!r} and without study/substitution_id to derive it from")
    from dopant_workflows.names import study_substitution_id

    legacy = {LEGACY_FLAG: True} if STUDY_KEYS[key] else {}
    return {**document, key: study_substitution_id(document["study"] or "", ident), **legacy}


def insert(db: ResultsDB, collection: str, document: dict) -> None:
    """Insert (or replace, by key) one document. A JSON collection is read, updated and rewritten whole, so the
    read-modify-write holds an exclusive lock on ``<collection>.json.lock``: two ``dopwf run --workers`` processes
    finishing at once would otherwise each write the file without the other's document."""
    with _collection_lock(db, collection):
        store = db.store(collection)
        store.connect()
        try:
            store.update([document])
        finally:
            store.close()


@contextmanager
def _collection_lock(db: ResultsDB, collection: str):
    if db.kind != "json":  # MongoDB updates one document atomically
        yield
        return
    db.directory.mkdir(parents=True, exist_ok=True)
    with open(db.directory / f"{collection}.json.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, also if this process is killed
        yield


def _safe_json_store(path: str, key: str):
    """maggma's JSONStore, made safe to kill: an unreadable file is an error naming it (maggma logs "Skipping" and
    its next write would drop every document the file held), and each write goes to a temporary file renamed into
    place, keeping the version it replaces as ``<collection>.json.last-good``."""
    import orjson
    from maggma.stores import JSONStore

    class SafeJSONStore(JSONStore):
        _unreadable: DopwfInputError | None = None

        def read_json_file(self, file_path) -> list:
            try:
                documents = super().read_json_file(file_path)
            except FileNotFoundError:
                raise
            except Exception as exc:  # orjson, bson and decoding errors alike; maggma's connect swallows them
                self._unreadable = DopwfInputError(unreadable_file_message("results file", file_path,
                                                                           f"cannot be read ({exc})"))
                raise
            try:
                return [with_study_key(d, self.key) for d in documents]
            except DopwfInputError as exc:
                self._unreadable = DopwfInputError(unreadable_file_message("results file", file_path, str(exc)))
                raise self._unreadable from None

        def connect(self, force_reset: bool = False) -> None:
            self._unreadable = None
            super().connect(force_reset)
            if self._unreadable is not None:
                self._coll = None  # not half loaded: a later write would drop what the file holds
                raise self._unreadable

        def update_json_file(self) -> None:
            data = list(self.query())
            for doc in data:
                doc.pop("_id")
            text = orjson.dumps(data, option=self.serialization_option, default=self.serialization_default)
            write_text_keeping_last_good(self.paths[0], text.decode("utf-8"))

    return SafeJSONStore(path, read_only=False, key=key)
