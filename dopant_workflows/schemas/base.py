"""The base every stored document shares: layout version, when it was written, which code wrote it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from dopant_workflows import __version__


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value) -> datetime:
    """A stored time as an aware datetime: stores hand back datetimes (MongoDB, memory) or ISO strings (JSON files)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return datetime.min.replace(tzinfo=timezone.utc)


class Document(BaseModel):
    schema_version: Literal[1] = Field(1, description="version of this document layout")
    last_updated: datetime = Field(default_factory=utc_now)
    code_version: str = Field(__version__, description="dopant_workflows version that wrote it")


class ResultDocument(Document):
    """A document a builder made from task documents. ``last_updated`` is when it was built: a source document
    newer than it is what makes the builder rebuild it (incremental builds)."""

    builder: str = Field(description="the maggma builder that made it")
    sources_last_updated: datetime = Field(description="the newest source document it was built from")
