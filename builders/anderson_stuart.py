"""diffusivity + dielectric + conductivity -> anderson_stuart: the paper's Table 3, one document per study and
composition (its arrangements' runs give lambda; its dielectric record is matched by formula)."""

from __future__ import annotations

from maggma.core import Builder

from builders.conductivity import composition_of, drop_legacy, group_of, study_query
from dopant_workflows.analysis.transport import anderson_stuart_from_run
from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import AndersonStuartDocument


class AndersonStuartBuilder(Builder):
    """Reprocesses a (study, composition) only when one of its source documents is newer than the sources its
    target was built from (a conductivity document's ``last_updated`` is when its Ea was last computed).
    ``study``: that study only (default: every study, each on its own)."""

    def __init__(self, diffusivity, dielectric, conductivity, anderson_stuart, study: str | None = None, **kwargs):
        self.diffusivity, self.dielectric = diffusivity, dielectric
        self.conductivity, self.anderson_stuart, self.study = conductivity, anderson_stuart, study
        super().__init__(sources=[diffusivity, dielectric, conductivity], targets=[anderson_stuart], **kwargs)

    def get_items(self):
        criteria = study_query(self.study)
        drop_legacy(self.anderson_stuart)
        built = {d[self.anderson_stuart.key]: as_utc(d.get("sources_last_updated")) for d in self.anderson_stuart.query(
            criteria, properties=[self.anderson_stuart.key, "sources_last_updated"])}
        groups: dict[str, dict] = {}
        for d in self.diffusivity.query(criteria):
            groups.setdefault(group_of(d), {"diffusivity": [], "dielectric": None, "conductivity": None})
            groups[group_of(d)]["diffusivity"].append(d)
        for name, store in (("dielectric", self.dielectric), ("conductivity", self.conductivity)):
            # the newest of a group's documents (a database from before keys held the study may hold two)
            for d in sorted(store.query(criteria), key=lambda d: as_utc(d.get("last_updated"))):
                if group_of(d) in groups:
                    groups[group_of(d)][name] = d
        for group, bundle in groups.items():
            docs = bundle["diffusivity"] + [x for x in (bundle["dielectric"], bundle["conductivity"]) if x]
            newest = max(as_utc(d.get("last_updated")) for d in docs)
            if group not in built or newest > built[group]:
                first = bundle["diffusivity"][0]
                yield {"study": first["study"], "composition_id": composition_of(first), **bundle,
                       "sources_last_updated": newest}

    def process_item(self, item: dict) -> dict:
        runs = item["diffusivity"]
        first = runs[0]
        conductivity = item["conductivity"] or {}
        fitted = conductivity.get("temperatures_K")
        if fitted:  # the runs the Arrhenius fit used (not those of a temperature the study no longer lists)
            runs = [r for r in runs if r["temperature_K"] in fitted] or runs
        peaks = [t["rdf_first_peak_A"] for t in runs if t.get("rdf_first_peak_A")]
        jump = sum(peaks) / len(peaks) if peaks else None
        dielectric = item["dielectric"] or {}
        eps, source = dielectric.get("eps_r"), dielectric.get("source") or "missing: no dielectric document"
        barrier = anderson_stuart_from_run(first, first["dopant"], first.get("dopant_oxidation_state"), jump, eps,
                                           source)
        return AndersonStuartDocument(
            composition_id=item["composition_id"], study=first["study"], formula=first["formula"],
            dopant=first["dopant"], jump_distance_A=jump, r_cation_A=barrier.r_cation_A, r_anion_A=barrier.r_anion_A,
            epsilon_r=eps, epsilon_r_source=source, barrier_eV=barrier.barrier_eV,
            missing_reason=barrier.missing_reason,
            arrhenius_activation_energy_eV=conductivity.get("activation_energy_eV"),
            validated=conductivity.get("validated"),
            builder=type(self).__name__, sources_last_updated=item["sources_last_updated"],
        ).model_dump()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.anderson_stuart.update(items)
