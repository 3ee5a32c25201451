"""diffusivity + dielectric + conductivity -> anderson_stuart: the paper's Table 3, one document per substitution."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from maggma.core import Builder

from dopant_workflows.analysis.conductivity import anderson_stuart_barrier_eV, effective_radius_A
from dopant_workflows.schemas.results import AndersonStuartDocument


class AndersonStuartBuilder(Builder):
    """Reprocesses a substitution only when one of its source documents is newer than its target document."""

    def __init__(self, diffusivity, dielectric, conductivity, anderson_stuart, **kwargs):
        self.diffusivity, self.dielectric = diffusivity, dielectric
        self.conductivity, self.anderson_stuart = conductivity, anderson_stuart
        super().__init__(sources=[diffusivity, dielectric, conductivity], targets=[anderson_stuart], **kwargs)

    def get_items(self):
        done = {d["substitution_id"]: _time(d.get("last_updated")) for d in self.anderson_stuart.query(
            properties=["substitution_id", "last_updated"])}
        by_sub: dict[str, dict] = {}
        for d in self.diffusivity.query():
            by_sub.setdefault(d["substitution_id"], {"diffusivity": [], "dielectric": None, "conductivity": None})
            by_sub[d["substitution_id"]]["diffusivity"].append(d)
        for d in self.dielectric.query():
            if d["substitution_id"] in by_sub:
                by_sub[d["substitution_id"]]["dielectric"] = d
        for d in self.conductivity.query():
            if d["substitution_id"] in by_sub:
                by_sub[d["substitution_id"]]["conductivity"] = d
        for sub_id, bundle in by_sub.items():
            docs = bundle["diffusivity"] + [x for x in (bundle["dielectric"], bundle["conductivity"]) if x]
            # a conductivity document keeps its sources' last_updated when rebuilt; its build time (_bt) is when
            # its Ea changed, so that is what counts here
            newest = max(_time(d.get("_bt") or d.get("last_updated")) if d is bundle["conductivity"]
                         else _time(d.get("last_updated")) for d in docs)
            if sub_id not in done or newest > done[sub_id]:
                yield {"substitution_id": sub_id, **bundle, "last_updated": newest}

    def process_item(self, item: dict) -> dict:
        tasks = item["diffusivity"]
        first = tasks[0]
        peaks = [t["rdf_first_peak_A"] for t in tasks if t.get("rdf_first_peak_A")]
        jump = float(np.mean(peaks)) if peaks else None
        n_total = sum(first["composition"].values())
        r_cation = effective_radius_A(first["volume_A3"], first["n_carriers"], n_total)
        r_anion = effective_radius_A(first["volume_A3"], first["composition"].get(first["dopant"], 0), n_total)
        dielectric = item["dielectric"] or {}
        eps = dielectric.get("eps_r")
        source = dielectric.get("source") or "missing: no dielectric document for this substitution"
        missing = None
        barrier = None
        if eps is None:
            missing = source if source.startswith("missing") else f"eps_r missing ({source})"
        elif jump is None:
            missing = "no Li-Li RDF first peak (lambda) in the MD runs"
        elif r_anion == 0:
            missing = f"no {first['dopant']} in the cell: no anion radius"
        else:
            barrier = anderson_stuart_barrier_eV(jump, r_cation, r_anion, eps)
        conductivity = item["conductivity"] or {}
        document = AndersonStuartDocument(
            substitution_id=item["substitution_id"], study=first["study"], formula=first["formula"],
            dopant=first["dopant"], jump_distance_A=jump, r_cation_A=r_cation, r_anion_A=r_anion, epsilon_r=eps,
            epsilon_r_source=source, barrier_eV=barrier, missing_reason=missing,
            arrhenius_activation_energy_eV=conductivity.get("activation_energy_eV"),
        ).model_dump()
        document["last_updated"] = item["last_updated"]
        return document

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.anderson_stuart.update(items)


def _time(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return datetime.min.replace(tzinfo=timezone.utc)
