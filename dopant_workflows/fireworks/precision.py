"""Adaptive production as FireWorks: one precision check per composition after its MD Fireworks; a check whose
composition misses the study's sigma(Ea) target adds more production runs and the next check as a detour (as an
active-learning round adds the next round), until the target is met or the budget spent.

    MD (arrangements x temperatures) -> check 1 -> [more MD -> check 2 -> ...]

Each check writes the composition's ``precision`` document (its latest verdict); the conductivity builder reads
it for ``stopped_on``.
"""

from __future__ import annotations

import logging

from fireworks import FiretaskBase, Firework, FWAction, Workflow, explicit_serialize

from dopant_workflows.db import insert
from dopant_workflows.fireworks.study_tasks import RunANNMD
from dopant_workflows.fireworks.task_helpers import (
    announce,
    fw_id_of,
    network_spec,
    networks_of,
    results_db,
    study_spec,
)
from dopant_workflows.names import MD_RECORDS_KEY, MODEL_SHA_KEY, NETWORKS_KEY, md_seed, run_tag

log = logging.getLogger("dopwf")


def md_firework(study: str, substitution: dict, structure: dict, temperature_K: float, protocol: dict,
                analysis: dict, seed: int, network_tag: str, replica: int = 0, parents=None,
                spec: dict | None = None) -> Firework:
    """One production run of one arrangement at one temperature (``substitution``: ``Substitution.meta``);
    ``network_tag``: what identifies the network in the run directory's name."""
    tag = run_tag(protocol, analysis, seed, *([network_tag] if isinstance(network_tag, str) else network_tag))
    suffix = f"-r{replica}" if replica else ""
    task = RunANNMD(structure=structure, temperature_K=temperature_K, protocol=protocol, seed=seed, analysis=analysis,
                    run_path=f"{study}/md/{substitution['id']}/{temperature_K:g}K{suffix}-{tag}", study=study,
                    substitution=substitution, **({"replica": replica} if replica else {}))
    name = f"{study} {substitution['id']} md {temperature_K:g}K" + (f" #{replica + 1}" if replica else "")
    return Firework([task], name=name, parents=parents, spec=study_spec(spec))


def precision_firework(study: str, composition_id: str, cells: list, temperatures_K: list[float], protocol: dict,
                       analysis: dict, study_seed: int, settings: dict, budget_ps: float, round_: int = 1,
                       parents=None, spec: dict | None = None, network_labels: dict | None = None) -> Firework:
    """The check of one composition after its MD; ``cells``: [[Substitution.meta, structure dict], ...];
    ``network_labels``: {substitution id: the label of the networks its runs use} (runs it adds go on them)."""
    task = CheckPrecision(study=study, composition_id=composition_id, cells=cells, temperatures_K=temperatures_K,
                          protocol=protocol, analysis=analysis, study_seed=study_seed, settings=settings,
                          budget_ps=budget_ps, round=round_, **({"network_labels": network_labels}
                                                                if network_labels else {}))
    return Firework([task], name=f"{study} {composition_id} precision check {round_}", parents=parents,
                    spec=study_spec(spec, _allow_fizzled_parents=True))


