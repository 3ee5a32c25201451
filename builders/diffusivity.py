"""md_tasks -> diffusivity: one document per substitution and temperature."""

from __future__ import annotations

from maggma.builders import MapBuilder

from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import DiffusivityDocument


class DiffusivityBuilder(MapBuilder):
    """``study``: map that study's runs only (default: every study; task ids hold the study)."""

    def __init__(self, md_tasks, diffusivity, study: str | None = None, **kwargs):
        self.md_tasks, self.diffusivity, self.study = md_tasks, diffusivity, study
        if study:
            kwargs["query"] = {**(kwargs.get("query") or {}), "study": study}
        super().__init__(source=md_tasks, target=diffusivity, **kwargs)

    def unary_function(self, item: dict) -> dict:
        fields = DiffusivityDocument.model_fields
        protocol = item.get("protocol") or {}
        return DiffusivityDocument(**{k: v for k, v in item.items() if k in fields and k not in (
            "schema_version", "last_updated", "code_version", "production_ps")},
            production_ps=protocol.get("production_ps"), builder=type(self).__name__,
            sources_last_updated=as_utc(item.get("last_updated"))).model_dump()
