"""The dielectric stage: eps_r of a substitution from VASP DFPT, or from the study file with its source, or a
record of why it is missing (it is never invented)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from dopant_workflows.schemas.tasks import DielectricDocument

DFPT_SOURCE = "VASP DFPT (LEPSILON, IBRION 8), this workflow"


def missing_dielectric_reason(formula: str, engine: str) -> str:
    return (f"missing: no eps_r for {formula} in the study file, and the {engine} engine cannot compute one "
            "(no DFPT without VASP)")


def record_dielectric(study: str, substitution_id: str, formula: str, eps_r: float | None, source: str,
                      fw_id: int | None = None) -> DielectricDocument:
    """eps_r as given (with its source), or None with the reason in ``source``."""
    return DielectricDocument(substitution_id=substitution_id, study=study, formula=formula, composition_id=formula,
                              eps_r=eps_r, source=source, fw_id=fw_id)


def run_vasp_dielectric(run_dir: str | Path, structure: Structure, label: str, study: str | None = None,
                        user_incar: Mapping[str, Any] | None = None, fw_id: int | None = None,
                        **engine_args) -> tuple[DielectricDocument, list[dict]]:
    """DFPT of ``structure`` under custodian; eps_r = trace/3 of the electronic + ionic tensors. Returns the
    document (keyed by ``label``, the substitution id) and custodian's corrections."""
    from dopant_workflows.engines.vasp.runs import run_dielectric

    result, corrections = run_dielectric(run_dir, structure, user_incar=user_incar, **engine_args)
    document = DielectricDocument(
        substitution_id=label, study=study or "", formula=structure.composition.formula.replace(" ", ""),
        composition_id=structure.composition.formula.replace(" ", ""), eps_r=result.eps_r, source=DFPT_SOURCE,
        epsilon_electronic=result.epsilon_electronic.tolist(),
        epsilon_ionic=result.epsilon_ionic.tolist(), fw_id=fw_id)
    return document, corrections
