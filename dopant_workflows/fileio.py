"""Atomic file writes: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import hashlib
import os
import shutil
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


def write_frames_atomically(path: str | Path, frames) -> Path:
    """ASE frames as extended XYZ (their calculator results and info included), written whole or not at all."""
    import io

    from ase.io import write

    buffer = io.StringIO()
    write(buffer, list(frames), format="extxyz")
    return write_text_atomically(path, buffer.getvalue())


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: beside a store or results file: its previous version, kept by every save (the copy to fall back on)
LAST_GOOD_SUFFIX = ".last-good"


def last_good_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + LAST_GOOD_SUFFIX)


def write_text_keeping_last_good(path: str | Path, text: str) -> Path:
    """:func:`write_text_atomically`, keeping the version it replaces as ``PATH.last-good`` (a hard link where the
    file system allows: no copy). A process killed at any moment leaves the file whole, old or new."""
    path = Path(path)
    if path.is_file():
        backup, link = last_good_path(path), path.with_name(path.name + ".link.tmp")
        link.unlink(missing_ok=True)
        try:
            os.link(path, link)
        except OSError:  # no hard links here: copy
            shutil.copy2(path, link)
        os.replace(link, backup)
    return write_text_atomically(path, text)


def unreadable_file_message(what: str, path: str | Path, problem: str) -> str:
    """The error for a store or results file that cannot be read (a truncated write, a bad edit)."""
    backup = last_good_path(path)
    fallback = (f"its previous version is kept as {str(backup)!r}: check it, then move it into place to continue "
                "from it" if backup.is_file() else "no earlier copy is kept beside it")
    return f"{what} {str(path)!r}: {problem}; nothing was changed; {fallback}"
