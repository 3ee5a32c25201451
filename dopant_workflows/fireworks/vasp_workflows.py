"""Fireworks and workflows of the VASP engine: a chain of AIMD segments, a dielectric run. Every Firework carries
the study's dupefinder: the same segment of the same run, submitted twice, runs once."""

from __future__ import annotations

from fireworks import Firework, Workflow
from pymatgen.core import Structure

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.fireworks.task_helpers import VASP_SPEC, study_spec
from dopant_workflows.fireworks.vasp_tasks import RunVaspAIMDSegment, RunVaspDielectric


def aimd_segment_fireworks(structure: Structure, settings: AIMDSettings, name: str) -> list[Firework]:
    """One Firework per segment (``settings.segment_steps`` steps, ``settings.walltime_s`` each), each the parent
    of the next (walltime-limited continuation)."""
    fireworks: list[Firework] = []
    for segment in settings.segments():
        task = RunVaspAIMDSegment(structure=structure.as_dict(), settings=settings.model_dump(),
                                  segment_index=segment.index)
        fireworks.append(Firework([task], name=f"{name} aimd segment {segment.index}",
                                  parents=fireworks[-1:] or None,
                                  spec=study_spec({**VASP_SPEC, "segment_index": segment.index})))
    return fireworks


def dielectric_firework(structure: Structure, label: str, name: str, study: str | None = None) -> Firework:
    """DFPT of ``structure``; with ``study`` its eps_r is also recorded as a ``dielectric`` document."""
    task = RunVaspDielectric(structure=structure.as_dict(), label=label, **({"study": study} if study else {}))
    return Firework([task], name=f"{name} dielectric", spec=study_spec(VASP_SPEC))


def get_wf_vasp_reference(structure: Structure, settings: AIMDSettings, name: str,
                          dielectric_structures: dict[str, Structure] | None = None,
                          study: str | None = None) -> Workflow:
    """Reference data by VASP: the segmented AIMD of ``structure`` and DFPT of each dielectric structure."""
    fireworks = aimd_segment_fireworks(structure, settings, name)
    for label, dfpt_structure in (dielectric_structures or {}).items():
        fireworks.append(dielectric_firework(dfpt_structure, label, f"{name} {label}", study))
    return Workflow(fireworks, name=f"{name} reference (vasp)")
