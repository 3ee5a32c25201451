"""The training stage's one settings model. Light on purpose: study files are validated without loading torch."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dopant_workflows.settings_base import StrictSettings

DEFAULT_CUTOFF_A = 6.5  # the paper's cosine cutoff


class TrainingSettings(StrictSettings):
    """The training stage's one settings model (the study file's ``ann`` section, ``dopwf ann train``'s defaults,
    the training Firetask's parameters); defaults follow the paper and AMP."""

    descriptor: Literal["gaussian", "gaussian-radial8", "gaussian-g2", "zernike-nmax5", "zernike-nmax7",
                        "zernike-nmax12"] = Field(
        "gaussian", description="descriptor: gaussian (AMP's default G2/G4, the paper's), gaussian-radial8 (8 G2 "
                                "widths + AMP's G4), gaussian-g2 (AMP's G2 only), zernike-nmaxN (AMP's Zernike "
                                "descriptor, default coefficients: nmax 5 / 7 / 12 give the paper's 12 / 20 / 49 "
                                "functions)")
    cutoff_A: float = Field(DEFAULT_CUTOFF_A, gt=0, description="cosine cutoff radius (A)")
    hidden_layers: tuple[Annotated[int, Field(gt=0)], ...] = Field(
        (5, 5), min_length=1, description="nodes per hidden layer, e.g. [5, 5]")
    activation: Literal["tanh", "sigmoid", "linear"] = Field("tanh", description="hidden-layer activation (AMP's)")
    energy_coefficient: float = Field(1.0, ge=0, description="weight of the energy term of AMP's loss")
    force_coefficient: float = Field(
        0.04, ge=0, description="AMP's default weight of the force term (0: energies only)")
    overfit: float = Field(
        0.0, ge=0, description="AMP's overfit penalty: + overfit x sum of squared network weights and biases (not the "
                               "output scaling); larger weights extrapolate more wildly outside the training data")
    optimizer: Literal["lbfgs", "adam"] = Field(
        "lbfgs", description="lbfgs: full batch (AMP/the paper: BFGS); adam: minibatches, for large sets")
    max_steps: int = Field(5000, gt=0, description="L-BFGS iterations or Adam epochs")
    learning_rate: float = Field(1e-2, gt=0, description="Adam, first epoch")
    final_learning_rate: float = Field(1e-4, gt=0, description="Adam, last epoch (exponential decay in between)")
    batch_size: int = Field(32, gt=0, description="Adam: images per step")
    patience: int = Field(20, gt=0, description="validation checks without improvement before stopping")
    validate_every: int = Field(10, gt=0, description="L-BFGS iterations between validation checks (Adam: every epoch)")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="images held out for the final test")
    validation_fraction: float = Field(
        0.1, gt=0, lt=1, description="fraction of the non-test images for early stopping")
    jacobian_memory_GB: float = Field(
        8.0, ge=0, description="memory for the stored descriptor Jacobian of the training and validation images "
                               "(12 bytes per pair and function the pair moves; ~10x faster force training); "
                               "above it, recomputed at every step")
    seed: int = Field(0, description="split, initial weights, minibatch order")
    core_repulsion: bool = Field(True, description="wall beneath the closest approach of each element pair in the "
                                                   "training data (zero where the network was trained)")

    @model_validator(mode="after")
    def _consistent(self) -> TrainingSettings:
        if self.energy_coefficient == 0 and self.force_coefficient == 0:
            raise ValueError("energy_coefficient and force_coefficient: not both 0")
        if self.final_learning_rate > self.learning_rate:
            raise ValueError("final_learning_rate: expected <= learning_rate")
        return self
