"""Plots of the transport analysis (PNG, headless): MSD, Arrhenius with the extrapolation band, RDF, MD traces."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dopant_workflows.analysis.arrhenius import ArrheniusFit  # noqa: E402
from dopant_workflows.analysis.diffusion import A2_PER_FS_TO_CM2_PER_S, DiffusionResult  # noqa: E402
from dopant_workflows.analysis.rdf import RDFResult  # noqa: E402


def save_figure(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_msd(result: DiffusionResult, path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    t_ps = result.msd_time_fs / 1000.0
    ax.plot(t_ps, result.msd_A2, label=f"{result.species} MSD")
    slope_A2_fs = result.diffusivity_cm2_s / A2_PER_FS_TO_CM2_PER_S * 6
    fit_t = result.msd_time_fs[result.msd_time_fs >= result.fit_start_fs]
    ax.plot(fit_t / 1000.0, result.fit_intercept_A2 + slope_A2_fs * fit_t, "--",
            label=f"fit: D = {result.diffusivity_cm2_s:.3g} cm²/s")
    ax.set_xlabel("time lag (ps)")
    ax.set_ylabel("MSD (Å²)")
    title = f"{result.temperature_K:g} K" if result.temperature_K else ""
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def plot_arrhenius(fit: ArrheniusFit, errors_cm2_s, path, extrapolate_to_K: float = 300.0, label: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    t = np.array(fit.temperatures_K)
    d = np.array(fit.diffusivities_cm2_s)
    ax.errorbar(1000.0 / t, d, yerr=None if errors_cm2_s is None else errors_cm2_s, fmt="o", capsize=3,
                label=label or "MD")
    grid = np.linspace(1000.0 / t.max(), 1000.0 / extrapolate_to_K, 100)
    band = np.array([fit.extrapolate(1000.0 / x) for x in grid])
    ax.semilogy(grid, band[:, 0], "-",
                label=f"Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV:.3f} eV")
    if np.all(np.isfinite(band)):
        ax.fill_between(grid, band[:, 1], band[:, 2], alpha=0.25, label="95 % interval")
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("D (cm²/s)")
    if not fit.linear:
        ax.set_title("warning: not one straight line", color="darkred")
    ax.legend()
    return save_figure(fig, path)


def plot_rdf(result: RDFResult, path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.r_A, result.g, label=f"{result.species[0]}–{result.species[1]}")
    ax.fill_between(result.r_A, result.g - 2 * result.g_stderr, result.g + 2 * result.g_stderr, alpha=0.3,
                    label="±2 standard errors")
    if result.first_peak_A is not None:
        ax.axvline(result.first_peak_A, linestyle="--", color="grey", label=f"first peak {result.first_peak_A:.2f} Å")
    ax.axhline(1.0, color="black", linewidth=0.5)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.legend()
    return save_figure(fig, path)


def plot_md_log(log_csv, path) -> Path:
    rows = list(csv.DictReader(open(log_csv, newline="")))
    t = np.array([float(r["time_fs"]) for r in rows]) / 1000.0
    fig, (ax_t, ax_e) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    ax_t.plot(t, [float(r["temperature_K"]) for r in rows])
    ax_t.set_ylabel("T (K)")
    ax_e.plot(t, [float(r["potential_energy_eV"]) for r in rows], label="potential")
    ax_e.plot(t, [float(r["potential_energy_eV"]) + float(r["kinetic_energy_eV"]) for r in rows], label="total")
    ax_e.set_ylabel("energy (eV)")
    ax_e.set_xlabel("time (ps)")
    ax_e.legend()
    for stage in ("equilibration", "production"):
        starts = [x for x, r in zip(t, rows, strict=True) if r["stage"] == stage]
        if starts:
            for ax in (ax_t, ax_e):
                ax.axvline(starts[0], color="grey", linestyle=":")
    return save_figure(fig, path)
