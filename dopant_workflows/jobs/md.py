"""The MD stage: the paper's protocol at one temperature on a trained network (or an embedded engine), then the
diffusion analysis of its trajectory. Same files whoever calls it (``dopwf md`` or a study's Firetask): the run
files, md_traces.png, and analysis/ with analysis.json, msd.png and rdf.png."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from ase import Atoms
from pymatgen.core import Composition, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.analysis.settings import AnalysisSettings
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import file_sha256, write_text_atomically
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.names import ANALYSIS_DIR, ANALYSIS_FILE, MD_LOG_FILE, MD_TRACES_PLOT
from dopant_workflows.schemas.tasks import MDRunDocument


def potential_calculator(model: str | Path, device: str = "cpu"):
    """(ASE calculator, provenance) for a trained network (model.json, its directory, an AMP .amp file) or an
    embedded engine name (``embedded:chgnet``)."""
    if str(model).startswith("embedded"):
        from dopant_workflows.engines.universal import make_calculator, parse_engine

        calculator, info = make_calculator(parse_engine(str(model)), device)
        return calculator, {"engine": str(model), "model": info.model, "package_version": info.package_version}
    from dopant_workflows.ann.calculator import BPNNCalculator
    from dopant_workflows.ann.model_io import load_potential, model_sha256

    potential = load_potential(model)
    return BPNNCalculator(potential, device=device), {"engine": "ann", "model_path": str(Path(model).resolve()),
                                                      "model_sha256": model_sha256(potential)}


def analyze_md_trajectory(trajectory: str | Path, temperature_K: float, settings: AnalysisSettings = AnalysisSettings(),
                          out_dir: str | Path | None = None, time_step_fs: float | None = None, seed: int = 0) -> dict:
    """D (with uncertainty), conductivity, D along a/b/c and the RDF first peak of one trajectory; with ``out_dir``
    also analysis.json, msd.png and rdf.png there."""
    from dopant_workflows.analysis.trajectory import analyze_trajectory

    summary = analyze_trajectory(trajectory, settings.species, temperature_K, time_step_fs, seed=seed,
                                 plots_dir=out_dir, fit_start_fraction=settings.fit_start_fraction,
                                 fit_start_msd_A2=settings.fit_start_msd_A2)
    if out_dir is not None:
        write_text_atomically(Path(out_dir) / ANALYSIS_FILE, json.dumps(summary, indent=1))
    return summary


def run_md_stage(structure: Structure | Atoms, model: str | Path, protocol: MDProtocol, temperature_K: float,
                 run_dir: str | Path, seed: int = 0, device: str = "cpu",
                 analysis: AnalysisSettings = AnalysisSettings(), progress: bool = True) -> MDRunDocument:
    """Run (or resume) the protocol at ``temperature_K`` in ``run_dir`` and analyse it.

    A run that turns unphysical raises :class:`dopant_workflows.md.protocol.MDBlowUp` (md_run.json says why)."""
    from dopant_workflows.analysis.plots import plot_md_log
    from dopant_workflows.md.protocol import run_md

    run_dir = Path(run_dir)
    atoms = structure if isinstance(structure, Atoms) else AseAtomsAdaptor.get_atoms(structure)
    problem = protocol.diffusion_problem()
    if problem:
        raise DopwfInputError(f"MD protocol: {problem}")
    if analysis.species not in set(atoms.get_chemical_symbols()):
        raise DopwfInputError(f"species {analysis.species!r}: no such atoms in {atoms.get_chemical_formula()} "
                              f"(elements: {', '.join(sorted(set(atoms.get_chemical_symbols())))})")
    calculator, provenance = potential_calculator(model, device)
    potential = getattr(calculator, "potential", None)
    if potential is not None:  # before any file: an element the network never saw is refused at the door
        potential.descriptor.species_indices(atoms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the universal models warn on every call
        md = run_md(atoms, calculator, protocol, temperature_K, run_dir, seed=seed, provenance=provenance,
                    progress=progress)
    plot_md_log(run_dir / MD_LOG_FILE, run_dir / MD_TRACES_PLOT)
    summary = analyze_md_trajectory(md.trajectory_path, temperature_K, analysis, run_dir / ANALYSIS_DIR, seed=seed)
    return MDRunDocument(
        formula=Composition(atoms.get_chemical_formula()).formula.replace(" ", ""), temperature_K=temperature_K,
        protocol=protocol.model_dump(), seed=seed, engine=provenance["engine"],
        model_sha256=provenance.get("model_sha256"), run_dir=str(run_dir.resolve()), n_frames=md.n_frames,
        mean_production_temperature_K=md.mean_production_temperature_K, thermostat_ok=md.thermostat_ok,
        steps_per_s=md.steps_per_s, core_repulsion_contact_fraction=md.core_repulsion_contact_fraction,
        core_repulsion_max_eV=md.core_repulsion_max_eV, species=analysis.species,
        diffusivity_cm2_s=summary["diffusivity_cm2_s"], diffusivity_std_cm2_s=summary["diffusivity_std_cm2_s"],
        diffusivity_components_cm2_s=summary["diffusivity_components_cm2_s"],
        conductivity_mS_cm=summary["conductivity_mS_cm"], conductivity_std_mS_cm=summary["conductivity_std_mS_cm"],
        rdf_first_peak_A=summary["rdf_first_peak_A"], n_carriers=summary["n_carriers"],
        fit_window_fs=[summary["fit_start_fs"], summary["fit_end_fs"]], n_eff=summary["n_eff"],
        volume_A3=summary["volume_A3"], composition=summary["composition"],
        trajectory_path=str(md.trajectory_path), trajectory_sha256=file_sha256(md.trajectory_path),
        warnings=list(md.warnings) + summary["warnings"])
