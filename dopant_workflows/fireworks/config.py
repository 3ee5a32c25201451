"""The one place that points FireWorks at a configuration, and keeps FireWorks' own log lines in their place.

FireWorks reads its configuration (FW_config.yaml: LaunchPad, worker, store file) once, when ``fireworks`` is
first imported. ``use_fw_config`` therefore runs before that import (the CLI calls it first thing) and refuses to
run after it, when it could no longer take effect.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import yaml

from dopant_workflows.errors import DopwfInputError

FIREWORKS_LOGGERS = ("launchpad", "rocket")  # FireWorks' loggers; each gets its own stdout handler from FireWorks


def use_fw_config(config_dir: str | Path | None) -> Path:
    """Use ``config_dir/FW_config.yaml`` (or, without one, ``$FW_CONFIG_FILE``); returns the configuration
    directory. Raises :class:`DopwfInputError` when there is none, RuntimeError when FireWorks was imported
    before with another configuration."""
    if config_dir:
        path = Path(config_dir).expanduser().resolve() / "FW_config.yaml"
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
        raise DopwfInputError("FireWorks configuration: set FW_CONFIG_FILE (the line dopwf init prints) or pass --config")
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
