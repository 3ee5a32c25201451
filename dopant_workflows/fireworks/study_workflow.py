"""``get_wf_dopant_study(study)``: the study as one FireWorks workflow (see DESIGN.md for the graph).

    reference AIMD (training cell) -> train network -> ANN-MD (one per substitution x temperature)
                                                       -> precision check per composition (study.precision:
                                                          more MD + the next check as detours until sigma(Ea)
                                                          meets the target or the budget is spent)
                                                    -> validation: ANN-MD + reference MD of the training cell
                                                       (temperatures x seeds) -> compare (one per network;
                                                       VASP: its single points of ANN-MD frames come as a
                                                       detour, then the comparison)
    dielectric record / DFPT (one per composition)

With ``study.labels`` (CP2K), a labelling Firework sits between the reference runs and training: the network trains
on CP2K labels of an even selection of their frames, and active learning labels with CP2K too.

``training: shared`` (the paper): one AIMD + one network for all substitutions; ``per_group``: one per substitution
group; ``per_substitution``: an AIMD + network for each substitution's own cell. Each composition's arrangements
(replicas) get their own MD at every temperature; its dielectric record or DFPT run is its first arrangement's.
The Fireworks on the way to a network (reference runs, labelling, training or active learning) carry FireWorks'
``_priority`` (:data:`NETWORK_PATH_PRIORITY`): every later stage waits for the network, so a free worker takes them
before anything else that is ready (validation's reference MD, which then runs beside training instead of ahead of
it). Firetask parameters are the study's stage settings, serialised. Every Firework carries the study's
dupefinder (same Firetasks, same work): submitting the same study twice links to the existing Fireworks instead of
redoing any of them. Run directories are named by a hash of everything the run depends on (seed included), so a
changed setting never resumes a stale checkpoint.
"""

from __future__ import annotations

from fireworks import Firework, Workflow
from pymatgen.core import Structure

from dopant_workflows.fireworks.precision import md_firework, precision_firework
from dopant_workflows.fireworks.study_tasks import (
    ActiveLearningRound,
    LabelReferenceFrames,
    RecordDielectric,
    RunCp2kDielectric,
    RunCp2kValidationMD,
    RunEmbeddedAIMD,
    TrainNetwork,
    TrainNetworkReplica,
    ValidateNetwork,
    validation_md_firework,
)
from dopant_workflows.fireworks.task_helpers import study_spec
from dopant_workflows.fireworks.vasp_tasks import AnalyzeVaspValidationMD
from dopant_workflows.fireworks.vasp_workflows import aimd_segment_fireworks, dielectric_firework
from dopant_workflows.jobs.dielectric import missing_dielectric_reason
from dopant_workflows.jobs.vasp_validation import reference_md_settings
from dopant_workflows.names import derive_seed, network_of_run, network_seed, run_tag
from dopant_workflows.structures.hosts import load_host
from dopant_workflows.structures.io import structure_fingerprint
from dopant_workflows.structures.substitutions import Substitution
from dopant_workflows.study import Study

#: FireWorks ``_priority`` (higher runs first) of the Fireworks a network waits for, and of the network's own
NETWORK_PATH_PRIORITY = 10


def network_path_first(networks: list[Firework]) -> None:
    """Give every network Firework and all its ancestors :data:`NETWORK_PATH_PRIORITY` (the study's critical path:
    nothing downstream of a network can start before it)."""
    stack, seen = list(networks), set()
    while stack:
        fw = stack.pop()
        if id(fw) not in seen:
            seen.add(id(fw))
            fw.spec["_priority"] = NETWORK_PATH_PRIORITY
            stack += fw.parents


def study_substitutions(study: Study) -> list[Substitution]:
    """The study's substitution cells: ``Study.enumerate_substitutions`` (kept under this name for scripts)."""
    return study.enumerate_substitutions()