@explicit_serialize
class CheckPrecision(FiretaskBase):
    """Fit the composition's runs (those its MD parents pushed, earlier rounds' included); if sigma(Ea) is above
    the target and budget and rounds remain, add runs (``analysis.precision.plan_production``) and the next check
    as a detour. A run that fizzled is left out (the check runs on what finished)."""

    required_params = ["study", "composition_id", "cells", "temperatures_K", "protocol", "analysis", "study_seed",
                       "settings", "budget_ps", "round"]
    optional_params = ["network_labels"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.precision import assign_networks, plan_production
        from dopant_workflows.analysis.replicas import temperature_key
        from dopant_workflows.schemas.tasks import PrecisionDocument
        from dopant_workflows.study import PrecisionSettings

        announce(self)
        settings = PrecisionSettings(**self["settings"])
        round_ = int(self["round"])
        # one record per task id: a rerun parent pushes its record again
        records = list({r["task_id"]: r for r in fw_spec.get(MD_RECORDS_KEY, [])
                        if r.get("composition_id") == self["composition_id"]}.values())
        decision = plan_production(records, settings.activation_energy_std_eV, float(self["budget_ps"]),
                                   float(self["protocol"]["production_ps"]), settings.max_rounds - round_ + 1)
        replicas = {}
        for r in records:
            key = (r["substitution_id"], temperature_key(r["temperature_K"]))
            replicas[key] = max(replicas.get(key, -1), int(r.get("replica") or 0))
        # each added run on one of its arrangement's networks (per_substitution: each cell has its own)
        labels = self.get("network_labels") or {}
        networks = {}
        for label in {labels.get(sub_id) for sub_id, _ in decision.added}:
            networks[label] = networks_of(fw_spec, label)
        chosen = {}
        for label, candidates in networks.items():
            mine = [i for i, (sub_id, _) in enumerate(decision.added) if labels.get(sub_id) == label]
            theirs = [r for r in records if labels.get(r["substitution_id"]) == label]
            for i, position in zip(mine, assign_networks(theirs, [decision.added[i] for i in mine], len(candidates)),
                                   strict=True):
                chosen[i] = candidates[position]
        added, on = [], []
        for i, (sub_id, temperature) in enumerate(decision.added):
            key = (sub_id, temperature_key(temperature))
            replicas[key] = replicas.get(key, -1) + 1
            added.append({"substitution_id": sub_id, "temperature_K": temperature, "replica": replicas[key],
                          "network": int(chosen[i]["index"])})
            on.append(chosen[i])
        document = PrecisionDocument(
            study=self["study"], composition_id=self["composition_id"], round=round_, status=decision.status,
            activation_energy_std_eV=decision.activation_energy_std_eV,
            target_std_eV=settings.activation_energy_std_eV, production_ps_used=decision.production_ps_used,
            budget_ps=decision.budget_ps, n_runs=decision.n_runs, added=added, reason=decision.reason,
            fw_id=fw_id_of(self))
        insert(results_db(fw_spec), "precision", document.model_dump())
        log.info("precision %s, round %d: %s", self["composition_id"], round_, decision.reason)
        stored = {"status": decision.status, "activation_energy_std_eV": decision.activation_energy_std_eV,
                  "added": len(added)}
        if decision.status != "more":
            return FWAction(stored_data=stored)
        return FWAction(stored_data=stored, detours=self._more(added, on, records, fw_spec))

    def _more(self, added: list[dict], on: list[dict], records: list[dict], fw_spec) -> Workflow:
        """The added runs (each ``on`` the network ``assign_networks`` gave it) and the next check, which gets
        every record so far and the networks."""
        cells = {meta["id"]: (meta, structure) for meta, structure in self["cells"]}
        runs = []
        for run, network in zip(added, on, strict=True):
            meta, structure = cells[run["substitution_id"]]
            seed = md_seed(int(self["study_seed"]), meta["id"], run["temperature_K"], run["replica"])
            runs.append(md_firework(self["study"], meta, structure, run["temperature_K"], self["protocol"],
                                    self["analysis"], seed, str(network.get(MODEL_SHA_KEY)), run["replica"],
                                    spec=network_spec(network)))
        following = precision_firework(
            self["study"], self["composition_id"], self["cells"], self["temperatures_K"], self["protocol"],
            self["analysis"], self["study_seed"], self["settings"], self["budget_ps"], int(self["round"]) + 1,
            parents=runs, spec={MD_RECORDS_KEY: records, NETWORKS_KEY: fw_spec.get(NETWORKS_KEY) or on},
            network_labels=self.get("network_labels"))
        return Workflow([*runs, following])
