"""The base of every settings model (study file sections, stage settings, Firetask parameters).

At the root of the package, beside ``errors`` and ``names``: the physics layers' settings derive from it, and they
must not import ``schemas`` (which sits above them).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictSettings(BaseModel):
    """Unknown keys are refused (a typo in a study file is an error, not a silent default), values cannot be changed
    once validated, and inf/nan are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def as_record(self) -> dict:
        """JSON-ready (lists, not tuples): for documents, run files (training.json, round.json) and Firetask
        parameters."""
        return self.model_dump(mode="json")