def _reference_cp2k_record(study: Study) -> dict:
    """``{"cp2k": settings}`` for a study whose reference engine is CP2K (Firetask parameters, run tags), else {}."""
    cp2k = study.reference_cp2k()
    return {"cp2k": cp2k.as_record()} if cp2k is not None else {}


def _reference_run(study: Study, cell: Structure, settings, label: str) -> list[Firework]:
    """Reference MD of one cell on the study's engine (VASP: a chain of segment Fireworks); its frames are pushed
    to the training Firework."""
    if study.engine == "vasp":
        return aimd_segment_fireworks(cell, settings, f"{study.name} {label}")
    cp2k = _reference_cp2k_record(study)
    tag = run_tag(cell.as_dict(), settings.model_dump(), study.engine, *cp2k.values())
    task = RunEmbeddedAIMD(structure=cell.as_dict(), settings=settings.model_dump(), engine=study.engine,
                           run_path=f"{study.name}/aimd/{label}-{tag}", **cp2k)
    return [Firework([task], name=f"{study.name} {label} aimd", spec=study_spec())]


def _reference_and_training(study: Study, cell: Structure, label: str, simulated: list[Substitution] = ()
                            ) -> tuple[list[Firework], list[Firework], list[Firework]]:
    """Reference data (the training cell's AIMD, and reference MD of the ``simulated`` cells when the study asks
    for it), then the networks (training, or active-learning rounds, then ``training.networks`` - 1 more on the
    same frames), then their validation."""
    name = study.name
    aimd_settings = study.aimd_settings()
    aimd = _reference_run(study, cell, aimd_settings, label)
    parents = aimd[-1:]
    sampling = study.training.simulated_cells
    extra_records = []
    if sampling is not None:
        for sub in (s for s in simulated if s.rank < sampling.arrangements):
            for temperature in sampling.temperatures_K:
                settings = study.simulated_cell_settings(sub.id, temperature)
                chain = _reference_run(study, sub.structure, settings, f"{sub.id} {temperature:g}K")
                aimd += chain
                parents.append(chain[-1])
                extra_records.append(settings.model_dump())
    labels = study.labels.as_record() if study.labels else None
    if labels:  # the reference frames go to the labelling engine first; training gets its labels instead
        tag = run_tag(cell.as_dict(), aimd_settings.model_dump(), study.engine, labels, *extra_records)
        task = LabelReferenceFrames(settings=labels, run_path=f"{name}/labels/{label}-{tag}", study=name, label=label)
        relabel = Firework([task], name=f"{name} {label} {study.labels.engine} labels", parents=parents,
                           spec=study_spec())
        aimd.append(relabel)
        parents = [relabel]
    train_tag = run_tag(cell.as_dict(), aimd_settings.model_dump(), study.engine, study.ann.as_record(),
                        *extra_records, *([labels] if labels else []),
                        *_reference_cp2k_record(study).values())
    if study.active_learning.enabled:
        train = _active_learning(study, cell, label, parents, train_tag, simulated)
    else:
        train = Firework([TrainNetwork(settings=study.ann.as_record(), run_path=f"{name}/train/{label}-{train_tag}",
                                       study=name, label=label)],
                         name=f"{name} {label} train", parents=parents, spec=study_spec())
    networks = [train, *_replica_networks(study, label, train)]
    return aimd, networks, _validation(study, cell, label, networks)


