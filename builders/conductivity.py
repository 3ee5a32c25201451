"""diffusivity -> conductivity: per study and substitution, the Arrhenius fit and its 300 K extrapolation."""

from __future__ import annotations

import numpy as np
from maggma.core import Builder

from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.db import LEGACY_FLAG
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.names import study_substitution_id
from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import ConductivityDocument


def study_query(study: str | None) -> dict:
    """The source criteria of a builder restricted to one study ({}: every study, each grouped on its own)."""
    return {"study": study} if study else {}


def group_of(document: dict) -> str:
    """A per-substitution document's group: its study and substitution (never the substitution alone: two studies
    of one substitution, e.g. another seed, are two results)."""
    return study_substitution_id(document["study"], document["substitution_id"])


def drop_legacy(target) -> None:
    """Remove target documents written before the target's key existed (keyed by substitution alone, possibly
    built from several studies' runs): they are derived, rebuilt from their sources by this build, and would
    otherwise stand beside their rebuilt twins. MongoDB hands them back without the key; the JSON files, keyed
    on reading (``db.with_study_key``), with the ``legacy_layout`` flag."""
    for criteria in ({target.key: {"$exists": False}}, {LEGACY_FLAG: True}):
        if target.count(criteria):  # a JSON store rewrites its file on every removal
            target.remove_docs(criteria)


def group_newer(sources, target, criteria: dict, extra=None):
    """(group, source documents, newest source time) of every (study, substitution) group with a source document
    newer than the sources its target document was built from (or with no target document yet). ``extra(documents)``
    gives further source documents of a group (e.g. its networks' validation documents) whose times count too."""
    built = {d[target.key]: as_utc(d.get("sources_last_updated")) for d in target.query(
        criteria, properties=[target.key, "sources_last_updated"])}
    groups: dict[str, list[dict]] = {}
    for document in sources.query(criteria):
        groups.setdefault(group_of(document), []).append(document)
    for group, documents in groups.items():
        newest = max(as_utc(d.get("last_updated")) for d in [*documents, *(extra(documents) if extra else [])])
        if group not in built or newest > built[group]:
            yield group, documents, newest


def validation_status(runs: list[dict], validations: list[dict]) -> tuple[bool | None, list[str]]:
    """Whether the networks behind ``runs`` (diffusivity documents) passed validation, and their production runs
    kept the core repulsion a safety net. None: no validation document for some network (validation off or
    not run yet); False: a failed or skipped validation, or a production run beyond the core-repulsion limit."""
    notes: list[str] = []
    status: bool | None = True
    for sha in sorted({r.get("model_sha256") or "" for r in runs}):
        docs = [v for v in validations if v.get("model_sha256") == sha] if sha else []
        if not docs:
            notes.append(f"network {sha[:12] or '(unknown)'}: no validation document")
            status = None if status is not False else False
            continue
        document = max(docs, key=lambda v: as_utc(v.get("last_updated")))
        if document["status"] != "passed":
            status = False
            notes.append(f"network {sha[:12]}: validation {document['status']}: " + "; ".join(document["reasons"]))
        limit = document.get("thresholds", {}).get("core_repulsion_eV")
        for run in runs:
            wall = run.get("core_repulsion_max_eV")
            if run.get("model_sha256") == sha and limit is not None and wall is not None and wall > limit:
                status = False
                notes.append(f"production MD at {run['temperature_K']:g} K: core repulsion reached {wall:.3g} eV "
                             f"(limit {limit:g} eV): the wall, not the network, shaped that run")
    return status, notes


