"""The paper's Table 2 (transport) and Table 3 (Anderson-Stuart) from the builders' documents, as text,
Markdown and CSV, plus an Arrhenius plot of all substitutions (the paper's Fig. 5c); before them, the validation
of every network against its reference engine (the paper's section 3.2: Fig. 5a and Table 2's LGPS rows)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K
from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

TABLE2 = ["rank", "material", "dopant", "dopant %", "Ea (eV)", "sigma 300 K (mS/cm) [95 %]", "P(above next)", "P(best)",
          "arrangements: Ea spread (eV)", "networks: Ea spread (eV)", "runs (production ps)", "precision",
          "D 300 K (cm2/s)", "Arrhenius", "network validated"]
VALIDATION = ["network", "T (K)", "D reference (cm2/s)", "D ANN (cm2/s)", "ratio", "z", "force RMSE on ANN-MD (eV/A)",
              "wall max (eV)", "within"]
ACTIVE_LEARNING = ["network", "round", "selection", "training images", "explored frames", "above trust_lo (%)",
                   "candidates", "beyond trust_hi", "labelled", "true force RMSE, random explored (eV/A)",
                   "worst run (eV/A)", "frames beyond the data (wall max, eV)", "test force RMSE (eV/A)",
                   "confirmation", "hands on"]
VALIDATION_FITS = ["cell", "MD", "Ea (eV)", "sigma 300 K (mS/cm) [95 %]", "validation"]
CONCENTRATION_PLOT = "conductivity_vs_concentration.png"
RANKING_NOTE = (f"\nRank 1 conducts best at 300 K; P(above next): the probability, from the two Arrhenius fits, that "
                f"this row's sigma(300 K) exceeds the next row's; below 0.95 the two are a tie and share a rank. "
                f"P(best): the probability that this row conducts best of all (a chain of ties can still hold a sure "
                f"order between its ends: P(best) says where the best is). "
                f"Arrangements: each composition's lowest-Ewald dopant arrangements, pooled per temperature; their Ea "
                f"spread, and whether their D agree within errors. Networks: the networks trained on the same data "
                f"(training.networks) that ran the composition's MD, pooled the same way; their Ea spread, and "
                f"whether their D agree within the MD's errors. Precision: whether sigma(Ea) met the study's "
                f"target (met), or its production budget ran out first (budget). Figure: {CONCENTRATION_PLOT}.\n")


def _validated(value) -> str:
    return {True: "yes", False: "NO"}.get(value, "not validated")


def _pm(value: float | None, std: float | None, fmt: str = ".3g") -> str:
    if value is None:
        return "—"
    return f"{value:{fmt}}" + (f" ± {std:{fmt}}" if std is not None else "")


def _with_interval(value: float, bounds) -> str:
    """``value [lo - hi]``, or the value and why there is no interval."""
    if bounds is None:
        return f"{value:.3g} [no interval: no error estimate]"
    return f"{value:.3g} [{bounds[0]:.3g} - {bounds[1]:.3g}]"


def validation_tables(validations: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    """Per temperature (both D, ratio, z, force error where the network is used) and per network (both
    Arrhenius fits: the paper's Table 2 LGPS rows)."""
    rows, fits = [], []
    for v in sorted(validations, key=lambda d: d["validation_id"]):
        name = f"{v.get('label') or ''} {v['model_sha256'][:8]}".strip()
        for t in v.get("temperatures", []):
            rows.append([name, f"{t['temperature_K']:g}",
                         _pm(t["reference"]["diffusivity_cm2_s"], t["reference"]["std_cm2_s"]),
                         _pm(t["ann"]["diffusivity_cm2_s"], t["ann"]["std_cm2_s"]), f"{t['ratio']:.2f}",
                         f"{t['z_score']:+.1f}", _pm(t.get("force_rmse_eV_A"), None, ".3f"),
                         _pm(t.get("core_repulsion_max_eV"), None, ".3g"), "yes" if t["passed"] else "NO"])
        for role, label in (("reference_fit", f"reference ({v['reference_engine']})"), ("ann_fit", "ANN-MD")):
            fit = v.get(role)
            if fit:
                fits.append([v.get("formula") or "—", label, _pm(fit["activation_energy_eV"],
                                                                 fit["activation_energy_std_eV"], ".3f"),
                             _with_interval(fit["conductivity_300K_mS_cm"], fit.get("conductivity_300K_95_mS_cm")),
                             v["status"].upper()])
        if not v.get("temperatures"):
            fits.append([v.get("formula") or "—", name, "—", "—", v["status"].upper()])
    return rows, fits
TABLE3 = ["material", "lambda (A)", "r_Li (A)", "r_anion (A)", "eps_r", "eps_r source", "dE_AS (eV)",
          "Ea Arrhenius (eV)"]


def _studies(*collections: list[dict]) -> list[str]:
    return sorted({d.get("study") or "" for documents in collections for d in documents})


def _group(document: dict) -> tuple[str, str]:
    """(study, composition): a composition's arrangements are one group."""
    return document.get("study") or "", document.get("composition_id") or document["formula"]


def _rank(c: dict) -> str:
    """'2' or '2 (tie)' when the row is not resolved from the one below; '—' before ranking existed."""
    if c.get("rank") is None:
        return "—"
    return f"{c['rank']}" + (" (tie)" if c.get("tied_with_next") else "")


def _probability(p: float | None) -> str:
    """A probability to two decimals; beyond them, the side it lies on ('<0.01', '>0.99')."""
    if p is None:
        return "—"
    return "<0.01" if p < 0.005 else ">0.99" if p > 0.995 else f"{p:.2f}"


def _p_above(c: dict) -> str:
    p = c.get("p_above_next")
    if p is None:
        return "—" if c.get("tied_with_next") is None else "unknown (tie)"
    return f"{p:.2f}" + ("" if p >= 0.95 else " (tie)")


def _arrangement_cell(c: dict) -> str:
    n = len(c.get("substitution_ids") or [])
    if n < 2:
        return str(n or 1)
    spread = c.get("arrangement_spread_eV")
    agree = {True: "agree", False: "DISAGREE", None: "—"}[c.get("arrangements_agree")]
    return f"{n}: {spread:.3f}, {agree}" if spread is not None else f"{n}, {agree}"


def _network_cell(c: dict) -> str:
    n = len(c.get("networks") or [])
    if n < 2:
        return "1"
    spread = c.get("network_spread_eV")
    agree = {True: "agree", False: "DISAGREE", None: "—"}[c.get("networks_agree")]
    return f"{n}: {spread:.3f}, {agree}" if spread is not None else f"{n}, {agree}"


def _runs_cell(c: dict) -> str:
    spent = sum((c.get("production_ps_per_temperature") or {}).values())
    return f"{c.get('n_runs', len(c['temperatures_K']))}" + (f" ({spent:.3g})" if spent else "")


def _precision_cell(c: dict) -> str:
    """Whether sigma(Ea) met the study's target: 'met (0.02)', 'budget (0.02)', 'sampling' or '—' (no target)."""
    target = c.get("precision_target_std_eV")
    if target is None:
        return "—"
    return {"precision": f"met ({target:g})", "budget": f"budget ({target:g})"}.get(c.get("stopped_on"), "sampling")


def _linear_cell(c: dict) -> str:
    """The chi^2 / F test of one line, and the Arrhenius-vs-VTF evidence (ln Bayes factor) where there is one."""
    text = "yes" if c["linear"] else "NO (see warnings)"
    if c.get("non_arrhenius"):
        text = "NO: VTF favoured"
    if c.get("vtf_ln_bayes_factor") is not None:
        text += f" (ln BF VTF {c['vtf_ln_bayes_factor']:+.1f})"
    return text


def _ranking_order(c: dict) -> tuple:
    """Best conductor first within each study; unranked documents (earlier layouts) by concentration."""
    return (c.get("study") or "", c.get("rank") or 10**9, -c["conductivity_300K_mS_cm"], -c["dopant_fraction"])


def tables(conductivity: list[dict], anderson_stuart: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    """Rows of Tables 2 and 3; a report of several studies names each row's study in its first column (and in
    the headers: :func:`table_headers`)."""
    several = len(_studies(conductivity, anderson_stuart)) > 1
    rows2 = []
    for c in sorted(conductivity, key=_ranking_order):
        rows2.append([*([c.get("study") or "—"] if several else []), _rank(c), c["formula"],
                      c.get("group") or c.get("dopant") or "—", f"{100 * c['dopant_fraction']:.2f}",
                      f"{c['activation_energy_eV']:.3f} ± {c['activation_energy_std_eV']:.3f}",
                      _with_interval(c["conductivity_300K_mS_cm"], c["conductivity_300K_95_mS_cm"]),
                      _p_above(c), _probability(c.get("p_best")), _arrangement_cell(c), _network_cell(c),
                      _runs_cell(c), _precision_cell(c),
                      f"{c['diffusivity_300K_cm2_s']:.3e}", _linear_cell(c),
                      _validated(c.get("validated"))])
    rows3 = []
    for a in sorted(anderson_stuart, key=lambda d: (d.get("study") or "", d["formula"])):
        barrier = f"{a['barrier_eV']:.3f}" if a["barrier_eV"] is not None else "— (see eps_r source)" if (
            a["epsilon_r"] is None) else f"— ({a['missing_reason']})"
        ea = a.get("arrhenius_activation_energy_eV")
        rows3.append([*([a.get("study") or "—"] if several else []), a["formula"],
                      f"{a['jump_distance_A']:.2f}" if a["jump_distance_A"] else "—",
                      f"{a['r_cation_A']:.2f}", f"{a['r_anion_A']:.2f}" if a["r_anion_A"] else "— (no dopant atom)",
                      f"{a['epsilon_r']:g}" if a["epsilon_r"] is not None else "—", a["epsilon_r_source"], barrier,
                      f"{ea:.3f}" if ea is not None else "—"])
    return rows2, rows3


def table_headers(conductivity: list[dict], anderson_stuart: list[dict]) -> tuple[list[str], list[str]]:
    study = ["study"] if len(_studies(conductivity, anderson_stuart)) > 1 else []
    return study + TABLE2, study + TABLE3


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _beyond(round_doc: dict) -> str:
    n = round_doc.get("n_beyond_data")
    if n is None:
        return "—"
    return f"{n} ({round_doc.get('beyond_data_max_eV') or 0:.3f})" if n else "0"


def _hands_on(round_doc: dict, rounds: list[dict]) -> str:
    """'yes (...)' on the row of the network the study uses, whichever round named it."""
    for final in (r for r in rounds if r["final"] and r.get("label") == round_doc.get("label")):
        chosen = final.get("handed_on_round") or final["round"]  # documents from before hand_on: the last round
        if chosen == round_doc["round"]:
            why = "converged" if final["converged"] else (
                "last round" if chosen == final["round"] else f"best of {final['round']} rounds")
            return f"yes ({why})"
    return "no"


def active_learning_rows(rounds: list[dict]) -> list[list[str]]:
    rows = []
    for r in sorted(rounds, key=lambda d: (d.get("label") or "", d["round"])):
        tests = [v for v in r["test_force_rmse_eV_A"] if v is not None]
        above = r.get("fraction_above_lo")
        rows.append([r.get("label") or "—", str(r["round"]), r.get("selection", "deviation"),
                     str(r["n_training_images"]), str(r["n_explored"]), "—" if above is None else f"{100 * above:.1f}",
                     *("—" if r.get(k) is None else str(r[k]) for k in ("n_candidates", "n_failed")),
                     str(r["n_labelled"]), _pm(r["true_error"].get("random_force_rmse_eV_A"), None, ".3f"),
                     _pm(r["true_error"].get("worst_run_force_rmse_eV_A"), None, ".3f"), _beyond(r),
                     f"{sum(tests) / len(tests):.3f}" if tests else "—",
                     _confirmation(r.get("confirmation")), _hands_on(r, rounds)])
    return rows


def _confirmation(record: dict | None) -> str:
    """A converged round's confirmation runs (active_learning.confirm_ps) in a cell: what ran and what it found."""
    from dopant_workflows.schemas.active_learning import confirmation_findings

    if not record:
        return "—"
    found = confirmation_findings(record)
    return (f"{len(record.get('runs', []))} x {record['ps_per_run']:g} ps at {record['temperature_K']:g} K: "
            f"{'passed' if record['passed'] else 'FAILED'}" + (f" ({'; '.join(found)})" if found else ""))


LABEL_SETS = ["network", "labelling engine", "level of theory", "reference frames labelled",
              "custodian corrections"]


def split_superseded(conductivity: list[dict], validations: list[dict], active_learning: list[dict]
                     ) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(current validations, current rounds, superseded validations, superseded rounds). Once the study has
    results, a validation is current when its network is behind one of them, and an active-learning chain (the
    rounds of one label run with one set of settings) when its final network is; the rest are earlier attempts
    kept in the database (a study re-run with other settings), reported by name only. Before any result,
    everything is current."""
    used = {sha for c in conductivity for sha in c.get("model_sha256") or []}
    if not used:
        return list(validations), list(active_learning), [], []
    chains: dict[tuple, list[dict]] = {}
    for r in active_learning:
        chains.setdefault((r.get("label"), json.dumps(r.get("settings"), sort_keys=True)), []).append(r)
    live = {key for key, rounds in chains.items()
            if any(r["final"] and (r.get("handed_on_sha256") or r["committee_sha256"][0]) in used for r in rounds)}
    current_rounds = [r for key, rounds in chains.items() if key in live for r in rounds]
    old_rounds = [r for key, rounds in chains.items() if key not in live for r in rounds]
    return ([v for v in validations if v["model_sha256"] in used], current_rounds,
            [v for v in validations if v["model_sha256"] not in used], old_rounds)


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def md_warning_lines(diffusivity: list[dict]) -> list[str]:
    """The MD runs' warnings, one line per material, temperature and kind of warning (the text with its numbers
    blanked): how many of that temperature's runs gave it, and the first one's text. Eight runs at 600 K short of one
    hop make one line, not eight."""
    runs: dict[tuple, int] = {}
    kinds: dict[tuple, list] = {}
    for d in sorted(diffusivity, key=lambda d: (d["formula"], d["temperature_K"])):
        key = (d["formula"], d["temperature_K"])
        runs[key] = runs.get(key, 0) + 1
        for w in dict.fromkeys(d.get("warnings", [])):
            kinds.setdefault((*key, _NUMBER.sub("#", w)), []).append(w)
    lines = []
    for (formula, temperature, _), texts in kinds.items():
        n = runs[(formula, temperature)]
        if n == 1:
            lines.append(f"- {formula} at {temperature:g} K (MD): {texts[0]}")
        else:
            example = ", e.g." if len(set(texts)) > 1 else ""
            lines.append(f"- {formula} at {temperature:g} K (MD), {len(texts)} of {n} runs{example}: {texts[0]}")
    return lines


def unfitted_lines(diffusivity: list[dict], conductivity: list[dict]) -> list[str]:
    """Compositions with MD runs but no row in Table 2, each with the reason its Arrhenius fit cannot be made (the
    conductivity builder's own check: e.g. a temperature whose D was not resolved), so that an empty or short table
    says why instead of dropping a composition silently."""
    fitted = {(c.get("study"), c.get("composition_id") or c["formula"]) for c in conductivity}
    groups: dict[tuple, list[dict]] = {}
    for d in diffusivity:
        key = (d.get("study"), d.get("composition_id") or d["formula"])
        if key not in fitted:
            groups.setdefault(key, []).append(d)
    lines = []
    for (_, composition), runs in sorted(groups.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        try:
            transport_from_runs(runs)
            reason = "not built yet: `dopwf build` fits it"
        except DopwfInputError as exc:
            reason = f"no Arrhenius fit: {exc}"
        temperatures = ", ".join(f"{t:g}" for t in sorted({r["temperature_K"] for r in runs}))
        lines.append(f"- {runs[0]['formula']} ({composition}; {len(runs)} runs at {temperatures} K): {reason}")
    return lines


def write_report(conductivity: list[dict], anderson_stuart: list[dict], diffusivity: list[dict], out: Path,
                 validations: list[dict] = (), active_learning: list[dict] = (), label_sets: list[dict] = ()) -> str:
    rows2, rows3 = tables(conductivity, anderson_stuart)
    header2, header3 = table_headers(conductivity, anderson_stuart)
    validations, active_learning, old_validations, old_rounds = split_superseded(
        conductivity, list(validations), list(active_learning))
    text = ""
    if label_sets:  # which engine's physics the networks learned (study.labels): said before any result
        rows_l = [[s.get("label") or "—", s["engine"], s["level_of_theory"], f"{s['n_frames']} of "
                   f"{s['n_source_frames']}", str(s["corrections"])]
                  for s in sorted(label_sets, key=lambda d: (d.get("label") or "", d["set_id"]))]
        text += ("## Training labels: reference frames relabelled by the labelling engine (study.labels)\n\n"
                 + markdown(LABEL_SETS, rows_l) + "\nActive learning labels with the same engine, and its true "
                 "force RMSE (random explored frames) is measured against those labels; the exploring engine only "
                 "proposed configurations.\n\n")
    if active_learning:
        rows_al = active_learning_rows(list(active_learning))
        text += ("## Active learning: committee exploration, labelling, retraining (DP-GEN's scheme)\n\n"
                 + markdown(ACTIVE_LEARNING, rows_al) + "\n")
    if validations:
        rows_v, fits_v = validation_tables(list(validations))
        text += ("## Validation: reference MD vs ANN-MD of each network's cell (the paper's Fig. 5a)\n\n"
                 + markdown(VALIDATION, rows_v) + "\n" + markdown(VALIDATION_FITS, fits_v))
        for v in sorted(validations, key=lambda d: d["validation_id"]):
            text += f"\n- {v['validation_id']}: **{v['status'].upper()}**"
            text += "".join(f"\n  - {reason}" for reason in v.get("reasons", []))
            text += "".join(f"\n  - note: {w}" for w in v.get("warnings", []))
        text += "\n\n"
    if old_validations or old_rounds:
        text += ("Superseded (earlier networks of this study, behind none of its results; kept in the database, "
                 "not shown):\n" + "".join(f"- validation {v['validation_id']}: {v['status']}\n"
                                           for v in sorted(old_validations, key=lambda d: d["validation_id"]))
                 + (f"- {len(old_rounds)} active-learning rounds run with other settings\n" if old_rounds else "")
                 + "\n")
    text += ("## Table 2: transport (ANN-MD, Arrhenius extrapolation to 300 K), best conductor first\n\n"
             + markdown(header2, rows2) + RANKING_NOTE)
    unfitted = unfitted_lines(diffusivity, conductivity)
    if unfitted:
        text += "\nNot in Table 2 (MD runs, but no Arrhenius fit):\n" + "\n".join(unfitted) + "\n"
    text += "\n## Table 3: Anderson-Stuart electrostatic barrier (Eq. 4)\n\n" + markdown(header3, rows3)
    unvalidated = [c for c in conductivity if c.get("validated") is not True]
    if unvalidated:
        text += ("\nRows whose network is not validated (NO / not validated) are the network's physics, not "
                 "necessarily the reference engine's:\n" + "\n".join(
                     f"- {c['formula']}: {note}" for c in unvalidated for note in c.get("validation_notes", [])) + "\n")
    warnings = [f"- {c['formula']}: {w}" for c in conductivity for w in c.get("warnings", [])]
    warnings += md_warning_lines(diffusivity)
    if warnings:
        text += "\n## Warnings\n\n" + "\n".join(warnings) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "report.md", text)
    tables_out = [("table2.csv", header2, rows2), ("table3.csv", header3, rows3)]
    if active_learning:
        from dopant_workflows.active_learning.plots import plot_rounds

        tables_out.append(("active_learning.csv", ACTIVE_LEARNING, rows_al))
        for name in sorted({r.get("label") or "network" for r in active_learning}):
            plot_rounds([r for r in active_learning if (r.get("label") or "network") == name],
                        out / f"active_learning_{name}.png", f"active learning: {name}")
    if validations:
        tables_out += [("validation.csv", VALIDATION, rows_v), ("validation_fits.csv", VALIDATION_FITS, fits_v)]
        for v in validations:
            _plot_validation(v, out / f"validation_{v['validation_id']}.png")
    for name, header, rows in tables_out:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        write_text_atomically(out / name, buffer.getvalue())
    if diffusivity:
        _plot_all(diffusivity, conductivity, out / "arrhenius_all.png")
        _plot_each(diffusivity, conductivity, out)
    if conductivity:
        _plot_concentration(conductivity, out / CONCENTRATION_PLOT)
    return text


def _plot_name(document: dict, several_studies: bool) -> str:
    """arrhenius_<composition>.png; arrhenius_<study>_<composition>.png in a report of several studies."""
    study = f"{document.get('study') or 'nostudy'}_" if several_studies else ""
    return f"arrhenius_{study}{_group(document)[1]}.png"


def _plot_each(diffusivity: list[dict], conductivity: list[dict], out: Path) -> None:
    """One Arrhenius plot per conductivity document with the fit's 95 % band, refitted from the documents the
    builder used (same study, same substitution)."""
    from dopant_workflows.analysis.plots import plot_arrhenius
    from dopant_workflows.analysis.transport import transport_from_runs

    several = len(_studies(conductivity)) > 1
    for c in conductivity:
        runs = [d for d in diffusivity if _group(d) == _group(c)]
        transport = transport_from_runs(runs, c.get("extrapolation_temperature_K", 300.0))
        plot_arrhenius(transport.fit, transport.diffusivity_errors_cm2_s, out / _plot_name(c, several),
                       transport.at_K, label=f"{c['formula']} ({c['study']})" if several else c["formula"])


def _plot_all(diffusivity: list[dict], conductivity: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from dopant_workflows.analysis.replicas import pool_by_temperature

    fits = {_group(c): c for c in conductivity}
    several = len(_studies(diffusivity)) > 1
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for group in sorted({_group(d) for d in diffusivity}):
        docs = pool_by_temperature([d for d in diffusivity if _group(d) == group])  # arrangements: one point
        t = np.array([d["temperature_K"] for d in docs])
        d = np.array([d["diffusivity_cm2_s"] for d in docs])
        err = np.array([x["diffusivity_std_cm2_s"] or 0 for x in docs])
        label = f"{docs[0]['formula']} ({100 * docs[0]['dopant_fraction']:.2f} % {docs[0]['dopant']})"
        line = ax.errorbar(1000 / t, d, yerr=err, fmt="o", capsize=3,
                           label=f"{group[0]}: {label}" if several else label)
        fit = fits.get(group)
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


def _plot_concentration(conductivity: list[dict], path: Path) -> None:
    """sigma(300 K) against dopant concentration, one line per dopant group (and study), with the 95 % band: which
    dopant, at which concentration, conducts best, at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    several = len(_studies(conductivity)) > 1
    lines: dict[str, list[dict]] = {}
    for c in conductivity:
        name = c.get("group") or c.get("dopant") or "dopant"
        lines.setdefault(f"{c.get('study')}: {name}" if several else name, []).append(c)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, docs in sorted(lines.items()):
        docs = sorted(docs, key=lambda d: d["dopant_fraction"])
        x = np.array([100 * d["dopant_fraction"] for d in docs])
        y = np.array([d["conductivity_300K_mS_cm"] for d in docs])
        # no interval (a fit without an error estimate): a point without a band, not a band of NaN
        lo, hi = (np.array([(d["conductivity_300K_95_mS_cm"] or [d["conductivity_300K_mS_cm"]] * 2)[k]
                            for d in docs]) for k in (0, 1))
        line = ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o-", capsize=3, label=name)
        ax.fill_between(x, lo, hi, color=line[0].get_color(), alpha=0.15, linewidth=0)
        for d, xi, yi in zip(docs, x, y, strict=True):
            if d.get("rank") is not None:
                ax.annotate(f"#{d['rank']}", (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("dopant concentration (atomic %)")
    ax.set_ylabel(f"σ({conductivity[0].get('extrapolation_temperature_K', 300.0):g} K) (mS/cm), 95 % band")
    ax.set_title("conductivity vs dopant concentration (#: rank in the study)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_validation(v: dict, path: Path) -> None:
    """Fig. 5a from a validation document (both fits redone from its stored points)."""
    import numpy as np

    from dopant_workflows.validation.compare import fit_points
    from dopant_workflows.validation.plots import plot_validation

    temperatures = v.get("temperatures", [])
    if not temperatures:
        return
    points, fits = {}, {}
    for role, label in (("reference", f"reference MD ({v['reference_engine']})"), ("ann", "ANN-MD")):
        t = [r["temperature_K"] for r in temperatures]
        d = [r[role]["diffusivity_cm2_s"] for r in temperatures]
        err = [r[role]["std_cm2_s"] for r in temperatures]
        points[label] = (np.array(t), np.array(d), np.array([np.nan if e is None else e for e in err]))
        fits[label] = fit_points(t, d, err)
    plot_validation(points, fits, path, f"{v.get('formula') or ''}: {v['status'].upper()} ({v['validation_id']})")
