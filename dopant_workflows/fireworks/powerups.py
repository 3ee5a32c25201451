"""Workflow -> workflow transforms, atomate style."""

from __future__ import annotations

from pathlib import Path

from fireworks import Workflow

from dopant_workflows.fireworks.vasp_tasks import FAKE_VASP_KEY, RunVaspAIMDSegment, RunVaspDielectric

_VASP_TASKS = (RunVaspAIMDSegment, RunVaspDielectric)


def use_fake_vasp(workflow: Workflow, reference_dirs: dict[str, str | Path]) -> Workflow:
    """Replay reference runs instead of running VASP (like atomate's ``use_fake_vasp``).

    ``reference_dirs`` maps a Firework name to a directory with ``inputs/`` and ``outputs/``. Every VASP
    Firework must be matched (a forgotten one would try to run real VASP): unmatched names raise ValueError.
    """
    matched = set()
    for fw in workflow.fws:
        if not any(isinstance(task, _VASP_TASKS) for task in fw.tasks):
            continue
        if fw.name not in reference_dirs:
            raise ValueError(f"use_fake_vasp: no reference directory for Firework {fw.name!r}")
        reference = Path(reference_dirs[fw.name])
        if not (reference / "inputs").is_dir():
            raise ValueError(f"use_fake_vasp: {reference} has no inputs/ directory")
        fw.spec[FAKE_VASP_KEY] = str(reference.resolve())
        matched.add(fw.name)
    unused = sorted(set(reference_dirs) - matched)
    if unused:
        raise ValueError(f"use_fake_vasp: no VASP Firework named {unused}")
    return workflow
