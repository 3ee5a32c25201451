"""The dielectric stage computed rather than copied: the study's ``dielectric_calculation`` section.

With it, every composition's dielectric Firework runs CP2K on the composition's cell (its first arrangement): the
electronic tensor from linear response and, with ``ionic`` (the default), the ionic tensor from Born effective
charges and Gamma-point force constants by finite displacements, on positions relaxed first in the fixed cell. The
static eps_r = electronic + ionic is what the Anderson-Stuart barrier uses (the paper's DFPT value); an electronic
part alone is recorded, but eps_r is then missing and says why: eps_inf is not the static constant.

Cost: the ionic part is 6N + 1 CP2K runs of the N-atom cell after the relaxation (901 single points of a 150-atom
cell for each of the paper's compositions: a cluster's job); the electronic part is one linear-response run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.settings_base import StrictSettings


class DielectricCalculation(StrictSettings):
    """How each composition's eps_r is computed (engine, which parts, relaxation, CP2K's level of theory)."""

    engine: Literal["cp2k"] = Field("cp2k", description="the engine: cp2k (linear response + finite displacements)")
    ionic: bool = Field(True, description="also the ionic part (6N + 1 runs), giving the static eps_r the "
                                          "Anderson-Stuart model needs; false: electronic part only, eps_r missing")
    relax: bool = Field(True, description="relax the positions (fixed cell) first; finite displacements need a cell "
                                          "at its energy minimum")
    displacement_A: float = Field(0.01, gt=0, le=0.05, description="finite-displacement step (A)")
    cp2k: Cp2kSettings | None = Field(None, description="CP2K's level of theory; default: the study's labels.cp2k "
                                                        "when it labels with CP2K, else CP2K's defaults")
