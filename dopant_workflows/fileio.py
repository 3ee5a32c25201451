"""Atomic file writes: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: str | Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place.

    ``mode`` defaults to the usual 0o666 minus the process umask (temporary files are created 0o600).
    """
    path = Path(path)
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(text)
    try:
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
