"""The paper's Fig. 5a for any network: D(T) from reference MD and from ANN-MD of the same cell, both Arrhenius
lines with their 95 % bands, extrapolated to 300 K."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dopant_workflows.analysis.arrhenius import ArrheniusFit  # noqa: E402
from dopant_workflows.analysis.plots import save_figure  # noqa: E402


def plot_validation(points: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                    fits: dict[str, ArrheniusFit | None], path, title: str = "",
                    extrapolate_to_K: float = 300.0) -> Path:
    """``points[label] = (T, D, sigma)`` and ``fits[label]`` for 'reference ...' and 'ANN-MD' (any labels)."""
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    for (label, (t, d, err)), colour in zip(points.items(), ("black", "tab:red", "tab:blue", "tab:green"),
                                             strict=False):
        err = np.where(np.isfinite(err), err, 0.0)
        ax.errorbar(1000.0 / t, d, yerr=err, fmt="o" if colour == "black" else "s", color=colour, capsize=3,
                    mfc="none" if colour == "black" else colour)
        fit = fits.get(label)
        if fit is None:
            ax.plot([], [], color=colour, label=f"{label}: no fit")
            continue
        grid = np.linspace(1000.0 / max(fit.temperatures_K), 1000.0 / extrapolate_to_K, 100)
        band = np.array([fit.extrapolate(1000.0 / x) for x in grid])
        ax.plot(grid, band[:, 0], "-" if colour == "black" else "--", color=colour,
                label=f"{label}: Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV:.3f} eV")
        if np.all(np.isfinite(band)):
            ax.fill_between(grid, band[:, 1], band[:, 2], color=colour, alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("Li D (cm²/s)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
