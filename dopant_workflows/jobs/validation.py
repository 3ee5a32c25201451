"""The validation stage: a network against its reference engine on the same cell (the paper's section 3.2).

Inputs are the records of the validation MD runs (reference engine and network, same protocol, same cell, a few
seeds per temperature), completed or failed. Output: one :class:`ValidationDocument`, ``validation.json`` and
``validation.png`` (the paper's Fig. 5a) in ``out_dir``. The network's errors are measured where it is used: on
production frames of its own ANN-MD, relabelled by the reference engine.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dopant_workflows.active_learning.deviation import evenly_spaced
from dopant_workflows.analysis.transport import EXTRAPOLATION_TEMPERATURE_K, extrapolated_transport
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.names import VALIDATION_FILE, VALIDATION_PLOT
from dopant_workflows.schemas.validation import (
    ArrheniusRecord,
    CheckRecord,
    DiffusivityPoint,
    RunRecord,
    TemperatureRecord,
    ValidationDocument,
)
from dopant_workflows.validation.compare import Check, compare_diffusivities
from dopant_workflows.validation.settings import ValidationSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelabelErrors:
    """The network against the reference engine on frames of the network's own MD."""

    force_rmse_eV_A: float
    energy_rmse_eV_atom: float
    n_frames: int


def relabel_errors(trajectories: Sequence[str | Path], network, reference, n_frames: int) -> RelabelErrors:
    """Force and energy RMSE of ``network`` against ``reference`` (ASE calculators) on ``n_frames`` production
    frames of each trajectory. The network is evaluated as MD used it (with its core repulsion)."""
    from ase.io import iread

    def pairs():
        for path in trajectories:
            frames = list(iread(str(path), index=":"))
            for index in evenly_spaced(len(frames), n_frames):
                atoms = frames[index].copy()
                atoms.calc = None
                results = []
                for calculator in (network, reference):
                    atoms.calc = calculator
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)  # the universal models warn on every call
                        results.append((atoms.get_potential_energy(), atoms.get_forces().copy()))
                yield (*results[0], *results[1], len(atoms))

    return errors_of(pairs())


def errors_of(pairs) -> RelabelErrors:
    """Force and per-atom energy RMSE over (E_net, F_net, E_ref, F_ref, n_atoms) of each frame; NaN for none."""
    sq_force, n_force, sq_energy, n_images = 0.0, 0, 0.0, 0
    for e_net, f_net, e_ref, f_ref, n_atoms in pairs:
        sq_force += float(((f_net - f_ref) ** 2).sum())
        n_force += f_net.size
        sq_energy += ((e_net - e_ref) / n_atoms) ** 2
        n_images += 1
    if n_images == 0:
        return RelabelErrors(float("nan"), float("nan"), 0)
    return RelabelErrors(math.sqrt(sq_force / n_force), math.sqrt(sq_energy / n_images), n_images)


def combined_errors(parts: Sequence[RelabelErrors]) -> RelabelErrors:
    """Several sets of relabelled frames as one (networks at one temperature, or temperatures): RMSEs pooled over
    all their frames."""
    n = sum(p.n_frames for p in parts)
    if n == 0:
        return RelabelErrors(float("nan"), float("nan"), 0)
    return RelabelErrors(math.sqrt(sum(p.force_rmse_eV_A**2 * p.n_frames for p in parts if p.n_frames) / n),
                         math.sqrt(sum(p.energy_rmse_eV_atom**2 * p.n_frames for p in parts if p.n_frames) / n), n)


def _arrhenius_record(fit, documents: Sequence[Mapping]) -> ArrheniusRecord | None:
    if fit is None:
        return None
    _, _, sigma, sigma_95 = extrapolated_transport(fit, EXTRAPOLATION_TEMPERATURE_K, documents[0]["n_carriers"],
                                                   documents[0]["volume_A3"])
    std = fit.activation_energy_std_eV
    return ArrheniusRecord(activation_energy_eV=fit.activation_energy_eV,
                           activation_energy_std_eV=std if math.isfinite(std) else None,
                           prefactor_cm2_s=fit.prefactor_cm2_s, conductivity_300K_mS_cm=sigma,
                           conductivity_300K_95_mS_cm=list(sigma_95) if sigma_95 else None, linear=fit.linear)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_record(check: Check) -> CheckRecord:
    return CheckRecord(name=check.name, value=_finite(check.value), threshold=check.threshold, passed=check.passed,
                       detail=check.detail)


def _run_record(run: Mapping) -> RunRecord:
    document = run.get("document") or {}
    return RunRecord(role=run["role"], temperature_K=float(run["temperature_K"]), seed=int(run["seed"]),
                     status=run["status"], run_dir=str(run["run_dir"]),
                     diffusivity_cm2_s=document.get("diffusivity_cm2_s"),
                     diffusivity_std_cm2_s=document.get("diffusivity_std_cm2_s"),
                     core_repulsion_max_eV=document.get("core_repulsion_max_eV"),
                     failure_reason=run.get("failure_reason"))


