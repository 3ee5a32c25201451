"""Training plots like the paper's Fig. 4: learning curve, parity and residuals (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_training_curve(history, path: str | Path, best_step: int | None = None) -> Path:
    """Training and validation loss, and validation RMSEs, against the optimiser step."""
    fig, (ax_loss, ax_rmse) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.semilogy(history.step, history.train_loss, label="train")
    ax_loss.semilogy(history.step, history.validation_loss, label="validation")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_rmse.semilogy(history.step, history.validation_energy_rmse_eV_atom, label="energy (eV/atom)")
    if np.isfinite(history.validation_force_rmse_eV_A).any():
        ax_rmse.semilogy(history.step, history.validation_force_rmse_eV_A, label="force (eV/Å)")
    ax_rmse.set_xlabel("step")
    ax_rmse.set_ylabel("validation RMSE")
    for ax in (ax_loss, ax_rmse):
        if best_step is not None:
            ax.axvline(best_step, color="grey", linestyle="--", linewidth=1, label=f"kept (step {best_step})")
        ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_parity(reference_energy_eV_atom, predicted_energy_eV_atom, reference_forces_eV_A, predicted_forces_eV_A,
                path: str | Path, title: str = "") -> Path:
    """Predicted against reference energies per atom and force components, with RMSEs."""
    panels = 1 if reference_forces_eV_A is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.5), squeeze=False)
    data = [(reference_energy_eV_atom, predicted_energy_eV_atom, "energy (eV/atom)")]
    if reference_forces_eV_A is not None:
        data.append((np.ravel(reference_forces_eV_A), np.ravel(predicted_forces_eV_A), "force component (eV/Å)"))
    for ax, (ref, pred, label) in zip(axes[0], data, strict=True):
        ax.scatter(ref, pred, s=4, alpha=0.5)
        lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=1)
        rmse = float(np.sqrt(np.mean((pred - ref) ** 2)))
        ax.set_title(f"{title} RMSE {rmse:.3g}")
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"network {label}")
    fig.tight_layout()
    return _save(fig, path)


def plot_residuals(reference_energy_eV_atom, predicted_energy_eV_atom, path: str | Path, title: str = "") -> Path:
    """Energy residuals against reference energy (the paper's Fig. 4b/c), dashed lines at +-RMSE."""
    residual = predicted_energy_eV_atom - reference_energy_eV_atom
    rmse = float(np.sqrt(np.mean(residual**2)))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(reference_energy_eV_atom, residual, s=5, alpha=0.6)
    for y in (rmse, -rmse):
        ax.axhline(y, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("reference energy (eV/atom)")
    ax.set_ylabel("residual (eV/atom)")
    ax.set_title(f"{title} energy RMSE {rmse:.3g} eV/atom")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
