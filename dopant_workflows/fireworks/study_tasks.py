"""Firetasks of a dopant study: reference AIMD (embedded), network training, ANN-MD + analysis, dielectric record.

Each reads its parameters into the stage's settings model, calls one job (``dopant_workflows.jobs``), inserts the
job's document into the worker's results database and passes what children need through the spec. Runs that
must survive a restart (AIMD, training, MD) live under the worker's ``runs_dir``/<run_path>, not in the launch
directory: a relaunched Firework finds its checkpoint there and continues.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from fireworks import FiretaskBase, Firework, FWAction, Workflow, explicit_serialize

from dopant_workflows.db import insert
from dopant_workflows.fireworks.task_helpers import (
    STUDY_SPEC,
    announce,
    as_structure,
    device_of,
    fake_vasp_spec,
    fw_id_of,
    inherited_priority,
    network_handoff,
    network_spec,
    networks_of,
    results_db,
    run_dir_of,
    study_spec,
)
from dopant_workflows.names import (
    ENSEMBLE_SHA_KEY,
    FRAMES_KEY,
    MD_RECORDS_KEY,
    MODEL_PATH_KEY,
    MODEL_SHA_KEY,
    NETWORK_INDEX_KEY,
    NETWORKS_KEY,
    TRAINING_FRAMES_KEY,
    VALIDATION_RUNS_KEY,
    network_of_run,
    run_tag,
    validation_seed,
)

log = logging.getLogger("dopwf")


def pushed_frames(fw_spec) -> list[str]:
    """The frame files the parent Fireworks pushed (reference runs, or their relabelled set), in a stable order."""
    frames = sorted(set(fw_spec.get(FRAMES_KEY, [])))
    if not frames:
        raise ValueError(f"{FRAMES_KEY}: no frames were passed by the parent Fireworks")
    return frames
#: what a production run hands to the precision check: enough for the pooled Arrhenius fit
PRECISION_RECORD_FIELDS = ("task_id", "substitution_id", "composition_id", "arrangement", "replica", "network",
                           "model_sha256", "temperature_K", "diffusivity_cm2_s", "diffusivity_std_cm2_s",
                           "diffusivity_components_cm2_s", "n_carriers", "volume_A3", "rdf_first_peak_A")


@explicit_serialize
class RunEmbeddedAIMD(FiretaskBase):
    """Reference AIMD of a cell in this process (resumable): a universal potential, or CP2K (``engine: cp2k``,
    with its settings in ``cp2k``); pushes its frames."""

    required_params = ["structure", "settings", "engine", "run_path"]
    optional_params = ["cp2k"]

    def run_task(self, fw_spec):
        from dopant_workflows.engines.cp2k.settings import Cp2kSettings
        from dopant_workflows.engines.schedule import AIMDSettings
        from dopant_workflows.jobs.reference import run_reference_aimd

        db = results_db(fw_spec)
        announce(self)
        cp2k = Cp2kSettings(**self["cp2k"]) if self.get("cp2k") else None
        document = run_reference_aimd(as_structure(self["structure"]), AIMDSettings(**self["settings"]),
                                      run_dir_of(self, fw_spec), self["engine"], device_of(fw_spec), cp2k=cp2k)
        insert(db, "training_sets", document.model_dump())
        if document.status != "completed":
            raise RuntimeError(f"reference AIMD failed: {document.failure_reason} (frames kept in "
                               f"{document.frames_path})")
        return FWAction(stored_data={"set_id": document.set_id, "n_frames": document.n_frames},
                        mod_spec=[{"_push": {FRAMES_KEY: document.frames_path}}])


@explicit_serialize
class LabelReferenceFrames(FiretaskBase):
    """The study's ``labels``: an even selection of the frames the parents pushed, labelled by the labelling engine
    (CP2K); children get the labelled file in place of the reference MD's frames."""

    required_params = ["settings", "run_path", "study", "label"]

    def run_task(self, fw_spec):
        from dopant_workflows.engines.labels import LabelSettings
        from dopant_workflows.jobs.labelling import label_reference_frames

        db = results_db(fw_spec)
        announce(self)
        document = label_reference_frames(pushed_frames(fw_spec), LabelSettings(**self["settings"]),
                                          run_dir_of(self, fw_spec), study=self["study"], label=self["label"])
        insert(db, "label_sets", document.model_dump())
        return FWAction(stored_data={"set_id": document.set_id, "n_frames": document.n_frames},
                        mod_spec=[{"_push": {FRAMES_KEY: document.frames_path}}])


