"""What a study asks for now: written when the study is submitted or run, read by the builders, so that runs of a
temperature the study file no longer lists (kept in the database) are not fitted into its results."""

from __future__ import annotations

from pydantic import Field

from dopant_workflows.schemas.base import Document


class StudyPlanDocument(Document):
    """One per study (key ``study``), replaced at every submission: the latest study file wins."""

    study: str
    temperatures_K: list[float] = Field(description="the study's MD temperatures (K), what its Arrhenius fits use")
    substitution_ids: list[str]
    engine: str
