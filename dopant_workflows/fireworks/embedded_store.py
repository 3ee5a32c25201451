"""The embedded LaunchPad store (mongomock, persisted in launchpad_store.json) made safe to kill.

mongomock_persistence (FireWorks' embedded mode) reads the whole store when a process starts and writes it back,
in place, only when the process exits: a run killed by SIGKILL (the OOM killer, a scheduler's time limit) loses
every state change since it started, and one killed while writing leaves a truncated file that the next start
cannot read. :func:`install` replaces its read and write: the file is written atomically (temporary file +
rename) keeping the version it replaces as ``launchpad_store.json.last-good``, and an unreadable file is an error
naming it and that copy. :func:`save` writes the store now; ``dopwf run`` calls it after every Firework.
:func:`read_only` makes the stores a process opens from then on write nothing, not even at exit: a command that
only reads (``dopwf status``) can never put back the copy it loaded over a running study's newer one.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import unreadable_file_message, write_text_keeping_last_good

_installed = False
_read_only = False


def read_only() -> None:
    """From now on this process's embedded stores are never written (no save at exit; :func:`save` refuses)."""
    global _read_only
    install()
    _read_only = True


def _load(self, filename=None) -> None:
    import os

    import bson.json_util
    from mongomock.store import DatabaseStore

    self._filename = os.environ.get("MONGOMOCK_SERVERSTORE_FILE", filename)
    self._databases = {}
    if not self._filename:
        return
    path = Path(self._filename)
    try:
        data = bson.json_util.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        self._databases = {k: DatabaseStore.from_dict(v) for k, v in data.items()}
    except FileNotFoundError:
        raise DopwfInputError(f"LaunchPad store {str(path)!r}: not found (dopwf init writes it)") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DopwfInputError(unreadable_file_message("LaunchPad store", path, f"cannot be read ({exc})")) from None
    if not _read_only:
        self._finalizer = weakref.finalize(self, self._to_file)


def _save(self) -> None:
    import bson.json_util

    if _read_only:  # a store opened before read_only(): its exit save is skipped too
        return
    write_text_keeping_last_good(self._filename, bson.json_util.dumps(self.to_dict()))


def install() -> None:
    """Patch mongomock_persistence's ServerStore (idempotent); a no-op where FireWorks uses a MongoDB server."""
    global _installed
    if _installed:
        return
    try:
        import mongomock_persistence  # noqa: F401 - applies its own patches first
        from mongomock.store import ServerStore
    except ImportError:
        return
    ServerStore.__init__ = _load
    ServerStore._to_file = _save
    _installed = True


def save(lpad) -> bool:
    """Write ``lpad``'s embedded store to its file now (True), or nothing for a MongoDB LaunchPad (False)."""
    if _read_only:
        raise RuntimeError("embedded store opened read-only in this process: not written")
    store = getattr(getattr(lpad, "connection", None), "_store", None)
    if store is None or not getattr(store, "_filename", None):
        return False
    store._to_file()
    return True