@explicit_serialize
class TrainNetwork(FiretaskBase):
    """Train the Behler-Parrinello network on every frame file the parents pushed; children get the model."""

    required_params = ["settings", "run_path", "study", "label"]

    def run_task(self, fw_spec):
        announce(self)
        frames = pushed_frames(fw_spec)
        return _train_and_hand_on(self, fw_spec, frames, 0, training_frames=frames)


@explicit_serialize
class TrainNetworkReplica(FiretaskBase):
    """Network ``index`` (>= 1) of a study's ensemble (``training.networks``): the same training settings with its
    own seed, on the frames network 0 (the parent: training, or active learning's last round) was trained on; its
    children are the MD runs the study gives this network."""

    required_params = ["settings", "run_path", "study", "label", "index"]

    def run_task(self, fw_spec):
        announce(self)
        frames = fw_spec.get(TRAINING_FRAMES_KEY)
        if not frames or not fw_spec.get(MODEL_SHA_KEY):
            raise ValueError(f"{TRAINING_FRAMES_KEY}: network 0 passed no training frames (or no network) to "
                             f"network {self['index']}")
        return _train_and_hand_on(self, fw_spec, frames, int(self["index"]), ensemble_sha256=fw_spec[MODEL_SHA_KEY])


def _train_and_hand_on(task: FiretaskBase, fw_spec, frames: list[str], index: int, ensemble_sha256: str | None = None,
                       training_frames: list[str] | None = None) -> FWAction:
    """Train network ``index`` on ``frames`` with the task's settings, store its document and hand it on
    (:func:`network_handoff`)."""
    from dopant_workflows.ann.settings import TrainingSettings
    from dopant_workflows.jobs.training import train_network

    db = results_db(fw_spec)
    document = train_network(frames, TrainingSettings(**task["settings"]), run_dir_of(task, fw_spec),
                             study=task["study"], label=task["label"], replace=True)
    insert(db, "models", document.model_copy(update={"fw_id": fw_id_of(task)}).model_dump())
    return FWAction(stored_data={"model_sha256": document.model_sha256, "network": index,
                                 "test_force_rmse_eV_A": document.force_rmse_eV_A["test"]},
                    **network_handoff(index, task["label"], document.model_path, document.model_sha256,
                                      ensemble_sha256=ensemble_sha256, training_frames=training_frames))