def check_validation_inputs(structure, model: str | Path, reference_engine: str) -> None:
    """Refuse, before the first (long) reference run, a network that cannot be read or does not know the cell's
    elements, and an engine name that is none of the known engines."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.ann.model_io import load_potential
    from dopant_workflows.engines.universal import parse_engine

    parse_engine(reference_engine)
    load_potential(model).descriptor.species_indices(AseAtomsAdaptor.get_atoms(structure))


def validation_run(structure, model: str | Path, role: str, protocol, temperature_K: float, run_dir: str | Path,
                   seed: int, analysis=None, device: str = "cpu") -> dict:
    """One validation MD run (``role`` 'ann': ``model`` is the network; 'reference': the engine's name) as the
    record :func:`validate_network` reads. A run that blows up is a result, not an error: its record says why."""
    from dopant_workflows.analysis.settings import AnalysisSettings
    from dopant_workflows.jobs.md import run_md_stage
    from dopant_workflows.md.protocol import MDBlowUp

    record = {"role": role, "temperature_K": float(temperature_K), "seed": int(seed), "run_dir": str(run_dir)}
    try:
        run = run_md_stage(structure, model, protocol, float(temperature_K), run_dir, seed=int(seed), device=device,
                           analysis=analysis or AnalysisSettings())
        record.update(status="completed", document=run.model_dump(mode="json"))
    except MDBlowUp as exc:
        log.warning("validation %s MD at %g K blew up: %s", role, temperature_K, exc)
        record.update(status="failed", failure_reason=str(exc))
    return record


def validation_id(study: str | None, label: str | None, model_sha256: str) -> str:
    return "-".join(p for p in (study, label, model_sha256[:12]) if p)


def validate_network(model_path: str | Path, runs: Sequence[Mapping], settings: ValidationSettings, *,
                     reference_engine: str, out_dir: str | Path, study: str | None = None, label: str | None = None,
                     training_range_K: Sequence[float] | None = None, device: str = "cpu",
                     fw_id: int | None = None, relabelled: Mapping[float, RelabelErrors] | None = None,
                     ensemble: Sequence[str | Path] | None = None) -> ValidationDocument:
    """Compare the network with its reference from the validation runs and write the record and the figure.

    ``ensemble``: the model files of every network validated together (``training.networks``; ``model_path``
    first): the ANN runs may come from any of them, and each run's frames are relabelled against its own network.

    ``runs``: one mapping per MD run, ``role`` ('reference' | 'ann'), ``temperature_K``, ``seed``, ``status``
    ('completed' | 'failed'), ``run_dir``, and ``document`` (the run's MDRunDocument as a dict) or
    ``failure_reason``. ``relabelled``: the network's errors per temperature against labels the reference
    computed elsewhere (VASP single points); without it the reference engine relabels here."""
    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.validation.plots import plot_validation

    out = Path(out_dir)
    thresholds = settings.thresholds
    records = sorted((_run_record(r) for r in runs), key=lambda r: (r.role, r.temperature_K, r.seed))
    network, provenance = potential_calculator(model_path, device)
    sha = provenance["model_sha256"]
    networks = {sha: network}
    for path in ensemble or ():
        calculator, member = potential_calculator(path, device)
        networks.setdefault(member["model_sha256"], calculator)
    completed = [r for r in runs if r["status"] == "completed"]
    reasons = [f"{r.role} MD at {r.temperature_K:g} K (seed {r.seed}) failed: {r.failure_reason}"
               for r in records if r.status == "failed"]
    ref_docs = [r["document"] for r in completed if r["role"] == "reference"]
    ann_docs = [r["document"] for r in completed if r["role"] == "ann"]
    comparison = compare_diffusivities(ref_docs, ann_docs, thresholds)
    reasons += list(comparison.problems)

    foreign = sorted({d["model_sha256"][:12] for d in ann_docs if d.get("model_sha256") not in (None, *networks)})
    if foreign:
        raise ValueError(f"validation ANN runs by network(s) {', '.join(foreign)}, which are not among the networks "
                         f"validated ({', '.join(s[:12] for s in networks)})")
    if relabelled is not None:
        errors = dict(relabelled)
    else:
        log.info("relabelling %d frames of each ANN-MD run with %s", settings.relabel_frames, reference_engine)
        reference, _ = potential_calculator(reference_engine, device)
        errors = {}
        for t in sorted({float(d["temperature_K"]) for d in ann_docs}):
            parts = []
            for member, calculator in networks.items():
                trajectories = [d["trajectory_path"] for d in ann_docs if float(d["temperature_K"]) == t and (
                    (d.get("model_sha256") or sha) == member)]
                if trajectories:
                    parts.append(relabel_errors(trajectories, calculator, reference, settings.relabel_frames))
            errors[t] = combined_errors(parts)
    pooled = combined_errors(list(errors.values()))
    force_all = pooled.force_rmse_eV_A if pooled.n_frames else None
    energy_all = pooled.energy_rmse_eV_atom if pooled.n_frames else None

    core = {t: max((d.get("core_repulsion_max_eV") or 0.0 for d in ann_docs if float(d["temperature_K"]) == t),
                   default=None) for t in errors}
    temperatures = []
    for c in comparison.temperatures:
        e = errors.get(c.temperature_K)
        temperatures.append(TemperatureRecord(
            temperature_K=c.temperature_K,
            reference=DiffusivityPoint(diffusivity_cm2_s=c.reference.diffusivity_cm2_s,
                                       std_cm2_s=_finite(c.reference.std_cm2_s),
                                       per_run_cm2_s=list(c.reference.per_run_cm2_s)),
            ann=DiffusivityPoint(diffusivity_cm2_s=c.ann.diffusivity_cm2_s, std_cm2_s=_finite(c.ann.std_cm2_s),
                                 per_run_cm2_s=list(c.ann.per_run_cm2_s)),
            ratio=c.ratio, z_score=c.z_score, passed=c.passed,
            force_rmse_eV_A=e.force_rmse_eV_A if e else None, energy_rmse_eV_atom=e.energy_rmse_eV_atom if e else None,
            n_frames_relabelled=e.n_frames if e else 0, core_repulsion_max_eV=core.get(c.temperature_K)))

    worst_force = max((e.force_rmse_eV_A for e in errors.values() if e.n_frames), default=None)
    worst_t = max(errors, key=lambda t: errors[t].force_rmse_eV_A) if worst_force is not None else None
    force_check = Check("force_rmse_ann_md", worst_force, thresholds.force_rmse_eV_A,
                        worst_force is not None and worst_force <= thresholds.force_rmse_eV_A,
                        f"largest over temperatures (at {worst_t:g} K)" if worst_t is not None else "no ANN-MD frames")
    worst_core = max((v for v in core.values() if v is not None), default=None)
    core_check = Check("core_repulsion", worst_core, thresholds.core_repulsion_eV,
                       worst_core is not None and worst_core <= thresholds.core_repulsion_eV,
                       "largest wall energy in any production sample of the validation ANN-MD")
    checks = [*comparison.checks, force_check, core_check]
    reasons += [f"{c.name}: {c.detail} ({'none' if c.value is None else f'{c.value:.3g}'} vs {c.threshold:g})"
                for c in checks if not c.passed]

    warnings_ = []
    if training_range_K is not None:
        low, high = min(training_range_K), max(training_range_K)
        outside = [t for t in sorted({float(r.temperature_K) for r in records}) if not low <= t <= high]
        if outside:
            warnings_.append(f"validation temperatures {outside} K lie outside the reference AIMD's range "
                             f"{low:g}-{high:g} K: the network is extrapolating there")
    for c in comparison.temperatures:
        relative = (c.reference.std_cm2_s / c.reference.diffusivity_cm2_s if c.reference.diffusivity_cm2_s > 0
                    else math.inf)
        if not relative <= 0.5:
            warnings_.append(f"{c.temperature_K:g} K: the reference D is uncertain by more than 50 % "
                             "(more seeds or longer production make the comparison sharper)")

    passed = not reasons
    cell = (ann_docs or ref_docs or [{}])[0]
    ref_label = f"reference MD ({reference_engine})"
    plot_path = None
    if comparison.temperatures:
        points = {
            ref_label: tuple(np.array(v) for v in zip(*[(c.temperature_K, c.reference.diffusivity_cm2_s,
                                                          c.reference.std_cm2_s) for c in comparison.temperatures],
                                                       strict=True)),
            "ANN-MD": tuple(np.array(v) for v in zip(*[(c.temperature_K, c.ann.diffusivity_cm2_s, c.ann.std_cm2_s)
                                                        for c in comparison.temperatures], strict=True)),
        }
        title = (f"{cell.get('formula', '')}: {'passed' if passed else 'FAILED'} validation "
                 f"({study or ''} {label or ''})")
        plot_path = str(plot_validation(points, {ref_label: comparison.reference_fit, "ANN-MD": comparison.ann_fit},
                                        out / VALIDATION_PLOT, title).resolve())
    document = ValidationDocument(
        validation_id=validation_id(study, label, sha), study=study, label=label, model_sha256=sha,
        model_path=str(Path(model_path).resolve()), ensemble_sha256=list(networks), reference_engine=reference_engine,
        formula=cell.get("formula"),
        n_atoms=sum(cell["composition"].values()) if cell.get("composition") else None,
        status="passed" if passed else "failed", passed=passed, reasons=reasons, temperatures=temperatures,
        reference_fit=_arrhenius_record(comparison.reference_fit, ref_docs),
        ann_fit=_arrhenius_record(comparison.ann_fit, ann_docs), force_rmse_eV_A=force_all,
        energy_rmse_eV_atom=energy_all, checks=[_check_record(c) for c in checks],
        thresholds=thresholds.model_dump(), settings=settings.as_record(),
        training_temperature_range_K=list(training_range_K) if training_range_K is not None else None,
        runs=records, plot_path=plot_path, warnings=warnings_, fw_id=fw_id)
    write_text_atomically(out / VALIDATION_FILE, json.dumps(document.model_dump(mode="json"), indent=1))
    log.info("validation %s: %s", document.validation_id, document.status.upper() +
             ("" if passed else " (" + "; ".join(reasons) + ")"))
    return document
