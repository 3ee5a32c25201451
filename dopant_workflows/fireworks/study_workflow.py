"""``get_wf_dopant_study(study)``: the study as one FireWorks workflow (see DESIGN.md for the graph).

    reference AIMD (training cell) -> train network -> ANN-MD (one per substitution x temperature)
    dielectric record / DFPT (one per substitution)

``training: shared`` (the paper): one AIMD + one network for all substitutions; ``per_substitution``: an AIMD +
network for each substitution's own cell. Every Firework carries FireWorks' exact dupefinder: submitting the
same study twice links to the existing Fireworks instead of redoing any of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from fireworks import Firework, Workflow
from fireworks.user_objects.dupefinders.dupefinder_exact import DupeFinderExact
from pymatgen.core import Structure

from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.fireworks.study_tasks import RecordDielectric, RunANNMD, RunEmbeddedAIMD, TrainNetwork
from dopant_workflows.fireworks.vasp_tasks import RunVaspDielectric
from dopant_workflows.fireworks.vasp_workflows import aimd_segment_fireworks
from dopant_workflows.md.protocol import protocol_from_preset
from dopant_workflows.study import Study
from dopant_workflows.structures.hosts import load_host
from dopant_workflows.structures.substitutions import Substitution, enumerate_substitutions


def study_substitutions(study: Study) -> list[Substitution]:
    s = study.substitutions
    return enumerate_substitutions(load_host(study.host), s.dopant, s.compensate, s.supercell, s.counts,
                                   s.max_per_count, s.oxidation_states)


def _aimd_settings(study: Study) -> AIMDSettings:
    t = study.training
    return AIMDSettings(n_steps=t.aimd_steps, time_step_fs=t.aimd_time_step_fs,
                        temperature_start_K=t.aimd_temperatures_K[0], temperature_end_K=t.aimd_temperatures_K[1],
                        segment_steps=min(500, t.aimd_steps), sample_every=t.aimd_sample_every, seed=study.seed)


def _training_settings(study: Study) -> dict:
    a = study.ann
    return {"cutoff_A": a.cutoff_A, "hidden_layers": list(a.hidden_layers), "activation": a.activation,
            "energy_coefficient": a.energy_coefficient, "force_coefficient": a.force_coefficient,
            "optimizer": a.optimizer, "max_steps": a.max_steps, "learning_rate": a.learning_rate,
            "final_learning_rate": a.final_learning_rate, "batch_size": a.batch_size,
            "core_repulsion": a.core_repulsion, "test_fraction": a.test_fraction,
            "validation_fraction": a.validation_fraction, "seed": a.seed}


def _tag(*parts) -> str:
    """Short hash of what a run depends on: a changed setting gets a new run directory, never a stale one."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _reference_and_training(study: Study, cell: Structure, label: str) -> tuple[list[Firework], Firework]:
    name = study.name
    aimd_settings = asdict(_aimd_settings(study))
    if study.engine == "vasp":
        aimd = aimd_segment_fireworks(cell, _aimd_settings(study), f"{name} {label}")
    else:
        tag = _tag(cell.as_dict(), aimd_settings, study.engine)
        task = RunEmbeddedAIMD(structure=cell.as_dict(), settings=aimd_settings, engine=study.engine,
                               run_path=f"{name}/aimd/{label}-{tag}")
        aimd = [Firework([task], name=f"{name} {label} aimd", spec={"_dupefinder": DupeFinderExact()})]
    train_tag = _tag(cell.as_dict(), aimd_settings, study.engine, _training_settings(study))
    train = Firework([TrainNetwork(settings=_training_settings(study), run_path=f"{name}/train/{label}-{train_tag}",
                                   study=name, label=label)],
                     name=f"{name} {label} train", parents=aimd[-1:], spec={"_dupefinder": DupeFinderExact()})
    return aimd, train


def _dielectric(study: Study, sub: Substitution) -> Firework:
    name = f"{study.name} {sub.id} dielectric"
    if study.engine == "vasp":
        return Firework([RunVaspDielectric(structure=sub.structure.as_dict(), label=sub.id, study=study.name)], name=name,
                        spec={"_category": "vasp", "_dupefinder": DupeFinderExact()})
    entry = next((e for e in study.dielectric if e.formula == sub.formula), None)
    eps, source = (entry.eps_r, entry.source) if entry else (
        None, f"missing: no eps_r for {sub.formula} in the study file, and the {study.engine} engine cannot "
              "compute one (no DFPT without VASP)")
    return Firework([RecordDielectric(study=study.name, substitution_id=sub.id, formula=sub.formula, eps_r=eps,
                                      source=source)], name=name, spec={"_dupefinder": DupeFinderExact()})


def get_wf_dopant_study(study: Study, substitutions: list[Substitution] | None = None) -> Workflow:
    """The whole study as one workflow."""
    substitutions = substitutions if substitutions is not None else study_substitutions(study)
    protocol = asdict(protocol_from_preset(study.protocol.preset, **study.protocol.model_dump(exclude={"preset"})))
    fireworks: list[Firework] = []
    shared_train = None
    if study.training.mode == "shared":
        cell = load_host(study.training.cell or study.host)
        aimd, shared_train = _reference_and_training(study, cell, "shared")
        fireworks += [*aimd, shared_train]
    for n, sub in enumerate(substitutions):
        train = shared_train
        if train is None:
            aimd, train = _reference_and_training(study, sub.structure, sub.id)
            fireworks += [*aimd, train]
        meta = {"id": sub.id, "formula": sub.formula, "dopant": sub.dopant, "dopant_count": sub.dopant_count,
                "dopant_fraction": sub.dopant_fraction}
        for k, temperature in enumerate(study.temperatures_K):
            task = RunANNMD(structure=sub.structure.as_dict(), temperature_K=temperature, protocol=protocol,
                            seed=study.seed + 1000 * n + k,
                            run_path=f"{study.name}/md/{sub.id}/{temperature:g}K-{_tag(protocol, study.seed, train.name, train.tasks[0].as_dict())}",
                            study=study.name, substitution=meta)
            fireworks.append(Firework([task], name=f"{study.name} {sub.id} md {temperature:g}K", parents=[train],
                                      spec={"_dupefinder": DupeFinderExact()}))
        fireworks.append(_dielectric(study, sub))
    return Workflow(fireworks, name=f"dopant study {study.name}", metadata={"study": study.name,
                                                                            "n_substitutions": len(substitutions)})
