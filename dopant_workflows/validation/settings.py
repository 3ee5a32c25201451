"""The validation stage's one settings model (the study file's ``validation`` section). Light: no MD imports."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from dopant_workflows.errors import distinct_temperatures
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.settings_base import StrictSettings

PositiveFloat = Annotated[float, Field(gt=0)]


class ValidationThresholds(StrictSettings):
    """What a network must reproduce to pass. Defaults: the paper's evidence (Fig. 5a, Table 2 LGPS rows) made
    into numbers: D within a factor 1.33 or 2 combined sigma at every temperature, Ea within 0.05 eV, forces on
    its own ANN-MD frames within 0.15 eV/A RMSE, and a core repulsion that stays a safety net (<= 0.05 eV)."""

    diffusivity_ratio: float = Field(1.33, gt=1, description="D_ann / D_ref (or its inverse) may be at most this")
    diffusivity_sigmas: float = Field(2.0, gt=0, description="... or |D_ann - D_ref| within this many combined sigma")
    activation_energy_eV: float = Field(0.05, gt=0, description="|Ea_ann - Ea_ref| at most this (eV)")
    activation_energy_sigma_eV: float = Field(
        0.05, gt=0, description="... measured to a combined standard error of at most this (eV): a difference known "
                                "less precisely than the threshold proves nothing either way (more runs sharpen it)")
    force_rmse_eV_A: float = Field(0.15, gt=0, description="force RMSE on ANN-MD frames relabelled by the reference, "
                                                           "at every temperature (eV/A)")
    core_repulsion_eV: float = Field(0.05, ge=0, description="largest core-repulsion energy allowed in any "
                                                              "production sample of the network's MD (eV)")


class ValidationSettings(StrictSettings):
    """Reference MD and ANN-MD of the network's own training cell (optionally repeated) with the study's protocol,
    ``seeds`` independent runs of each per temperature; then the comparison. On by default."""

    enabled: bool = Field(True, description="false: no validation (the study's documents then say 'not validated')")
    temperatures_K: list[PositiveFloat] | None = Field(
        None, min_length=2, description="default: the study's temperatures; at least two (both Arrhenius fits)")
    seeds: int = Field(2, ge=1, le=32, description="independent runs per temperature and engine (D's uncertainty "
                                                    "from one short run of a small cell is large)")
    ann_seeds: int | None = Field(None, ge=1, le=64, description="ANN-MD runs per temperature, if not ``seeds``: "
                                                                  "ANN-MD costs a fraction of the reference MD, so "
                                                                  "extra ANN runs sharpen the comparison cheaply")
    max_seeds: int | None = Field(
        None, ge=1, le=32,
        description="an activation-energy check left inconclusive for want of runs (every other check passed, the "
                    "difference known less well than thresholds.activation_energy_sigma_eV) adds runs as a detour "
                    "and compares again, up to this many reference runs per temperature (ANN runs in the proportion "
                    "of ann_seeds to seeds); None: the verdict stands as first measured. Embedded engine only")
    supercell: tuple[Annotated[int, Field(ge=1, le=8)], ...] = Field(
        (1, 1, 1), min_length=3, max_length=3, description="repeat of the training cell that is simulated")
    protocol: MDProtocol | None = Field(None, description="default: the study's protocol")
    relabel_frames: int = Field(20, ge=1, description="production frames of each ANN-MD run relabelled by the "
                                                       "reference engine (the network's error where it is used)")
    thresholds: ValidationThresholds = Field(default_factory=ValidationThresholds,
                                             description="what the network must reproduce to pass")

    @field_validator("temperatures_K")
    @classmethod
    def _distinct(cls, value: list[float] | None) -> list[float] | None:
        return distinct_temperatures(value)

    @model_validator(mode="after")
    def _max_seeds_above_seeds(self) -> ValidationSettings:
        if self.max_seeds is not None and self.max_seeds < self.seeds:
            raise ValueError(f"max_seeds {self.max_seeds} is below seeds {self.seeds}: expected the most reference "
                             "runs per temperature an inconclusive check may grow to, at least seeds")
        return self

    def runs_per_temperature(self, role: str) -> int:
        """Independent runs per temperature of ``role`` (reference or ann)."""
        return self.ann_seeds or self.seeds if role == "ann" else self.seeds

    def run_keys(self) -> list[tuple[str, int]]:
        """(role, k) of the runs at one temperature: run k of each engine side by side, extra ANN runs last."""
        most = max(self.runs_per_temperature("reference"), self.runs_per_temperature("ann"))
        return [(role, k) for k in range(most) for role in ("reference", "ann") if k < self.runs_per_temperature(role)]
