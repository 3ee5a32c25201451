"""Errors of a potential on reference images (AMP's RMSE definitions) and the plots that show them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dopant_workflows.ann.dataset import ReferenceImage
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.plots import plot_parity, plot_residuals


@dataclass(frozen=True)
class ErrorMetrics:
    """energy RMSE per atom: sqrt(mean_img ((E_pred - E_ref) / N)^2); force RMSE:
    sqrt(mean_img mean_(atoms,xyz) dF^2)."""

    energy_rmse_eV_atom: float
    force_rmse_eV_A: float | None
    energy_max_error_eV_atom: float
    n_images: int


def error_metrics(reference_energies_eV: np.ndarray, predicted_energies_eV: np.ndarray, n_atoms: np.ndarray,
                  reference_forces_eV_A: np.ndarray | None = None, predicted_forces_eV_A: np.ndarray | None = None,
                  image_of_atom: np.ndarray | None = None) -> ErrorMetrics:
    per_atom = (predicted_energies_eV - reference_energies_eV) / n_atoms
    force_rmse = None
    if reference_forces_eV_A is not None and predicted_forces_eV_A is not None:
        squared = ((predicted_forces_eV_A - reference_forces_eV_A) ** 2).sum(axis=1)
        per_image = np.bincount(image_of_atom, squared, minlength=len(n_atoms)) / (3 * n_atoms)
        force_rmse = float(np.sqrt(per_image.mean()))
    return ErrorMetrics(float(np.sqrt(np.mean(per_atom**2))), force_rmse, float(np.abs(per_atom).max()),
                        len(n_atoms))


@dataclass(frozen=True)
class Evaluation:
    metrics: ErrorMetrics
    reference_energy_eV_atom: np.ndarray
    predicted_energy_eV_atom: np.ndarray
    reference_forces_eV_A: np.ndarray | None
    predicted_forces_eV_A: np.ndarray | None

    def write_plots(self, out_dir: str | Path, label: str) -> list[Path]:
        out_dir = Path(out_dir)
        return [
            plot_parity(self.reference_energy_eV_atom, self.predicted_energy_eV_atom, self.reference_forces_eV_A,
                        self.predicted_forces_eV_A, out_dir / f"parity_{label}.png", title=label),
            plot_residuals(self.reference_energy_eV_atom, self.predicted_energy_eV_atom,
                           out_dir / f"residuals_{label}.png", title=label),
        ]


def evaluate_potential(potential: BPNNPotential, images: Sequence[ReferenceImage],
                       progress: bool = False) -> Evaluation:
    """Predict every image with the production (compiled) path and compare with the references."""
    with_forces = all(image.forces_eV_A is not None for image in images)
    energies, forces = [], []
    for image in tqdm(images, desc="evaluating", unit="image", disable=not progress, leave=False):
        result = potential.evaluate(image.atoms, forces=with_forces)
        energies.append(result.energy_eV)
        if with_forces:
            forces.append(result.forces_eV_A)
    n_atoms = np.array([len(image.atoms) for image in images])
    reference = np.array([image.energy_eV for image in images])
    predicted = np.array(energies)
    ref_f = np.concatenate([image.forces_eV_A for image in images]) if with_forces else None
    pred_f = np.concatenate(forces) if with_forces else None
    metrics = error_metrics(reference, predicted, n_atoms, ref_f, pred_f, np.repeat(np.arange(len(images)), n_atoms))
    return Evaluation(metrics, reference / n_atoms, predicted / n_atoms, ref_f, pred_f)