def _replica_networks(study: Study, label: str, first: Firework) -> list[Firework]:
    """Networks 1 .. training.networks - 1, each with its own seed, starting once ``first`` (network 0) hands on
    the frames it was trained on: with active learning, a chain of rounds of its own from those frames (a network
    trained from scratch on another network's data has holes of its own: it is judged in its own ANN-MD and adds
    the frames it fails on, as network 0 was); without, one training on them. Named by what they compute."""
    fireworks = []
    for k in range(1, study.training.networks):
        seed = network_seed(study.seed, label, k)
        training = study.ann.model_copy(update={"seed": seed}).as_record()
        tag = run_tag(first.name, first.tasks[0].as_dict(), training, k)
        if study.active_learning.enabled:
            run_path = f"{study.name}/active_learning/{label}-network{k + 1}-{tag}/round1"
            task = ActiveLearningRound({**first.tasks[0], "round": 1, "training": training, "seed": seed,
                                        "network": k, "frames": [], "run_path": run_path})
            name = f"{study.name} {label}-network{k + 1} active learning round 1"
        else:
            task = TrainNetworkReplica(settings=training, run_path=f"{study.name}/train/{label}-network{k}-{tag}",
                                       study=study.name, label=label, index=k)
            name = f"{study.name} {label} network {k + 1}"
        fireworks.append(Firework([task], name=name, parents=[first], spec=study_spec()))
    return fireworks


def _active_learning(study: Study, cell: Structure, label: str, parents: list[Firework], train_tag: str,
                     simulated: list[Substitution]) -> Firework:
    """Round 1 of active learning in place of the training Firework: it trains the committee, explores the cells
    the workflow simulates (``simulated``: the shared network's substitutions; and the network's own cell, which
    validation simulates), and adds the next rounds as detours until the committee agrees; the last round hands
    its network to the MD Fireworks."""
    settings = study.active_learning
    if label != "shared" and not simulated:  # per_substitution: the network's own cell
        cells = [(label, cell)]
    else:  # a cell the study simulates that is the training cell itself (an undoped host, the paper's cell) is
        # explored once: compared by content (site order, periodic images and site properties aside), as == did not
        own = structure_fingerprint(cell)
        cells = [("training", cell), *((sub.id, sub.structure) for sub in simulated
                                       if structure_fingerprint(sub.structure) != own)]
    # the run directory is named by what the rounds compute; hand_on only picks among them at the end, so changing
    # it re-runs no training (members found in place are reused) and no finished exploration
    work = {k: v for k, v in settings.as_record().items() if k != "hand_on"}
    tag = run_tag(train_tag, work, study.active_learning_temperatures(), [c.as_dict() for _, c in cells])
    labelling = study.labelling()
    task = ActiveLearningRound(round=1, training=study.ann.as_record(), settings=settings.as_record(),
                               engine=study.engine, cells=[[n, c.as_dict()] for n, c in cells],
                               temperatures_K=study.active_learning_temperatures(),
                               run_path=f"{study.name}/active_learning/{label}-{tag}/round1", study=study.name,
                               label=label, seed=derive_seed(study.seed, "active learning", label), frames=[],
                               **({"labels": labelling.as_record()} if labelling else {}))
    return Firework([task], name=f"{study.name} {label} active learning round 1", parents=parents, spec=study_spec())


