"""diffusivity -> conductivity: per substitution, the Arrhenius fit and its 300 K extrapolation."""

from __future__ import annotations

import numpy as np
from maggma.core import Builder

from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import ConductivityDocument


def group_newer(sources, target, key: str = "substitution_id"):
    """(group key, source documents, newest source time) of every group with a source document newer than the
    sources its target document was built from (or with no target document yet)."""
    built = {d[key]: as_utc(d.get("sources_last_updated")) for d in target.query(
        properties=[key, "sources_last_updated"])}
    groups: dict[str, list[dict]] = {}
    for document in sources.query():
        groups.setdefault(document[key], []).append(document)
    for group, documents in groups.items():
        newest = max(as_utc(d.get("last_updated")) for d in documents)
        if group not in built or newest > built[group]:
            yield group, documents, newest


class ConductivityBuilder(Builder):
    """Rebuilds a substitution whenever one of its diffusivity documents is newer than its conductivity document's
    sources (a new temperature, or a run redone in place)."""

    def __init__(self, diffusivity, conductivity, **kwargs):
        self.diffusivity, self.conductivity = diffusivity, conductivity
        super().__init__(sources=[diffusivity], targets=[conductivity], **kwargs)

    def get_items(self):
        for sub_id, runs, newest in group_newer(self.diffusivity, self.conductivity):
            yield {"substitution_id": sub_id, "runs": runs, "sources_last_updated": newest}

    def process_item(self, item: dict) -> dict:
        runs = sorted(item["runs"], key=lambda d: d["temperature_K"])
        try:
            transport = transport_from_runs(runs)
        except DopwfInputError as exc:
            return {"substitution_id": item["substitution_id"], "state": "failed", "error": str(exc)}
        first, fit = runs[0], transport.fit
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
            warnings=list(fit.warnings), builder=type(self).__name__,
            sources_last_updated=item["sources_last_updated"],
        ).model_dump()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.conductivity.update(items)


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else float("nan")
