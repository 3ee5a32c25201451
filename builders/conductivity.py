"""diffusivity -> conductivity: per substitution, the Arrhenius fit and its 300 K extrapolation."""

from __future__ import annotations

import numpy as np
from maggma.core import Builder

from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import ConductivityDocument


def group_newer(sources, target, key: str = "substitution_id", extra=None):
    """(group key, source documents, newest source time) of every group with a source document newer than the
    sources its target document was built from (or with no target document yet). ``extra(documents)`` gives
    further source documents of a group (e.g. its networks' validation documents) whose times count too."""
    built = {d[key]: as_utc(d.get("sources_last_updated")) for d in target.query(
        properties=[key, "sources_last_updated"])}
    groups: dict[str, list[dict]] = {}
    for document in sources.query():
        groups.setdefault(document[key], []).append(document)
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
    """Rebuilds a substitution whenever one of its diffusivity documents is newer than its conductivity document's
    sources (a new temperature, or a run redone in place)."""

    def __init__(self, diffusivity, conductivity, validation=None, **kwargs):
        self.diffusivity, self.conductivity, self.validation = diffusivity, conductivity, validation
        sources = [diffusivity] + ([validation] if validation is not None else [])
        super().__init__(sources=sources, targets=[conductivity], **kwargs)

    def get_items(self):
        validations = list(self.validation.query()) if self.validation is not None else []

        def networks_validations(runs):
            shas = {r.get("model_sha256") for r in runs}
            return [v for v in validations if v.get("model_sha256") in shas]

        for sub_id, runs, newest in group_newer(self.diffusivity, self.conductivity, extra=networks_validations):
            yield {"substitution_id": sub_id, "runs": runs, "validations": networks_validations(runs),
                   "sources_last_updated": newest}

    def process_item(self, item: dict) -> dict:
        runs = sorted(item["runs"], key=lambda d: d["temperature_K"])
        try:
            transport = transport_from_runs(runs)
        except DopwfInputError as exc:
            return {"substitution_id": item["substitution_id"], "state": "failed", "error": str(exc)}
        first, fit = runs[0], transport.fit
        validated, validation_notes = validation_status(runs, item.get("validations", []))
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
            warnings=list(fit.warnings), validated=validated, validation_notes=validation_notes,
            model_sha256=sorted({r.get("model_sha256") or "" for r in runs}), builder=type(self).__name__,
            sources_last_updated=item["sources_last_updated"],
        ).model_dump()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.conductivity.update(items)


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else float("nan")