def _validation(study: Study, cell: Structure, label: str, networks: list[Firework]) -> list[Firework]:
    """Reference MD and ANN-MD of the network's own cell at the validation temperatures (``seeds`` each,
    ``ann_seeds`` ANN runs when set; the ANN runs spread over the ``networks`` as production is), then the
    comparison of them all. The reference runs need no network: they start as soon as a worker is free."""
    settings = study.validation
    if not settings.enabled:
        return []
    name, engine = study.name, study.engine
    common = {"settings": settings.as_record(), "study": name, "label": label, "reference_engine": engine,
              "training_range_K": list(study.training_temperature_range()),
              **_reference_cp2k_record(study)}
    train = networks[0]
    compare_tag = run_tag(settings.as_record(), train.name, train.tasks[0].as_dict(),
                          *([[n.name for n in networks]] if len(networks) > 1 else []))
    compare_path = f"{name}/validation/{label}-{compare_tag}"
    cell = cell.copy()
    cell.make_supercell(list(settings.supercell))
    protocol, analysis = study.validation_protocol().model_dump(), study.analysis.model_dump()
    fireworks, pushing = [], []  # every Firework of the runs; each run's last, which pushes its record
    for i, temperature in enumerate(study.validation_temperatures()):
        for role, k in settings.run_keys():
            seed = study.validation_seed(label, role, temperature, k)
            network = networks[network_of_run(k, i, len(networks))]
            depends = (network.name, network.tasks[0].as_dict()) if role == "ann" else (
                cell.as_dict(), engine, *_reference_cp2k_record(study).values())
            tag = run_tag(protocol, analysis, seed, role, *depends)
            run_name = f"{name} {label} validation {role} md {temperature:g}K #{k + 1}"
            run_path = f"{name}/validation/{label}/{role}-{temperature:g}K-{tag}"
            if role == "reference" and engine == "vasp":
                chain = _vasp_validation_run(study, cell, temperature, seed, run_name, run_path)
            elif role == "reference" and engine == "cp2k":
                task = RunCp2kValidationMD(structure=cell.as_dict(), temperature_K=temperature, protocol=protocol,
                                           seed=seed, analysis=analysis, cp2k=common["cp2k"], run_path=run_path,
                                           reference_aimd=study.reference_aimd.model_dump())
                chain = [Firework([task], name=run_name, spec=study_spec())]
            else:
                chain = [validation_md_firework(name, label, role, temperature, k, seed, cell.as_dict(), protocol,
                                                analysis, engine, depends, parents=[network] if role == "ann" else [])]
            fireworks += chain
            pushing.append(chain[-1])
    more_runs = {"more_runs": {"structure": cell.as_dict(), "protocol": protocol, "analysis": analysis,
                               "engine": engine, "study_seed": study.seed}} if study.validation_adds_runs else {}
    task = ValidateNetwork(**common, run_path=compare_path, expected_runs=len(pushing), **more_runs)
    compare = Firework([task], name=f"{name} {label} validation", parents=[*networks, *pushing],
                       spec=study_spec(_allow_fizzled_parents=True))
    return [*fireworks, compare]


def _vasp_validation_run(study: Study, cell: Structure, temperature: float, seed: int, name: str,
                         run_path: str) -> list[Firework]:
    """A VASP reference run for validation: the AIMD segments at constant T, then the analysis of their frames
    (the paper's DFT-MD of Fig. 5a)."""
    protocol = study.validation_protocol()
    settings = reference_md_settings(protocol, temperature, seed, study.reference_aimd)
    segments = aimd_segment_fireworks(cell, settings, name)
    task = AnalyzeVaspValidationMD(temperature_K=temperature, protocol=protocol.model_dump(), seed=seed,
                                   analysis=study.analysis.model_dump(), run_path=run_path)
    return [*segments, Firework([task], name=f"{name} analysis", parents=segments[-1:], spec=study_spec())]


def _dielectric(study: Study, sub: Substitution) -> Firework:
    if study.engine == "vasp":
        return dielectric_firework(sub.structure, sub.id, f"{study.name} {sub.id}", study.name)
    if study.dielectric_calculation is not None:
        calculation = study.dielectric_calculation.as_record()
        cp2k = study.dielectric_cp2k_settings().as_record()
        tag = run_tag(sub.structure.as_dict(), calculation, cp2k)
        task = RunCp2kDielectric(structure=sub.structure.as_dict(), calculation=calculation, cp2k=cp2k,
                                 run_path=f"{study.name}/dielectric/{sub.id}-{tag}", study=study.name,
                                 substitution_id=sub.id)
        return Firework([task], name=f"{study.name} {sub.id} dielectric", spec=study_spec())
    entry = next((e for e in study.dielectric if e.formula == sub.formula), None)
    eps, source = (entry.eps_r, entry.source) if entry else (None, missing_dielectric_reason(sub.formula, study.engine))
    return Firework([RecordDielectric(study=study.name, substitution_id=sub.id, formula=sub.formula, eps_r=eps,
                                      source=source)], name=f"{study.name} {sub.id} dielectric", spec=study_spec())


