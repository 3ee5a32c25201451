"""The reference-AIMD stage on an embedded engine or CP2K (VASP segments run through engines.vasp.runs on clusters)."""

from __future__ import annotations

import warnings
from pathlib import Path

from ase import Atoms
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.schemas.training_set import TrainingSetDocument, describe_training_set


def run_reference_aimd(structure: Structure | Atoms, settings: AIMDSettings, run_dir: str | Path,
                       engine: str = "embedded", device: str = "cpu", progress: bool = True,
                       cp2k: Cp2kSettings | None = None) -> TrainingSetDocument:
    """Run (or resume) the AIMD of ``structure`` into ``run_dir``; the training-set document of what it wrote.

    A run stopped as unphysical is not an exception here: the document says ``status: failed`` with the reason,
    and the caller decides (the Firetask fizzles after recording it, the CLI exits 1)."""
    from dopant_workflows.engines.embedded import run_embedded_aimd
    from dopant_workflows.engines.universal import parse_engine
    from dopant_workflows.md.driver import MDBlowUp

    atoms = structure if isinstance(structure, Atoms) else AseAtomsAdaptor.get_atoms(structure)
    if engine == "cp2k":
        from dopant_workflows.engines.cp2k.md import run_cp2k_aimd

        run_cp2k_aimd(atoms, settings, cp2k or Cp2kSettings(), run_dir)
        return describe_training_set(run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the universal models warn on every call
        try:
            run_embedded_aimd(atoms, settings, run_dir, engine=parse_engine(engine), device=device,
                              progress=progress)
        except MDBlowUp:
            pass  # run.json says why and the earlier frames are flagged: the document reports it
    return describe_training_set(run_dir)