@explicit_serialize
class RunANNMD(FiretaskBase):
    """ANN-MD of one substitution at one temperature with the parent's network, then its analysis."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "run_path", "study", "substitution"]
    optional_params = ["analysis", "replica"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.jobs.md import run_md_stage
        from dopant_workflows.md.settings import MDProtocol
        from dopant_workflows.schemas.tasks import MDTaskDocument

        db = results_db(fw_spec)
        announce(self)
        if not fw_spec.get(MODEL_PATH_KEY):
            raise ValueError(f"{MODEL_PATH_KEY}: no trained network was passed by the parent Firework")
        run = run_md_stage(as_structure(self["structure"]), fw_spec[MODEL_PATH_KEY], MDProtocol(**self["protocol"]),
                           float(self["temperature_K"]), run_dir_of(self, fw_spec), seed=int(self["seed"]),
                           device=device_of(fw_spec), analysis=AnalysisSettings(**self.get("analysis", {})))
        document = MDTaskDocument.from_run(run, self["study"], self["substitution"], fw_id_of(self),
                                           int(self.get("replica", 0)), int(fw_spec.get(NETWORK_INDEX_KEY) or 0),
                                           fw_spec.get(ENSEMBLE_SHA_KEY))
        insert(db, "md_tasks", document.model_dump())
        # the precision check (when the study has one) fits these records and hands the network to the runs it adds
        record = {**{k: getattr(document, k) for k in PRECISION_RECORD_FIELDS},
                  "production_ps": run.protocol["production_ps"]}
        # (its network also in the spec: a precision check stored before NETWORKS_KEY existed reads it there)
        network = {MODEL_PATH_KEY: fw_spec[MODEL_PATH_KEY], MODEL_SHA_KEY: fw_spec.get(MODEL_SHA_KEY)}
        return FWAction(stored_data={"task_id": document.task_id, "diffusivity_cm2_s": document.diffusivity_cm2_s},
                        mod_spec=[{"_push": {MD_RECORDS_KEY: record}}], update_spec=network)


@explicit_serialize
class RunCp2kDielectric(FiretaskBase):
    """eps_r of a composition's cell with CP2K (the study's ``dielectric_calculation``): relaxation, linear response
    and finite displacements, each resumable in the run directory; one dielectric document."""

    required_params = ["structure", "calculation", "cp2k", "run_path", "study", "substitution_id"]

    def run_task(self, fw_spec):
        from dopant_workflows.engines.cp2k.settings import Cp2kSettings
        from dopant_workflows.engines.dielectric import DielectricCalculation
        from dopant_workflows.jobs.dielectric import run_cp2k_dielectric

        db = results_db(fw_spec)
        announce(self)
        document = run_cp2k_dielectric(run_dir_of(self, fw_spec), as_structure(self["structure"]),
                                       self["substitution_id"], DielectricCalculation(**self["calculation"]),
                                       Cp2kSettings(**self["cp2k"]), study=self["study"], fw_id=fw_id_of(self))
        insert(db, "dielectric", document.model_dump())
        return FWAction(stored_data={"dielectric_id": document.dielectric_id, "eps_r": document.eps_r,
                                     "holds": document.holds})


@explicit_serialize
class RecordDielectric(FiretaskBase):
    """eps_r of a substitution from the study file (with its source), or a record of why it is missing."""

    required_params = ["study", "substitution_id", "formula", "eps_r", "source"]

    def run_task(self, fw_spec):
        from dopant_workflows.jobs.dielectric import record_dielectric

        announce(self)
        document = record_dielectric(self["study"], self["substitution_id"], self["formula"], self["eps_r"],
                                     self["source"], fw_id_of(self))
        insert(results_db(fw_spec), "dielectric", document.model_dump())
        return FWAction(stored_data={"eps_r": document.eps_r, "source": document.source})


@explicit_serialize
class RunValidationMD(FiretaskBase):
    """One validation run: the network (``role: ann``, the parent's model) or the reference engine (``role:
    reference``) on the network's own cell at one temperature. A run that blows up is a validation result, not a
    workflow error: its record says why and the Firework completes."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "run_path", "role", "engine"]
    optional_params = ["analysis"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.jobs.validation import validation_run
        from dopant_workflows.md.settings import MDProtocol

        announce(self)
        role = self["role"]
        if role == "ann" and not fw_spec.get(MODEL_PATH_KEY):
            raise ValueError(f"{MODEL_PATH_KEY}: no trained network was passed by the parent Firework")
        record = validation_run(as_structure(self["structure"]), fw_spec[MODEL_PATH_KEY] if role == "ann" else
                                self["engine"], role, MDProtocol(**self["protocol"]), float(self["temperature_K"]),
                                run_dir_of(self, fw_spec), int(self["seed"]),
                                AnalysisSettings(**self.get("analysis", {})), device_of(fw_spec))
        update = {MODEL_PATH_KEY: fw_spec[MODEL_PATH_KEY], MODEL_SHA_KEY: fw_spec.get(MODEL_SHA_KEY)} if (
            role == "ann") else {}
        return FWAction(stored_data={k: record.get(k) for k in ("role", "status", "temperature_K")},
                        mod_spec=[{"_push": {VALIDATION_RUNS_KEY: record}}], update_spec=update)


def validation_md_firework(study: str, label: str, role: str, temperature_K: float, k: int, seed: int,
                           structure: dict, protocol: dict, analysis: dict, engine: str, depends: tuple,
                           parents=None, spec: dict | None = None) -> Firework:
    """Validation run ``k`` of ``role`` (reference: the embedded engine; ann: the network the spec or the parent
    passes) at one temperature; ``depends``: what else names its run directory (the cell and engine, or the
    network)."""
    tag = run_tag(protocol, analysis, seed, role, *depends)
    task = RunValidationMD(structure=structure, temperature_K=temperature_K, protocol=protocol, seed=seed,
                           analysis=analysis, role=role, engine=engine,
                           run_path=f"{study}/validation/{label}/{role}-{temperature_K:g}K-{tag}")
    return Firework([task], name=f"{study} {label} validation {role} md {temperature_K:g}K #{k + 1}",
                    parents=parents, spec=study_spec(spec))


@explicit_serialize
class RunCp2kValidationMD(FiretaskBase):
    """One CP2K reference run for validation (engine cp2k, the paper's DFT-MD of Fig. 5a): NVT AIMD of the network's
    cell at a constant temperature, equilibration + production of the ANN-MD protocol, then the analysis of its
    production frames; pushes the validation record (as RunValidationMD does for an embedded engine)."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "reference_aimd", "cp2k", "run_path"]
    optional_params = ["analysis"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.settings import AnalysisSettings
        from dopant_workflows.engines.cp2k.settings import Cp2kSettings
        from dopant_workflows.engines.schedule import AIMDSettings
        from dopant_workflows.jobs.vasp_validation import run_cp2k_reference_md
        from dopant_workflows.md.settings import MDProtocol

        announce(self)
        record = run_cp2k_reference_md(as_structure(self["structure"]), MDProtocol(**self["protocol"]),
                                       float(self["temperature_K"]), int(self["seed"]),
                                       AIMDSettings(**self["reference_aimd"]), Cp2kSettings(**self["cp2k"]),
                                       run_dir_of(self, fw_spec), AnalysisSettings(**self.get("analysis", {})))
        return FWAction(stored_data={k: record.get(k) for k in ("role", "status", "temperature_K")},
                        mod_spec=[{"_push": {VALIDATION_RUNS_KEY: record}}])


@explicit_serialize
class ValidateNetwork(FiretaskBase):
    """Compare the parent network with its reference from the validation runs the parents pushed; one
    ``validation`` document. With VASP as the reference, the ANN-MD frames' single points come first, as a detour
    that ends in this comparison again (``relabelled``)."""

    required_params = ["settings", "run_path", "study", "label", "reference_engine", "expected_runs"]
    optional_params = ["training_range_K", "relabelled", "cp2k", "more_runs", "extension"]

    def run_task(self, fw_spec):
        from dopant_workflows.jobs.validation import validate_network
        from dopant_workflows.validation.settings import ValidationSettings

        db = results_db(fw_spec)
        announce(self)
        networks = networks_of(fw_spec, self["label"])
        settings = ValidationSettings(**self["settings"])
        common = {"study": self["study"], "label": self["label"], "fw_id": fw_id_of(self)}
        # one record per run directory: a rerun parent pushes its record again
        runs = list({r["run_dir"]: r for r in fw_spec.get(VALIDATION_RUNS_KEY, [])}.values())
        relabelled = None
        if self["reference_engine"] == "vasp":
            if not self.get("relabelled"):
                detour = self._vasp_relabelling(runs, settings, fw_spec)
                if detour is not None:
                    return detour
            relabelled = self._vasp_errors(fw_spec)
        elif self["reference_engine"] == "cp2k":
            relabelled = self._cp2k_errors(runs, settings, fw_spec)
        document = validate_network(networks[0][MODEL_PATH_KEY], runs, settings,
                                    reference_engine=self["reference_engine"], out_dir=run_dir_of(self, fw_spec),
                                    training_range_K=self.get("training_range_K"), device=device_of(fw_spec),
                                    relabelled=relabelled, ensemble=[n[MODEL_PATH_KEY] for n in networks], **common)
        if len(runs) < int(self["expected_runs"]):
            missing = f"{int(self['expected_runs']) - len(runs)} of {self['expected_runs']} validation runs did " \
                      "not finish (their Fireworks fizzled: see lpad get_fws -s FIZZLED)"
            document = document.model_copy(update={"status": "failed", "passed": False,
                                                   "reasons": [*document.reasons, missing]})
        else:
            detour = self._more_runs(document, runs, settings, fw_spec)
            if detour is not None:
                return detour
        if self.get("extension"):
            document = document.model_copy(update={"warnings": [*document.warnings, self["extension"]]})
        insert(db, "validation", document.model_dump())
        return FWAction(stored_data={"validation_id": document.validation_id, "status": document.status})

    def _more_runs(self, document, runs: list[dict], settings, fw_spec) -> FWAction | None:
        """More runs and this comparison again, as a detour, when the activation-energy check is inconclusive for
        want of runs alone (every other check passed; the difference known less well than the threshold) and
        ``validation.max_seeds`` allows more: the error of the difference falls as 1/sqrt(runs), so the runs per
        temperature grow to what the measured error says would resolve it (at least one more, at most max_seeds),
        ANN runs in proportion. None: the verdict stands."""
        more = self.get("more_runs")
        if not more or settings.max_seeds is None or document.status != "failed":
            return None
        failed = [c for c in document.checks if c.passed is False]
        if [c.name for c in failed] != ["activation_energy"] or "inconclusive" not in failed[0].detail:
            return None
        sigma = math.hypot(document.reference_fit.activation_energy_std_eV or math.nan,
                           document.ann_fit.activation_energy_std_eV or math.nan)
        if not math.isfinite(sigma):
            return None
        temperatures = sorted({float(r["temperature_K"]) for r in runs})
        have = {role: min(sum(1 for r in runs if r["role"] == role and float(r["temperature_K"]) == t)
                          for t in temperatures) for role in ("reference", "ann")}
        needed = math.ceil(have["reference"] * (sigma / settings.thresholds.activation_energy_sigma_eV) ** 2)
        reference = min(settings.max_seeds, max(have["reference"] + 1, needed))
        if reference <= have["reference"]:
            return None
        share = settings.runs_per_temperature("ann") / settings.seeds
        ann = max(have["ann"], min(64, math.ceil(reference * share)))
        networks = networks_of(fw_spec, self["label"])
        fireworks = []
        for i, temperature in enumerate(temperatures):
            for role, first, last in (("reference", have["reference"], reference), ("ann", have["ann"], ann)):
                for k in range(first, last):
                    network = networks[network_of_run(k, i, len(networks))]
                    depends = (more["structure"], more["engine"]) if role == "reference" else (
                        network[MODEL_SHA_KEY],)
                    fireworks.append(validation_md_firework(
                        self["study"], self["label"], role, temperature, k,
                        validation_seed(more["study_seed"], self["label"], role, temperature, k), more["structure"],
                        more["protocol"], more["analysis"], more["engine"], depends,
                        spec=network_spec(network) if role == "ann" else None))
        extension = (f"the activation-energy check was inconclusive with {have['reference']} reference and "
                     f"{have['ann']} ANN runs per temperature (difference known to ± {sigma:.3f} eV): extended to "
                     f"{reference} and {ann} (validation.max_seeds {settings.max_seeds})")
        compare = Firework([ValidateNetwork({**self, "expected_runs": len(runs) + len(fireworks),
                                             "extension": extension})],
                           name=f"{self['study']} {self['label']} validation ({reference} runs per temperature)",
                           parents=fireworks, spec=study_spec({VALIDATION_RUNS_KEY: runs, NETWORKS_KEY: networks,
                                                               **network_spec(networks[0])},
                                                              _allow_fizzled_parents=True))
        log.info("validation: %s", extension)
        return FWAction(stored_data={"extended_to_runs_per_temperature": reference},
                        detours=Workflow([*fireworks, compare]))

    def _cp2k_errors(self, runs: list[dict], settings, fw_spec) -> dict:
        """The network's errors per temperature against CP2K single points of its ANN-MD frames, run here (each in
        its own directory under this Firework's run directory: a rerun resumes)."""
        from dopant_workflows.engines.cp2k.settings import Cp2kSettings
        from dopant_workflows.jobs.labelling import label_frames
        from dopant_workflows.jobs.vasp_validation import frames_to_relabel, labelled_errors

        frames = frames_to_relabel(runs, settings.relabel_frames)
        log.info("validation: CP2K single points of %d ANN-MD frames", len(frames))
        labelled = label_frames(frames, "cp2k", work_dir=Path(run_dir_of(self, fw_spec)) / "labels",
                                cp2k=Cp2kSettings(**self["cp2k"]))
        for frame, source in zip(labelled, frames, strict=True):
            frame.info.update({k: source.info[k] for k in ("temperature_K", "model_sha256") if k in source.info})
        return labelled_errors(labelled, self._networks(fw_spec))

    def _vasp_relabelling(self, runs: list[dict], settings, fw_spec) -> FWAction | None:
        """VASP single points of the ANN-MD frames, then this comparison again with their labels: a detour (the
        frames exist only now). None when there is nothing to label (every ANN-MD run failed)."""
        from fireworks import Firework, Workflow

        from dopant_workflows.fireworks.vasp_tasks import vasp_single_points
        from dopant_workflows.jobs.vasp_validation import frames_to_relabel

        frames = frames_to_relabel(runs, settings.relabel_frames)
        if not frames:
            return None
        name = f"{self['study']} {self['label']} validation"
        statics = vasp_single_points(frames, f"{name} relabel", fw_spec)
        networks = networks_of(fw_spec, self["label"])
        compare = Firework([ValidateNetwork({**self, "relabelled": True})], name=f"{name} (VASP labels)",
                           parents=statics, spec={**STUDY_SPEC, "_allow_fizzled_parents": True,
                                                  VALIDATION_RUNS_KEY: runs, NETWORKS_KEY: networks,
                                                  **network_spec(networks[0])})
        log.info("validation: %d ANN-MD frames go to VASP single points before the comparison", len(frames))
        return FWAction(stored_data={"relabel_frames": len(frames)}, detours=Workflow([*statics, compare]))

    def _vasp_errors(self, fw_spec) -> dict:
        from dopant_workflows.fireworks.vasp_tasks import vasp_labelled_frames
        from dopant_workflows.jobs.vasp_validation import labelled_errors

        return labelled_errors(vasp_labelled_frames(fw_spec), self._networks(fw_spec))

    def _networks(self, fw_spec) -> dict:
        """{model_sha256: ASE calculator} of every network validated (evaluated as its MD used it); the frames of an
        ANN run are compared with the network that ran them."""
        from dopant_workflows.ann.calculator import BPNNCalculator
        from dopant_workflows.ann.model_io import load_potential

        return {n[MODEL_SHA_KEY]: BPNNCalculator(load_potential(n[MODEL_PATH_KEY]), device=device_of(fw_spec))
                for n in networks_of(fw_spec, self["label"])}


@explicit_serialize
class ActiveLearningRound(FiretaskBase):
    """One round of active learning (train a committee on every frame so far, explore, select, label). Not done:
    the next round is added as a detour (its Firework comes between this one and the MD that waits for the
    network). Done: member 0 is handed to the children as the study's network.

    ``network`` k >= 1 (training.networks): the chain of network k of the ensemble, which starts from the frames
    network 0 was handed on with (TRAINING_FRAMES_KEY) instead of the reference runs', with its own seeds: it is
    judged in its own ANN-MD as network 0 was, and adds the frames it fails on, before its runs count."""

    required_params = ["round", "training", "settings", "engine", "cells", "temperatures_K", "run_path", "study",
                       "label", "seed", "frames"]
    optional_params = ["relabelled", "labels", "network"]

    def run_task(self, fw_spec):
        from fireworks import Firework

        from dopant_workflows.active_learning.settings import ActiveLearningSettings
        from dopant_workflows.ann.settings import TrainingSettings
        from dopant_workflows.jobs.active_learning import LabelsNeeded, given_labels, run_round

        db = results_db(fw_spec)
        announce(self)
        network = int(self.get("network", 0))
        base = self._base_frames(fw_spec)
        frames = [*base, *self["frames"]]
        cells = [(name, as_structure(cell)) for name, cell in self["cells"]]
        labeller = None
        if self["engine"] == "vasp":  # single points as Fireworks: labels exist only on the second call
            from dopant_workflows.fireworks.vasp_tasks import vasp_labelled_frames

            labeller = given_labels(vasp_labelled_frames(fw_spec) if self.get("relabelled") else None)
        engine = self["engine"]
        if self.get("labels"):  # the study's labelling engine (CP2K) labels what the round chooses
            labeller, engine = self._labeller(fw_spec)
        try:
            document, committee = run_round(
                int(self["round"]), frames, cells, self["temperatures_K"], TrainingSettings(**self["training"]),
                ActiveLearningSettings(**self["settings"]), engine, run_dir_of(self, fw_spec),
                study=self["study"], label_name=self._document_label(), seed=int(self["seed"]),
                device=device_of(fw_spec),
                fw_id=fw_id_of(self), labeller=labeller)
        except LabelsNeeded as needed:
            return self._vasp_labelling(needed.frames, fw_spec)
        for member in committee:
            insert(db, "models", member.model_copy(update={"fw_id": fw_id_of(self)}).model_dump())
        insert(db, "active_learning", document.model_dump())
        stored = {"al_id": document.al_id, "fraction_above_lo": document.fraction_above_lo,
                  "n_labelled": document.n_labelled}
        if document.final:
            stored["handed_on_round"] = document.handed_on_round
            # network 0 hands the others its training frames; network k >= 1 joins network 0's ensemble
            return FWAction(stored_data=stored, **network_handoff(
                network, self["label"], document.handed_on_model_path, document.handed_on_sha256,
                ensemble_sha256=fw_spec[ENSEMBLE_SHA_KEY] if network else None,
                training_frames=None if network else document.handed_on_training_frame_files))
        following = int(self["round"]) + 1
        task = ActiveLearningRound({**{k: v for k, v in self.items() if k != "relabelled"}, "round": following,
                                    "frames": [*self["frames"], document.labelled_frames_path],
                                    "run_path": str(Path(self["run_path"]).parent / f"round{following}")})
        name = f"{self['study']} {self._document_label()} active learning round {following}"
        detour = Firework([task], name=name, spec=self._round_spec(fw_spec))
        return FWAction(stored_data=stored, detours=[detour])

    def _labeller(self, fw_spec):
        """(frames -> labelled frames, engine name) for the study's ``labels``; each frame's run under the round's
        run directory, so a relaunched round finds the labels it made before."""
        from dopant_workflows.engines.labels import LabelSettings
        from dopant_workflows.jobs.labelling import label_frames

        settings = LabelSettings(**self["labels"])
        work_dir = Path(run_dir_of(self, fw_spec)) / "labels"
        return (lambda chosen: label_frames(chosen, settings.engine, work_dir=work_dir, cp2k=settings.cp2k)), \
            settings.engine

    def _vasp_labelling(self, frames, fw_spec) -> FWAction:
        """The frames this round chose, as VASP single points, then this round again with their labels (a
        detour: the trained members and the exploration are found in place and not redone)."""
        from fireworks import Firework, Workflow

        from dopant_workflows.fireworks.vasp_tasks import vasp_single_points

        name = f"{self['study']} {self._document_label()} active learning round {self['round']}"
        statics = vasp_single_points(frames, f"{name} label", fw_spec)
        again = Firework([ActiveLearningRound({**self, "relabelled": True})], name=f"{name} (VASP labels)",
                         parents=statics, spec=self._round_spec(fw_spec))
        log.info("active learning round %s: %d frames go to VASP single points", self["round"], len(frames))
        return FWAction(stored_data={"vasp_single_points": len(frames)}, detours=Workflow([*statics, again]))

    def _round_spec(self, fw_spec) -> dict:
        """The spec of a round this one adds (the next round, or this one again with VASP labels): the starting
        frames this round got, the VASP replay directory when there is one, this round's ``_priority`` (the
        study's critical path) and, in the chain of network k >= 1, the ensemble it belongs to."""
        ensemble = {ENSEMBLE_SHA_KEY: fw_spec[ENSEMBLE_SHA_KEY]} if self.get("network") else {}
        return study_spec(**{FRAMES_KEY: self._base_frames(fw_spec)}, **fake_vasp_spec(fw_spec),
                          **inherited_priority(fw_spec), **ensemble)

    def _base_frames(self, fw_spec) -> list[str]:
        """The frames every round of this chain starts from: the reference runs' (pushed, or handed on by the round
        before), or for network k >= 1 the frames network 0 was trained on."""
        if self.get("network") and not fw_spec.get(FRAMES_KEY):
            frames = fw_spec.get(TRAINING_FRAMES_KEY)
            if not frames or not fw_spec.get(ENSEMBLE_SHA_KEY):
                raise ValueError(f"{TRAINING_FRAMES_KEY}: network 0 passed no training frames (or no network) to "
                                 f"network {int(self['network']) + 1}'s active learning")
            return sorted({str(f) for f in frames})  # the order pushed_frames gives the later rounds
        return pushed_frames(fw_spec)

    def _document_label(self) -> str:
        """The label of this chain's documents (al_id, models): the network's, with ``-networkN`` for network
        N = k + 1 >= 2 of an ensemble."""
        network = int(self.get("network", 0))
        return self["label"] if not network else f"{self['label']}-network{network + 1}"
