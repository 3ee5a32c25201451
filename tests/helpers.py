"""Helpers shared by several test modules (``from tests.helpers import ...``): the ``dopwf`` console script run as a
user would, and small structures."""

import os
import subprocess
import sys
from pathlib import Path

from ase import Atoms
from ase.build import bulk

from dopant_workflows.structures.hosts import LGPS_OXIDATION_STATES

#: the console script of the environment running the tests
DOPWF = Path(sys.executable).parent / "dopwf"
#: the study small enough for a test: the LSiPS cell and its Cl-free variant, two temperatures, smoke MD
SMOKE = Path(__file__).resolve().parent / "data" / "studies" / "smoke_study.yaml"


def dopwf_env(home: Path, env_extra: dict | None = None) -> dict:
    """The environment of a ``dopwf`` process: HOME in the test's directory and no FW_CONFIG_FILE, so no
    ~/.fireworks of the machine is found and only --config can point FireWorks anywhere."""
    env = {**os.environ, "HOME": str(home), **(env_extra or {})}
    env.pop("FW_CONFIG_FILE", None)
    return env


def dopwf(args: list[str], cwd: Path, env_extra: dict | None = None, timeout: float = 900
          ) -> subprocess.CompletedProcess:
    """``dopwf *args`` in ``cwd`` (also its HOME), output captured."""
    return subprocess.run([str(DOPWF), *args], cwd=cwd, env=dopwf_env(cwd, env_extra), capture_output=True, text=True,
                          timeout=timeout)


def lgps_charge(structure) -> float:
    """Total charge of a structure at the LGPS family's formal oxidation states (0: charge balanced)."""
    return sum(LGPS_OXIDATION_STATES[site.specie.symbol] for site in structure)


def copper(n: int = 2) -> Atoms:
    """fcc copper, n x n x n conventional cells (4 n^3 atoms): EMT's cheapest MD test system."""
    return bulk("Cu", "fcc", a=3.61, cubic=True).repeat((n, n, n))


def example_data(name: str) -> dict:
    """An example study file as a dict, its structure paths made absolute (they are relative to the file): a test
    that writes a changed copy elsewhere still finds the host."""
    import yaml

    path = Path(__file__).resolve().parents[1] / "examples" / name
    data = yaml.safe_load(path.read_text())
    for holder, key in ((data, "host"), (data.get("training") or {}, "cell")):
        value = holder.get(key)
        if isinstance(value, str) and (path.parent / value).is_file():
            holder[key] = str(path.parent / value)
    return data


def markdown_table(report: str, title: str) -> list[dict[str, str]]:
    """The rows of the report's table under the heading ``## <title>...``, each a {column header: cell} dict, so a
    test names the column it checks instead of counting pipes."""
    section = report.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        raise AssertionError(f"no table under '## {title}'")

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=True)) for line in lines[2:]]


def results_collection(config, name: str) -> list[dict]:
    """A results collection of an embedded configuration (``dopwf init``) as a list of documents ([] if none)."""
    import json

    path = config.directory / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else []