class ConductivityBuilder(Builder):
    """Rebuilds a (study, substitution) whenever one of its diffusivity documents is newer than its conductivity
    document's sources (a new temperature, or a run redone in place). ``study``: build that study only (default:
    every study in the database, each grouped on its own; a study never reads another's runs or validations).
    ``studies``: the studies' plans (what each asks for now): runs at a temperature the study no longer lists are
    left out of its fit and named in the document's warnings; a study without a plan (submitted as a file with
    ``lpad add``) fits every run it has."""

    def __init__(self, diffusivity, conductivity, validation=None, study: str | None = None, studies=None, **kwargs):
        self.diffusivity, self.conductivity, self.validation, self.study = diffusivity, conductivity, validation, study
        self.studies = studies
        sources = [diffusivity] + [s for s in (validation, studies) if s is not None]
        super().__init__(sources=sources, targets=[conductivity], **kwargs)

    def get_items(self):
        criteria = study_query(self.study)
        drop_legacy(self.conductivity)
        validations = list(self.validation.query(criteria)) if self.validation is not None else []
        plans = {p["study"]: p for p in self.studies.query(criteria)} if self.studies is not None else {}

        def networks_validations(runs):
            """The validations of the runs' networks in the runs' own study."""
            shas, study = {r.get("model_sha256") for r in runs}, runs[0]["study"]
            return [v for v in validations if v.get("model_sha256") in shas and v.get("study") == study]

        def extra(runs):  # a changed plan (a temperature dropped) rebuilds too
            plan = plans.get(runs[0]["study"])
            return networks_validations(runs) + ([plan] if plan else [])

        for _, runs, newest in group_newer(self.diffusivity, self.conductivity, criteria, extra=extra):
            plan = plans.get(runs[0]["study"])
            yield {"study": runs[0]["study"], "substitution_id": runs[0]["substitution_id"], "runs": runs,
                   "validations": networks_validations(runs), "sources_last_updated": newest,
                   "planned_temperatures_K": plan["temperatures_K"] if plan else None}

    def process_item(self, item: dict) -> dict:
        runs = sorted(item["runs"], key=lambda d: d["temperature_K"])
        planned, dropped = item.get("planned_temperatures_K"), []
        if planned is not None:
            dropped = [r["temperature_K"] for r in runs if not any(abs(r["temperature_K"] - t) < 1e-6 for t in planned)]
            runs = [r for r in runs if r["temperature_K"] not in dropped]
        not_planned = [f"runs at {', '.join(f'{t:g}' for t in dropped)} K are not among the study's temperatures "
                       f"({', '.join(f'{t:g}' for t in planned)} K) any more: kept in the database, not fitted"
                       ] if dropped else []
        try:
            if not runs:
                raise DopwfInputError("no MD run at the study's temperatures yet")
            transport = transport_from_runs(runs)
        except DopwfInputError as exc:
            return {"conductivity_id": study_substitution_id(item["study"], item["substitution_id"]),
                    "state": "failed", "error": "; ".join([str(exc), *not_planned])}
        first, fit = runs[0], transport.fit
        validated, validation_notes = validation_status(runs, item.get("validations", []))
        networks = sorted({r.get("model_sha256") or "" for r in runs})
        mixed = [f"the runs come from {len(networks)} networks ({', '.join(n[:12] or '(unknown)' for n in networks)}): "
                 "one Arrhenius fit across networks mixes their physics"] if len(networks) > 1 else []
        return ConductivityDocument(
            substitution_id=first["substitution_id"], study=first["study"], formula=first["formula"],
            dopant_fraction=first["dopant_fraction"], temperatures_K=[d["temperature_K"] for d in runs],
            activation_energy_eV=fit.activation_energy_eV,
            activation_energy_std_eV=_finite(fit.activation_energy_std_eV), prefactor_cm2_s=fit.prefactor_cm2_s,
            extrapolation_temperature_K=transport.at_K, diffusivity_300K_cm2_s=transport.diffusivity_cm2_s,
            diffusivity_300K_95_cm2_s=list(transport.diffusivity_95_cm2_s),
            conductivity_300K_mS_cm=transport.conductivity_mS_cm,
            conductivity_300K_95_mS_cm=list(transport.conductivity_95_mS_cm),
            diffusivity_300K_components_cm2_s=transport.diffusivity_components_cm2_s, linear=fit.linear,
            warnings=list(fit.warnings) + mixed + not_planned, validated=validated, validation_notes=validation_notes,
            model_sha256=networks, builder=type(self).__name__,
            sources_last_updated=item["sources_last_updated"],
        ).model_dump()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.conductivity.update(items)


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else float("nan")
