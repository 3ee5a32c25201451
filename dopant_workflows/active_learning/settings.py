"""The active-learning stage's one settings model (the study file's ``active_learning`` section). Light."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from dopant_workflows.errors import distinct_temperatures
from dopant_workflows.settings_base import StrictSettings

PositiveFloat = Annotated[float, Field(gt=0)]


class ActiveLearningSettings(StrictSettings):
    """DP-GEN's scheme with its usual numbers: trust levels on the maximum committee force deviation (eV/A),
    a cap on frames labelled per round, convergence when few explored frames exceed the lower level.

    ``selection: uniform`` is for a cheap reference (the embedded engines): explored frames are labelled evenly
    along every run and the network's true force error on them decides convergence; no committee is needed."""

    enabled: bool = Field(False, description="explore, label and retrain before the production MD")
    selection: Literal["deviation", "uniform"] = Field(
        "deviation", description="deviation: DP-GEN's committee trust window (any reference, VASP included); "
                                 "uniform: label frames evenly along every exploration run and converge on the "
                                 "network's true force error there (a cheap reference: labels cost less than a "
                                 "second committee member's training)")
    committee_size: int = Field(4, ge=1, le=16, description="networks trained with different seeds and splits "
                                                            "(deviation selection: at least 2)")
    converged_force_rmse_eV_A: float = Field(
        0.15, gt=0, description="uniform selection: converged when the network's force RMSE on the labelled frames "
                                "of every exploration run is at most this (validation's default threshold)")
    trust_lo_eV_A: float = Field(0.10, gt=0, description="below: the committee agrees, the frame is not needed")
    trust_hi_eV_A: float = Field(0.35, gt=0, description="above: too far off for a useful label (often an "
                                                          "unphysical frame); not labelled")
    max_rounds: int = Field(3, ge=1, le=50, description="explore -> label -> retrain cycles at most")
    converged_fraction: float = Field(0.05, gt=0, lt=1, description="stop when fewer explored frames than this "
                                                                     "exceed trust_lo")
    temperatures_K: list[PositiveFloat] | None = Field(None, min_length=1, description="exploration temperatures; "
                                                                                        "default: the study's")
    explore_ps: float = Field(2.0, gt=0, description="ANN-MD per cell and temperature per round (ps)")
    explore_interval_fs: float = Field(20.0, gt=0, description="time between explored frames (fs)")
    max_labels_per_round: int = Field(100, ge=1, description="candidates labelled per round at most (evenly "
                                                             "spread over the candidates)")
    label_beyond_data: bool = Field(
        True, description="explored frames in which the network's core repulsion is active (a pair closer than any "
                          "in its training data: extrapolation by definition) are labelled too, and a round in "
                          "which any explored frame touched it has not converged (no effect without core_repulsion)")
    hand_on: Literal["best", "last"] = Field(
        "best", description="which round's network the study uses when the rounds end: best = the one measured "
                            "best where it was used (uniform: smallest worst-run force RMSE on its own exploration, "
                            "no run blown up; deviation: fewest explored frames above trust_lo), last = the last "
                            "round's (DP-GEN); more data does not always give a better network")
    warm_start: bool = Field(
        True, description="round r > 1 continues from round r - 1's networks (their weights, scaling and split; "
                          "DP-GEN's training_init_model) instead of a fresh random start: the new frames refine "
                          "the fit rather than re-roll it, and training is shorter; false: every round from AMP's "
                          "random start")
    warm_start_max_steps: int | None = Field(
        None, gt=0, description="warm-started rounds: L-BFGS iterations or Adam epochs at most (DP-GEN's "
                                "training_reuse_numb_steps); default the ann section's max_steps")
    confirm_ps: float | None = Field(
        None, gt=0, description="a round that converges is confirmed before its network is handed on: ANN-MD of "
                                "every explored cell for this long (ps) at the hottest exploration temperature, "
                                "judged by the same test (uniform: each run's force RMSE on frames evenly along "
                                "it; deviation: the committee's fraction above trust_lo; either: no blow-up, no "
                                "frame beyond the data). A failed confirmation un-converges the round and its "
                                "labelled frames train the next. Rare failures (a pair driven into the core "
                                "repulsion once in tens of ps) escape 1 ps exploration runs and surface in "
                                "production and validation (bench/results/ranking_seeds.md, seed 2)")
    true_error_frames: int = Field(10, ge=0, description="explored frames labelled at random per round to measure "
                                                         "the true error (embedded reference only)")

    @model_validator(mode="after")
    def _levels(self) -> ActiveLearningSettings:
        if self.selection == "deviation" and self.committee_size < 2:
            raise ValueError(f"committee_size ({self.committee_size}): the deviation selection needs a committee of "
                             "at least 2 (selection: uniform needs none)")
        if self.trust_lo_eV_A >= self.trust_hi_eV_A:
            raise ValueError(f"trust_lo_eV_A ({self.trust_lo_eV_A}) must be below trust_hi_eV_A ({self.trust_hi_eV_A})")
        return self

    @field_validator("temperatures_K")
    @classmethod
    def _distinct(cls, value: list[float] | None) -> list[float] | None:
        return distinct_temperatures(value)
