"""The paper's Table 2 (transport) and Table 3 (Anderson-Stuart) from the builders' documents, as text,
Markdown and CSV, plus an Arrhenius plot of all substitutions (the paper's Fig. 5c)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.fileio import write_text_atomically

TABLE2 = ["material", "dopant %", "Ea (eV)", "sigma 300 K (mS/cm) [95 %]", "D 300 K (cm2/s)", "linear fit"]
TABLE3 = ["material", "lambda (A)", "r_Li (A)", "r_anion (A)", "eps_r", "eps_r source", "dE_AS (eV)", "Ea Arrhenius (eV)"]


def tables(conductivity: list[dict], anderson_stuart: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    rows2 = []
    for c in sorted(conductivity, key=lambda d: -d["dopant_fraction"]):
        lo, hi = c["conductivity_300K_95_mS_cm"]
        rows2.append([c["formula"], f"{100 * c['dopant_fraction']:.2f}",
                      f"{c['activation_energy_eV']:.3f} ± {c['activation_energy_std_eV']:.3f}",
                      f"{c['conductivity_300K_mS_cm']:.3g} [{lo:.3g} - {hi:.3g}]",
                      f"{c['diffusivity_300K_cm2_s']:.3e}", "yes" if c["linear"] else "NO (see warnings)"])
    rows3 = []
    for a in sorted(anderson_stuart, key=lambda d: d["formula"]):
        barrier = f"{a['barrier_eV']:.3f}" if a["barrier_eV"] is not None else "— (see eps_r source)" if (
            a["epsilon_r"] is None) else f"— ({a['missing_reason']})"
        ea = a.get("arrhenius_activation_energy_eV")
        rows3.append([a["formula"], f"{a['jump_distance_A']:.2f}" if a["jump_distance_A"] else "—",
                      f"{a['r_cation_A']:.2f}", f"{a['r_anion_A']:.2f}",
                      f"{a['epsilon_r']:g}" if a["epsilon_r"] is not None else "—", a["epsilon_r_source"], barrier,
                      f"{ea:.3f}" if ea is not None else "—"])
    return rows2, rows3


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def write_report(conductivity: list[dict], anderson_stuart: list[dict], diffusivity: list[dict], out: Path) -> str:
    rows2, rows3 = tables(conductivity, anderson_stuart)
    text = ("## Table 2: transport (ANN-MD, Arrhenius extrapolation to 300 K)\n\n" + markdown(TABLE2, rows2)
            + "\n## Table 3: Anderson-Stuart electrostatic barrier (Eq. 4)\n\n" + markdown(TABLE3, rows3))
    warnings = [f"- {c['formula']}: {w}" for c in conductivity for w in c.get("warnings", [])]
    warnings += [f"- {d['formula']} at {d['temperature_K']:g} K (MD): {w}"
                 for d in sorted(diffusivity, key=lambda d: (d["formula"], d["temperature_K"]))
                 for w in d.get("warnings", [])]
    if warnings:
        text += "\n## Warnings\n\n" + "\n".join(warnings) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "report.md", text)
    for name, header, rows in (("table2.csv", TABLE2, rows2), ("table3.csv", TABLE3, rows3)):
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        write_text_atomically(out / name, buffer.getvalue())
    if diffusivity:
        _plot_all(diffusivity, conductivity, out / "arrhenius_all.png")
        _plot_each(diffusivity, conductivity, out)
    return text


def _plot_each(diffusivity: list[dict], conductivity: list[dict], out: Path) -> None:
    """arrhenius_<substitution id>.png with the fit's 95 % band, refitted from the documents the builder used."""
    from dopant_workflows.analysis.plots import plot_arrhenius
    from dopant_workflows.analysis.transport import transport_from_runs

    for c in conductivity:
        runs = [d for d in diffusivity if d["substitution_id"] == c["substitution_id"]]
        transport = transport_from_runs(runs, c.get("extrapolation_temperature_K", 300.0))
        plot_arrhenius(transport.fit, transport.diffusivity_errors_cm2_s, out / f"arrhenius_{c['substitution_id']}.png",
                       transport.at_K, label=c["formula"])


def _plot_all(diffusivity: list[dict], conductivity: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fits = {c["substitution_id"]: c for c in conductivity}
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    subs = sorted({d["substitution_id"] for d in diffusivity})
    for sub in subs:
        docs = sorted((d for d in diffusivity if d["substitution_id"] == sub), key=lambda d: d["temperature_K"])
        t = np.array([d["temperature_K"] for d in docs])
        d = np.array([d["diffusivity_cm2_s"] for d in docs])
        err = np.array([x["diffusivity_std_cm2_s"] or 0 for x in docs])
        label = f"{docs[0]['formula']} ({100 * docs[0]['dopant_fraction']:.2f} % {docs[0]['dopant']})"
        line = ax.errorbar(1000 / t, d, yerr=err, fmt="o", capsize=3, label=label)
        fit = fits.get(sub)
        if fit:
            x = np.linspace(1000 / t.max(), 1000 / 300.0, 50)
            ax.plot(x, fit["prefactor_cm2_s"] * np.exp(-fit["activation_energy_eV"] * (x / 1000) / BOLTZMANN_EV_K),
                    color=line[0].get_color(), linestyle="--")
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("Li D (cm²/s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