def group_label(group: str) -> str:
    """A substitution group as a network label (run paths, document labels): ``Cl:S + vacancy:Li`` ->
    ``Cl-S+vacancy-Li``."""
    return group.replace(":", "-").replace(" ", "")


def _md(study: Study, sub: Substitution, temperature: float, networks: list[Firework]) -> Firework:
    """The first-round run of one arrangement at one temperature, on the network :func:`network_of_run` gives it."""
    network = networks[network_of_run(sub.rank, list(study.temperatures_K).index(temperature), len(networks))]
    return md_firework(study.name, sub.meta, sub.structure.as_dict(), temperature, study.protocol.model_dump(),
                       study.analysis.model_dump(), study.md_seed(sub.id, temperature),
                       (network.name, network.tasks[0].as_dict()), parents=[network])


def _precision(study: Study, runs: list[tuple[Substitution, list[Firework], str]],
               trains: dict[str, list[Firework]]) -> Firework:
    """The first precision check of one composition (``runs``: each arrangement, its MD and its networks' label),
    after all its MD; its arrangements' networks are its parents too (it spreads the runs it adds over them)."""
    subs, md = [sub for sub, _, _ in runs], [fw for _, fws, _ in runs for fw in fws]
    labels = {sub.id: label for sub, _, label in runs}
    networks = [fw for label in dict.fromkeys(labels.values()) for fw in trains[label]]
    return precision_firework(study.name, subs[0].composition_id, [[s.meta, s.structure.as_dict()] for s in subs],
                              list(study.temperatures_K), study.protocol.model_dump(), study.analysis.model_dump(),
                              study.seed, study.precision.model_dump(), study.precision_budget_ps(len(md)),
                              parents=[*networks, *md], network_labels=labels)


def get_wf_dopant_study(study: Study, substitutions: list[Substitution] | None = None) -> Workflow:
    """The whole study as one workflow, for ``substitutions`` (default: the study's whole enumeration): the only
    cells it simulates, and the only ones active learning explores beside the training cell."""
    substitutions = substitutions if substitutions is not None else study_substitutions(study)
    fireworks: list[Firework] = []
    trains: dict[str, list[Firework]] = {}  # network label -> its networks' Fireworks (training first)
    mode = study.training.mode
    if mode != "per_substitution":
        cell = load_host(study.training.cell or study.host)
        served = {"shared": substitutions} if mode == "shared" else {}
        for sub in substitutions if mode == "per_group" else ():
            served.setdefault(group_label(sub.group or "group"), []).append(sub)
        for label, subs in served.items():
            aimd, trains[label], validation = _reference_and_training(study, cell, label, subs)
            fireworks += [*aimd, *trains[label], *validation]
    dielectric_done = set()
    production: dict[str, list] = {}  # composition -> [(arrangement, its MD Fireworks, its networks' label)]
    for sub in substitutions:
        label = {"shared": "shared", "per_group": group_label(sub.group or "group")}.get(mode, sub.id)
        if label not in trains:
            aimd, trains[label], validation = _reference_and_training(study, sub.structure, sub.id)
            fireworks += [*aimd, *trains[label], *validation]
        md = [_md(study, sub, temperature, trains[label]) for temperature in study.temperatures_K]
        fireworks += md
        production.setdefault(sub.composition_id, []).append((sub, md, label))
        if sub.composition_id not in dielectric_done:  # eps_r is the composition's: its first arrangement's cell
            dielectric_done.add(sub.composition_id)
            fireworks.append(_dielectric(study, sub))
    network_path_first([fw for networks in trains.values() for fw in networks])
    if study.precision is not None:
        for runs in production.values():
            fireworks.append(_precision(study, runs, trains))
    return Workflow(fireworks, name=f"dopant study {study.name}", metadata={"study": study.name,
                                                                            "n_substitutions": len(substitutions)})
