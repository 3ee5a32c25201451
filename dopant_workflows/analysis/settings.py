"""The analysis stage's one settings model: which species diffuses and which part of the MSD is fitted."""

from __future__ import annotations

from pydantic import Field

from dopant_workflows.analysis.diffusion import FIT_START_MSD_A2
from dopant_workflows.settings_base import StrictSettings


class AnalysisSettings(StrictSettings):
    """Which species diffuses, and which part of its mean squared displacement is fitted for D."""

    species: str = Field("Li", min_length=1, description="the mobile ion whose D and conductivity are reported")
    fit_start_msd_A2: float = Field(
        FIT_START_MSD_A2, ge=0, description="the MSD fit starts no earlier than where the MSD per ion reaches this "
                                            "(A^2; He et al. 2018: 0.5 a^2, a = 3 A; 0: off)")
    fit_start_fraction: float = Field(0.1, gt=0, lt=0.5, description="the MSD is fitted from this fraction of the "
                                                                      "run to half of it (ballistic part skipped)")
