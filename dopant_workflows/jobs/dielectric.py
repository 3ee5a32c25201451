"""The dielectric stage: eps_r of a substitution from VASP DFPT or CP2K (linear response + finite displacements),
or from the study file with its source, or a record of why it is missing (it is never invented)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.dielectric import DielectricCalculation
from dopant_workflows.schemas.tasks import DielectricDocument

DFPT_SOURCE = "VASP DFPT (LEPSILON, IBRION 8), this workflow"


def missing_dielectric_reason(formula: str, engine: str) -> str:
    return (f"missing: no eps_r for {formula} in the study file, and the {engine} engine cannot compute one "
            "(dielectric_calculation: {engine: cp2k} computes it with CP2K)")


def record_dielectric(study: str, substitution_id: str, formula: str, eps_r: float | None, source: str,
                      fw_id: int | None = None) -> DielectricDocument:
    """eps_r as given (with its source), or None with the reason in ``source``."""
    return DielectricDocument(substitution_id=substitution_id, study=study, formula=formula, composition_id=formula,
                              eps_r=eps_r, source=source, fw_id=fw_id)


def run_cp2k_dielectric(run_dir: str | Path, structure: Structure, label: str, calculation: DielectricCalculation,
                        cp2k: Cp2kSettings, study: str | None = None, fw_id: int | None = None
                        ) -> DielectricDocument:
    """eps_r of ``structure`` with CP2K (:func:`engines.cp2k.dielectric.compute_dielectric`), as the document the
    Anderson-Stuart builder reads (keyed by ``label``, the substitution id): eps_r None, with the reason, when only
    the electronic part was asked for."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.cp2k.dielectric import compute_dielectric

    result = compute_dielectric(run_dir, AseAtomsAdaptor.get_atoms(structure), cp2k, ionic=calculation.ionic,
                                relax=calculation.relax, step_A=calculation.displacement_A)
    formula = structure.composition.formula.replace(" ", "")
    return DielectricDocument(
        substitution_id=label, study=study or "", formula=formula, composition_id=formula, eps_r=result.eps_r,
        source=result.missing() or result.source(), engine="cp2k", holds=result.holds,
        epsilon_electronic=result.electronic.epsilon_electronic.tolist(),
        epsilon_ionic=None if result.ionic is None else result.ionic.epsilon_ionic.tolist(),
        eps_electronic=result.electronic.eps_electronic, eps_ionic=None if result.ionic is None else
        result.ionic.eps_ionic, run_dir=str(Path(run_dir).resolve()), fw_id=fw_id)


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
        epsilon_ionic=result.epsilon_ionic.tolist(), engine="vasp", holds="electronic + ionic", fw_id=fw_id)
    return document, corrections
