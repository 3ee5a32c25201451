"""`dopwf init`: render a ready FireWorks configuration directory from the templates in ``fw_config/``.

Embedded default: a mongomock LaunchPad persisted in ``launchpad_store.json`` (created here, because FireWorks
refuses a store file that does not exist). Cluster: ``--mongodb-uri`` gives a real MongoDB LaunchPad.
Everything is rendered in memory and checked before the first file is written, so a refused or failed init
leaves the directory as it was.
"""

from __future__ import annotations

import getpass
import json
import socket
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from urllib.parse import urlparse

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

STORE_FILE = "launchpad_store.json"
CONFIG_FILE = "FW_config.yaml"


@dataclass(frozen=True)
class FWConfig:
    """Where a rendered configuration lives."""

    directory: Path
    embedded: bool

    @property
    def config_file(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def store_file(self) -> Path | None:
        return self.directory / STORE_FILE if self.embedded else None

    @property
    def export_line(self) -> str:
        return f"export FW_CONFIG_FILE={self.config_file}"


def _template(name: str) -> Template:
    return Template((files("dopant_workflows.fw_config") / name).read_text(encoding="utf-8"))


def _database_name(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme not in ("mongodb", "mongodb+srv") or not parsed.hostname:
        raise DopwfInputError(
            f"--mongodb-uri {uri!r}: expected mongodb://[user:password@]host[:port]/database or mongodb+srv://..."
        )
    name = parsed.path.lstrip("/")
    if not name:
        raise DopwfInputError(f"--mongodb-uri {uri!r}: names no database; append one, e.g. .../dopant_workflows")
    return name


def render_fw_config(directory: Path, mongodb_uri: str | None = None) -> dict[str, str]:
    """File name -> text of a configuration for ``directory`` (absolute), without touching the disk."""
    values = {
        "config_dir": str(directory),
        "worker_name": f"{getpass.getuser()}@{socket.gethostname()}",
    }
    if mongodb_uri is None:
        rendered = {
            CONFIG_FILE: _template("FW_config.yaml").substitute(values),
            "my_launchpad.yaml": _template("my_launchpad.yaml").substitute(values),
        }
    else:
        values |= {"mongodb_uri": mongodb_uri, "database_name": _database_name(mongodb_uri)}
        rendered = {
            CONFIG_FILE: _template("templates/FW_config_mongodb.yaml").substitute(values),
            "my_launchpad.yaml": _template("templates/my_launchpad_mongodb.yaml").substitute(values),
        }
    rendered["my_fworker.yaml"] = _template("my_fworker.yaml").substitute(values)
    results = {"kind": "json", "directory": str(directory / "results")} if mongodb_uri is None else {
        "kind": "mongodb", "uri": mongodb_uri}
    rendered["db.json"] = json.dumps(results, indent=1) + "\n"
    rendered["my_qadapter.yaml"] = _template("templates/my_qadapter_slurm.yaml").substitute(values)
    return rendered


def _same_settings(existing: str, rendered: str) -> bool:
    """The same configuration: equal settings, whatever the comments say (a newer version's templates may word
    their comments differently; ``make demo`` re-runs ``init`` on an existing directory)."""
    import yaml

    if existing == rendered:
        return True
    try:
        return yaml.safe_load(existing) == yaml.safe_load(rendered)
    except yaml.YAMLError:
        return False


def init_fw_config(directory: str | Path, mongodb_uri: str | None = None, force: bool = False) -> FWConfig:
    """Write a ready FireWorks configuration into ``directory``.

    Refuses (:class:`DopwfInputError`, nothing written) when the directory already holds a *different*
    configuration (other settings; comments do not count), unless ``force``. Re-running with the same arguments
    keeps the store and refreshes the files' comments.
    An existing store file is never overwritten: it holds the LaunchPad's data.
    """
    directory = Path(directory).expanduser().resolve()
    if directory.exists() and not directory.is_dir():
        raise DopwfInputError(f"--dir {str(directory)!r}: exists and is not a directory")
    rendered = render_fw_config(directory, mongodb_uri)
    conflicts = [
        name
        for name, text in rendered.items()
        if (directory / name).exists() and not _same_settings((directory / name).read_text(encoding="utf-8"), text)
    ]
    if conflicts and not force:
        raise DopwfInputError(
            f"--dir {str(directory)!r}: already holds a different FireWorks configuration ({', '.join(conflicts)}); "
            "use --force to overwrite it (the LaunchPad store file is kept)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "queue_logs").mkdir(exist_ok=True)
    for name, text in rendered.items():
        private = mongodb_uri is not None and name in ("my_launchpad.yaml", "db.json")  # they hold credentials
        write_text_atomically(directory / name, text, mode=0o600 if private else None)
    config = FWConfig(directory, embedded=mongodb_uri is None)
    if config.store_file is not None and not config.store_file.exists():
        write_text_atomically(config.store_file, "{}")
    return config
