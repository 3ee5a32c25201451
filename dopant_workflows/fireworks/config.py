"""FireWorks configuration in one place: ``dopwf init`` renders a ready configuration directory from the templates
in ``fw_config/`` (shipped as ``dopant_workflows.fw_config``), ``use_fw_config`` points FireWorks at one, and
``quiet_fireworks`` keeps FireWorks' own log lines in their place.

Embedded default: a mongomock LaunchPad persisted in ``launchpad_store.json`` (created here, because FireWorks
refuses a store file that does not exist). Cluster: ``--mongodb-uri`` gives a real MongoDB LaunchPad.
Everything is rendered in memory and checked before the first file is written, so a refused or failed init
leaves the directory as it was.

FireWorks reads its configuration (FW_config.yaml: LaunchPad, worker, store file) once, when ``fireworks`` is
first imported. ``use_fw_config`` therefore runs before that import (the CLI calls it first thing) and refuses to
run after it, when it could no longer take effect: this module never imports ``fireworks`` at import time.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from urllib.parse import urlparse

import yaml

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

FIREWORKS_LOGGERS = ("launchpad", "rocket")  # FireWorks' loggers; each gets its own stdout handler from FireWorks
STORE_FILE = "launchpad_store.json"  # the embedded LaunchPad (mongomock serverstore file)
CONFIG_FILE = "FW_config.yaml"  # what FW_CONFIG_FILE names: LaunchPad, worker, store file


# ---------------------------------------------------------------- dopwf init
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


# ---------------------------------------------------------------- using a configuration
def use_fw_config(config_dir: str | Path | None) -> Path:
    """Use ``config_dir/FW_config.yaml`` (or, without one, ``$FW_CONFIG_FILE``); returns the configuration
    directory. Raises :class:`DopwfInputError` when there is none, RuntimeError when FireWorks was imported
    before with another configuration."""
    if config_dir:
        path = Path(config_dir).expanduser().resolve() / CONFIG_FILE
        if not path.is_file():
            raise DopwfInputError(f"--config {str(config_dir)!r}: no FW_config.yaml there (run dopwf init --dir "
                                  f"{config_dir})")
        loaded = sys.modules.get("fireworks.fw_config")
        if loaded is not None and os.environ.get("FW_CONFIG_FILE") != str(path):
            raise RuntimeError(f"FireWorks was imported before its configuration was set to {path}; call "
                               "use_fw_config first")
        os.environ["FW_CONFIG_FILE"] = str(path)
    path = os.environ.get("FW_CONFIG_FILE")
    if not path:
        raise DopwfInputError("FireWorks configuration: set FW_CONFIG_FILE (the line dopwf init prints) or pass "
                              "--config")
    if not Path(path).is_file():
        raise DopwfInputError(f"FW_CONFIG_FILE {path!r}: {'a directory' if Path(path).is_dir() else 'not found'}; "
                              "expected the FW_config.yaml that dopwf init writes (or pass --config)")
    try:
        settings = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DopwfInputError(f"FW_CONFIG_FILE {path!r}: not a YAML FireWorks configuration ({exc})") from None
    if not isinstance(settings, dict):
        raise DopwfInputError(f"FW_CONFIG_FILE {path!r}: expected a mapping of FireWorks settings (dopwf init "
                              "writes one)")
    return Path(path).parent


def fireworks_stream_level(verbose: bool) -> str:
    """FireWorks' own console lines: warnings only, everything with -v."""
    return "DEBUG" if verbose else "WARNING"


def quiet_fireworks(verbose: bool) -> str:
    """FireWorks' loggers print through their own handlers: stop them also reaching ours (each line twice, DEBUG
    included, since a propagated record skips the root logger's level), and set the level their handlers get."""
    for name in FIREWORKS_LOGGERS:
        logging.getLogger(name).propagate = False
    level = fireworks_stream_level(verbose)
    import fireworks.core.rocket as rocket  # read at its import; the Rocket makes its handler from it

    rocket.ROCKET_STREAM_LOGLEVEL = level
    return level
