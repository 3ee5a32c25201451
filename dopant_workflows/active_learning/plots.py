"""Active-learning figures: one round's deviation histogram with the trust levels and the true error against the
deviation; the rounds of a study side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dopant_workflows.active_learning.settings import ActiveLearningSettings  # noqa: E402
from dopant_workflows.analysis.plots import save_figure  # noqa: E402


def plot_deviations(deviations: np.ndarray, settings: ActiveLearningSettings, true_error: dict, path,
                    title: str = "") -> Path:
    fig, (hist, scatter) = plt.subplots(1, 2, figsize=(10, 4))
    finite = deviations[np.isfinite(deviations)]
    right = 1.2 * max(float(finite.max()) if len(finite) else 0.0, settings.trust_lo_eV_A)
    if len(finite):
        hist.hist(finite, bins=40, range=(0, right), color="tab:gray")
    hist.set_xlim(0, right)
    for level, name in ((settings.trust_lo_eV_A, "trust_lo"), (settings.trust_hi_eV_A, "trust_hi")):
        if level > right:
            continue
        hist.axvline(level, color="tab:red", linestyle="--")
        hist.text(level, hist.get_ylim()[1] * 0.9, f" {name}", color="tab:red", fontsize=8)
    hist.set_xlabel("max committee force deviation (eV/Å)")
    hist.set_ylabel("explored frames")
    hist.set_title(title, fontsize=9)
    for kind, colour in (("random", "tab:blue"), ("selected", "tab:orange")):
        x, y = true_error.get(f"{kind}_deviation_eV_A", []), true_error.get(f"{kind}_per_frame_rmse_eV_A", [])
        if len(x) and len(y):
            scatter.scatter(x, y, s=12, color=colour, label=f"{kind} frames")
    scatter.set_xlabel("max committee force deviation (eV/Å)")
    scatter.set_ylabel("true force RMSE of the network (eV/Å)")
    if scatter.get_legend_handles_labels()[0]:
        scatter.legend(fontsize=8)
    return save_figure(fig, path)


def plot_rounds(rounds: Sequence[dict], path, title: str = "") -> Path:
    """Per round: fraction of explored frames above trust_lo (uniform selection: the worst run's true error), true
    error on random explored frames, training set."""
    rounds = sorted(rounds, key=lambda d: d["round"])
    x = [d["round"] for d in rounds]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if all(d.get("fraction_above_lo") is not None for d in rounds):
        left.plot(x, [100 * d["fraction_above_lo"] for d in rounds], "o-", label="explored frames above trust_lo (%)")
        converged = rounds[0]["settings"]["converged_fraction"] * 100 if rounds else 5
        left.axhline(converged, color="tab:green", linestyle="--", label="converged below")
        left.set_ylabel("%")
    else:  # uniform selection: the worst run's true error is what decides convergence
        left.plot(x, [d["true_error"].get("worst_run_force_rmse_eV_A") or np.nan for d in rounds], "o-",
                  label="worst exploration run")
        left.axhline(rounds[0]["settings"]["converged_force_rmse_eV_A"], color="tab:green", linestyle="--",
                     label="converged at or below")
        left.set_ylabel("force RMSE vs reference (eV/Å)")
    left.set_xlabel("round")
    left.legend(fontsize=8)
    right.plot(x, [d["true_error"].get("random_force_rmse_eV_A") or np.nan for d in rounds], "o-",
               label="random explored frames")
    right.plot(x, [np.nanmean([v or np.nan for v in d["test_force_rmse_eV_A"]]) for d in rounds], "s--",
               label="held-out test (mean over committee)")
    right.set_xlabel("round")
    right.set_ylabel("force RMSE vs reference (eV/Å)")
    twin = right.twinx()
    twin.bar(x, [d["n_training_images"] for d in rounds], alpha=0.15, color="tab:gray")
    twin.set_ylabel("training images")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_uniform_round(explored: Sequence[dict], per_frame_rmse: Sequence[float], deviations: Sequence[float],
                       settings: ActiveLearningSettings, path, title: str = "") -> Path:
    """Uniform selection: the network's true force error per exploration run against the convergence level, and
    per frame (against the committee deviation when there is a committee)."""
    fig, (runs, frames) = plt.subplots(1, 2, figsize=(10, 4))
    names = [f"{r['cell']}\n{r['temperature_K']:g} K" for r in explored]
    values = [r.get("force_rmse_eV_A") or np.nan for r in explored]
    colours = ["tab:red" if r["status"] != "completed" else "tab:blue" for r in explored]
    runs.bar(range(len(names)), values, color=colours)
    runs.set_xticks(range(len(names)), names, fontsize=7, rotation=45, ha="right")
    runs.axhline(settings.converged_force_rmse_eV_A, color="tab:green", linestyle="--", label="converged at or below")
    runs.set_ylabel("force RMSE vs reference (eV/Å)")
    runs.set_title(title, fontsize=9)
    runs.legend(fontsize=8)
    if len(deviations) == len(per_frame_rmse) and len(deviations):
        frames.scatter(deviations, per_frame_rmse, s=12)
        frames.set_xlabel("max committee force deviation (eV/Å)")
    else:
        frames.plot(range(len(per_frame_rmse)), per_frame_rmse, "o", ms=3)
        frames.set_xlabel("labelled frame (in exploration order)")
    frames.axhline(settings.converged_force_rmse_eV_A, color="tab:green", linestyle="--")
    frames.set_ylabel("true force RMSE of the network (eV/Å)")
    fig.tight_layout()
    return save_figure(fig, path)
