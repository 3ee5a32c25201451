"""Labels at a higher level of theory than the engine that explores: the study's ``labels`` section.

The study's ``engine`` (CHGNet on a laptop) runs the reference MD that proposes configurations; with ``labels``, the
frames the network trains on are labelled by ``labels.engine`` instead (CP2K DFT): an evenly spaced selection of the
reference MD's frames, and every frame active learning labels. The network then learns DFT while CHGNet only
proposes where to look. One training set never mixes the labels of two engines (``ann.dataset`` refuses it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.settings_base import StrictSettings


class LabelSettings(StrictSettings):
    """Which engine labels the training frames, with its settings, and how many reference-MD frames it labels."""

    engine: Literal["cp2k"] = Field("cp2k", description="the labelling engine: cp2k (DFT; docs/engines.md#cp2k)")
    cp2k: Cp2kSettings = Field(default_factory=Cp2kSettings, description="CP2K's level of theory, grids, SCF "
                                                                         "and threads")
    reference_frames: int = Field(60, ge=3, description="frames of the reference MD (all its runs together, evenly "
                                                        "spaced) relabelled for the first network")
