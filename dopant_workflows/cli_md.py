"""`dopwf md`, `dopwf analyze`, `dopwf arrhenius`."""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

log = logging.getLogger("dopwf")


def add_md_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("md", help="the paper's MD protocol at one temperature (ANN or embedded potential)")
    p.add_argument("structure", help="built-in host name or structure file")
    p.add_argument("--model", required=True,
                   help="trained model (model.json, its directory, or an AMP .amp file), or embedded:chgnet / embedded:sevenn")
    p.add_argument("--temperature-K", type=float, required=True)
    p.add_argument("--preset", default="demo", choices=["paper", "demo", "smoke"])
    for name in ("time-step-fs", "heating-ps", "equilibration-ps", "production-ps", "sample-interval-fs"):
        p.add_argument(f"--{name}", type=float, help="override the preset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="run directory; an interrupted run in it is resumed")
    p.set_defaults(func=cmd_md)

    p = sub.add_parser("analyze", help="D (with uncertainty), conductivity, D along a/b/c, Li-Li RDF peak")
    p.add_argument("trajectory", help="unwrapped trajectory (e.g. trajectory.extxyz from dopwf md)")
    p.add_argument("--species", default="Li")
    p.add_argument("--temperature-K", type=float, required=True)
    p.add_argument("--time-step-fs", type=float, help="time between frames, when the frames do not record time_fs")
    p.add_argument("--out", help="write analysis.json, msd.png and rdf.png here")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("arrhenius", help="Arrhenius fit over several analyses: Ea, D and sigma at 300 K")
    p.add_argument("analyses", nargs="+", help="analysis.json files (or directories holding one) from dopwf analyze")
    p.add_argument("--at-K", type=float, default=300.0, help="extrapolation temperature (default 300 K)")
    p.add_argument("--anion", help="anion for the Anderson-Stuart barrier (e.g. Cl); needs --eps-r")
    p.add_argument("--eps-r", type=float, help="relative permittivity for the Anderson-Stuart barrier")
    p.add_argument("--eps-r-source", default="given on the command line", help="where --eps-r comes from")
    p.add_argument("--out", help="write arrhenius.json and arrhenius.png here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_arrhenius)


def _calculator(model: str, device: str):
    if model.startswith("embedded"):
        from dopant_workflows.engines.universal import make_calculator, parse_engine

        calc, info = make_calculator(parse_engine(model), device)
        return calc, {"engine": model, "model": info.model, "package_version": info.package_version}
    from dopant_workflows.ann.calculator import BPNNCalculator
    from dopant_workflows.ann.model_io import load_potential, model_sha256

    potential = load_potential(model)
    return BPNNCalculator(potential, device=device), {"engine": "ann", "model_path": str(Path(model).resolve()),
                                                      "model_sha256": model_sha256(potential)}


def cmd_md(args: argparse.Namespace) -> int:
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.analysis.plots import plot_md_log
    from dopant_workflows.md.protocol import LOG_FILE, MDBlowUp, protocol_from_preset, run_md
    from dopant_workflows.structures.hosts import load_host

    protocol = protocol_from_preset(args.preset, time_step_fs=args.time_step_fs, heating_ps=args.heating_ps,
                                    equilibration_ps=args.equilibration_ps, production_ps=args.production_ps,
                                    sample_interval_fs=args.sample_interval_fs)
    atoms = AseAtomsAdaptor.get_atoms(load_host(args.structure))
    calculator, provenance = _calculator(args.model, args.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            result = run_md(atoms, calculator, protocol, args.temperature_K, args.out, seed=args.seed,
                            provenance=provenance)
        except MDBlowUp as exc:
            log.error("MD stopped, unphysical: %s (the potential is outside its training data?)", exc)
            return 1
    plot_md_log(Path(args.out) / LOG_FILE, Path(args.out) / "md_traces.png")
    print(f"{result.n_frames} frames in {result.trajectory_path}; mean production T "
          f"{result.mean_production_temperature_K:.1f} K (target {args.temperature_K:g} K, "
          f"{'ok' if result.thermostat_ok else 'NOT within 2 %'}); {result.steps_per_s:.1f} steps/s")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from dopant_workflows.analysis.trajectory import analyze_trajectory

    summary = analyze_trajectory(args.trajectory, args.species, args.temperature_K, args.time_step_fs,
                                 plots_dir=args.out)
    if args.out:
        write_text_atomically(Path(args.out) / "analysis.json", json.dumps(summary, indent=1))
    if args.json:
        print(json.dumps(summary))
        return 0
    d, std = summary["diffusivity_cm2_s"], summary["diffusivity_std_cm2_s"]
    comps = summary["diffusivity_components_cm2_s"]
    print(f"{args.species} at {args.temperature_K:g} K: D = {d:.3e} ± {std or float('nan'):.1e} cm²/s "
          f"(a {comps['a']:.2e}, b {comps['b']:.2e}, c {comps['c']:.2e})")
    sigma = summary["conductivity_mS_cm"]
    print(f"conductivity {sigma:.3g} mS/cm" if sigma else "conductivity: not defined (no diffusion resolved)")
    print(f"Li-Li RDF first peak (lambda): {summary['rdf_first_peak_A']} A")
    for note in summary["warnings"]:
        print(f"warning: {note}")
    return 0


def _load_analysis(path: str) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "analysis.json"
    if not path.is_file():
        raise DopwfInputError(f"analysis {str(path)!r}: not found (run dopwf analyze ... --out DIR first)")
    return json.loads(path.read_text())


def cmd_arrhenius(args: argparse.Namespace) -> int:
    from dopant_workflows.analysis.arrhenius import fit_arrhenius
    from dopant_workflows.analysis.conductivity import nernst_einstein_conductivity_mS_cm
    from dopant_workflows.analysis.plots import plot_arrhenius

    analyses = [_load_analysis(p) for p in args.analyses]
    carriers = {(a["n_carriers"], round(a["volume_A3"], 3)) for a in analyses}
    if len(carriers) != 1:
        raise DopwfInputError(f"analyses: they describe different cells (carriers, volume) {sorted(carriers)}; "
                              "one Arrhenius fit is for one composition")
    temps = [a["temperature_K"] for a in analyses]
    diffs = [a["diffusivity_cm2_s"] for a in analyses]
    errors = [a.get("diffusivity_std_cm2_s") for a in analyses]
    errors = errors if all(e for e in errors) else None
    fit = fit_arrhenius(temps, diffs, errors)
    (n_carriers, volume), = carriers
    d_at, d_lo, d_hi = fit.extrapolate(args.at_K)
    sigma = [nernst_einstein_conductivity_mS_cm(x, args.at_K, n_carriers, volume) for x in (d_at, d_lo, d_hi)]
    report = {"temperatures_K": temps, "diffusivities_cm2_s": diffs, "activation_energy_eV": fit.activation_energy_eV,
              "activation_energy_std_eV": fit.activation_energy_std_eV, "prefactor_cm2_s": fit.prefactor_cm2_s,
              "extrapolation_temperature_K": args.at_K, "diffusivity_cm2_s": d_at,
              "diffusivity_95_cm2_s": [d_lo, d_hi], "conductivity_mS_cm": sigma[0],
              "conductivity_95_mS_cm": [sigma[1], sigma[2]], "linear": fit.linear, "warnings": list(fit.warnings)}
    lambdas = [a["rdf_first_peak_A"] for a in analyses if a.get("rdf_first_peak_A")]
    report["jump_distance_A"] = sum(lambdas) / len(lambdas) if lambdas else None
    if args.anion or args.eps_r is not None:
        report["anderson_stuart"] = _anderson_stuart(analyses[0], report["jump_distance_A"], args)
    if args.out:
        report["plot"] = str(plot_arrhenius(fit, errors, Path(args.out) / "arrhenius.png", args.at_K))
        write_text_atomically(Path(args.out) / "arrhenius.json", json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV:.3f} eV "
          f"({len(temps)} temperatures {', '.join(f'{t:g}' for t in temps)} K)")
    print(f"D({args.at_K:g} K) = {d_at:.3e} cm²/s [95 %: {d_lo:.2e} - {d_hi:.2e}]")
    print(f"sigma({args.at_K:g} K) = {sigma[0]:.3g} mS/cm [95 %: {sigma[1]:.3g} - {sigma[2]:.3g}]")
    if report["jump_distance_A"]:
        print(f"lambda (mean Li-Li RDF first peak) = {report['jump_distance_A']:.2f} A")
    if "anderson_stuart" in report:
        a_s = report["anderson_stuart"]
        print(f"Anderson-Stuart: r_Li {a_s['r_cation_A']:.2f} A, r_{args.anion} {a_s['r_anion_A']:.2f} A, "
              f"eps_r {a_s['epsilon_r']:g} ({a_s['epsilon_r_source']}): barrier {a_s['barrier_eV']:.3f} eV "
              f"(Arrhenius Ea {fit.activation_energy_eV:.3f} eV)")
    for note in fit.warnings:
        print(f"warning: {note}")
    return 0


def _anderson_stuart(analysis: dict, jump_distance_A: float | None, args: argparse.Namespace) -> dict:
    from dopant_workflows.analysis.conductivity import anderson_stuart_barrier_eV, effective_radius_A

    if not args.anion or args.eps_r is None:
        raise DopwfInputError("--anion and --eps-r: both are needed for the Anderson-Stuart barrier")
    composition = analysis.get("composition", {})
    if args.anion not in composition:
        raise DopwfInputError(f"--anion {args.anion}: not in the analysed cell {composition}")
    if not jump_distance_A:
        raise DopwfInputError("Anderson-Stuart: no Li-Li RDF first peak (lambda) in the analyses")
    n_total = sum(composition.values())
    r_cation = effective_radius_A(analysis["volume_A3"], analysis["n_carriers"], n_total)
    r_anion = effective_radius_A(analysis["volume_A3"], composition[args.anion], n_total)
    return {"jump_distance_A": jump_distance_A, "r_cation_A": r_cation, "r_anion_A": r_anion, "anion": args.anion,
            "epsilon_r": args.eps_r, "epsilon_r_source": args.eps_r_source,
            "barrier_eV": anderson_stuart_barrier_eV(jump_distance_A, r_cation, r_anion, args.eps_r)}
