"""`dopwf md`, `dopwf analyze`, `dopwf arrhenius`: the MD stage's job and the transport functions the builders use."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import NamedTuple

from dopant_workflows.analysis.settings import AnalysisSettings
from dopant_workflows.cli.types import output_dir, permittivity, positive_float, temperature_K
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.md.settings import PRESETS, MDProtocol
from dopant_workflows.names import ANALYSIS_DIR, ANALYSIS_FILE, MD_RUN_FILE

log = logging.getLogger("dopwf")
PROTOCOL_OPTIONS = ("time_step_fs", "initial_temperature_K", "heating_ps", "equilibration_ps", "production_ps",
                    "sample_interval_fs", "thermostat_damping_fs")


def add_md_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("md", help="the paper's MD protocol at one temperature (ANN or embedded potential), analysed")
    p.add_argument("structure", help="built-in host name or structure file")
    p.add_argument("--model", required=True,
                   help="trained model (model.json, its directory, or an AMP .amp file), or embedded:chgnet / "
                        "embedded:sevenn")
    p.add_argument("--temperature-K", type=temperature_K, required=True)
    p.add_argument("--preset", default="demo", choices=sorted(PRESETS))
    for name in PROTOCOL_OPTIONS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=positive_float,
                       help=f"{MDProtocol.model_fields[name].description}; overrides the preset")
    p.add_argument("--species", default=AnalysisSettings.model_fields["species"].default, help="diffusing species")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=output_dir, required=True, help="run directory; an interrupted run in it is resumed")
    p.set_defaults(func=cmd_md)

    p = sub.add_parser("analyze", help="D (with uncertainty), conductivity, D along a/b/c, Li-Li RDF peak")
    p.add_argument("trajectory", help="unwrapped trajectory (e.g. trajectory.extxyz from dopwf md)")
    p.add_argument("--species", default=AnalysisSettings.model_fields["species"].default)
    p.add_argument("--temperature-K", type=temperature_K, required=True)
    p.add_argument("--time-step-fs", type=positive_float,
                   help="time between frames, when the frames do not record time_fs")
    p.add_argument("--out", type=output_dir, help="write analysis.json, msd.png and rdf.png here")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("arrhenius", help="Arrhenius fit over several analyses: Ea, D and sigma at 300 K")
    p.add_argument("analyses", nargs="+", help="analysis.json files (or directories holding one, or MD run "
                                               "directories) from dopwf md / dopwf analyze")
    p.add_argument("--at-K", type=temperature_K, default=300.0, help="extrapolation temperature (default 300 K)")
    p.add_argument("--anion", help="doping anion for the Anderson-Stuart barrier (e.g. Cl); needs --eps-r")
    p.add_argument("--eps-r", type=permittivity, help="relative permittivity for the Anderson-Stuart barrier")
    p.add_argument("--eps-r-source", default="given on the command line", help="where --eps-r comes from")
    p.add_argument("--out", type=output_dir, help="write arrhenius.json and arrhenius.png here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_arrhenius)


def cmd_md(args: argparse.Namespace) -> int:
    from dopant_workflows.jobs.md import run_md_stage
    from dopant_workflows.md.protocol import MDBlowUp, protocol_from_preset
    from dopant_workflows.structures.hosts import load_cell

    protocol = protocol_from_preset(args.preset, **{name: getattr(args, name) for name in PROTOCOL_OPTIONS})
    try:
        run = run_md_stage(load_cell(args.structure), args.model, protocol, args.temperature_K, args.out,
                           seed=args.seed, device=args.device, analysis=AnalysisSettings(species=args.species))
    except MDBlowUp as exc:
        log.error("MD stopped, unphysical: %s (the potential is outside its training data?)", exc)
        return 1
    print(f"{run.n_frames} frames in {run.trajectory_path}; mean production T "
          f"{run.mean_production_temperature_K:.1f} K (target {args.temperature_K:g} K, "
          f"{'ok' if run.thermostat_ok else 'NOT within 2 %'}); {run.steps_per_s:.1f} steps/s")
    _print_analysis(run.model_dump(), args.species, args.temperature_K)
    print(f"analysis: {Path(args.out) / ANALYSIS_DIR / ANALYSIS_FILE} (msd.png, rdf.png); md_traces.png")
    return 0


def _print_analysis(summary: dict, species: str, temperature_K: float) -> None:
    d, std = summary["diffusivity_cm2_s"], summary["diffusivity_std_cm2_s"]
    comps = summary["diffusivity_components_cm2_s"]
    print(f"{species} at {temperature_K:g} K: D = {d:.3e} ± {std or float('nan'):.1e} cm²/s "
          f"(a {comps['a']:.2e}, b {comps['b']:.2e}, c {comps['c']:.2e})")
    sigma = summary["conductivity_mS_cm"]
    print(f"conductivity {sigma:.3g} mS/cm" if sigma else "conductivity: not defined (no diffusion resolved)")
    print(f"Li-Li RDF first peak (lambda): {summary['rdf_first_peak_A']} A")
    for note in summary["warnings"]:
        print(f"warning: {note}")


#: the frames' mean kinetic temperature may differ from the run's target by this much (thermostat fluctuations of
#: a 50-atom cell are ~1-2 % on the mean of a production run) before --temperature-K is taken for a mistake
KINETIC_TEMPERATURE_TOLERANCE = 0.10


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class RecordedTemperature(NamedTuple):
    value_K: float
    source: str  # where it was read, for the message
    exact: bool  # a target temperature (md_run.json, frames' temperature_K), not a mean kinetic one


def recorded_temperature_K(trajectory: str | Path) -> RecordedTemperature | None:
    """The temperature a trajectory was run at, and where that was read: md_run.json beside it (dopwf md), else the
    mean kinetic temperature of its frames (those that carry momenta), else the temperature_K its frames carry;
    None when none is there."""
    from ase.io import iread

    run_file = Path(trajectory).parent / MD_RUN_FILE
    if run_file.is_file():
        try:
            return RecordedTemperature(float(json.loads(run_file.read_text())["temperature_K"]), str(run_file), True)
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: fall back to the frames
    try:
        frames = list(iread(str(trajectory), index=":"))
    except Exception:  # noqa: BLE001 - the analysis itself reports an unreadable trajectory
        return None
    temperatures = [a.get_temperature() for a in frames if a.has("momenta")]
    if temperatures:
        return RecordedTemperature(float(sum(temperatures) / len(temperatures)),
                                   f"the mean kinetic temperature of its {len(temperatures)} frames", False)
    recorded = [float(a.info["temperature_K"]) for a in frames if _is_number(a.info.get("temperature_K"))]
    if not recorded:
        return None
    if len(set(recorded)) == 1:  # one target temperature carried by every frame (no momenta)
        return RecordedTemperature(recorded[0], "the temperature_K its frames carry (exact)", True)
    return RecordedTemperature(float(sum(recorded) / len(recorded)),
                               f"the mean temperature_K of its {len(recorded)} frames", False)


def _check_temperature(trajectory: str, temperature_K: float) -> None:
    recorded = recorded_temperature_K(trajectory)
    if recorded is None:
        return
    value, source, exact = recorded
    if abs(value - temperature_K) > (1e-6 if exact else KINETIC_TEMPERATURE_TOLERANCE) * value:
        raise DopwfInputError(
            f"--temperature-K {temperature_K:g}: trajectory {trajectory!r} was run at {value:.0f} K ({source}); "
            f"D and the conductivity would be attributed to the wrong temperature: pass --temperature-K {value:.0f}")


def cmd_analyze(args: argparse.Namespace) -> int:
    from dopant_workflows.jobs.md import analyze_md_trajectory

    _check_temperature(args.trajectory, args.temperature_K)
    summary = analyze_md_trajectory(args.trajectory, args.temperature_K, AnalysisSettings(species=args.species),
                                    args.out, args.time_step_fs)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_analysis(summary, args.species, args.temperature_K)
    return 0


#: what ``dopwf arrhenius`` reads of an analysis.json (dopwf analyze / dopwf md write them all)
ANALYSIS_NUMBERS = ("temperature_K", "diffusivity_cm2_s", "n_carriers", "volume_A3")
ANALYSIS_KEYS = (*ANALYSIS_NUMBERS, "diffusivity_components_cm2_s")


def _load_analysis(path: str) -> dict:
    path = Path(path)
    for candidate in (path, path / ANALYSIS_FILE, path / ANALYSIS_DIR / ANALYSIS_FILE):
        if candidate.is_file():
            try:
                analysis = json.loads(candidate.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DopwfInputError(f"analysis {str(candidate)!r}: not valid JSON ({exc}); truncated? rerun dopwf "
                                      "analyze on its trajectory") from None
            missing = [k for k in ANALYSIS_KEYS if not isinstance(analysis, dict) or k not in analysis]
            if missing:
                raise DopwfInputError(f"analysis {str(candidate)!r}: lacks {', '.join(missing)}; expected the "
                                      "analysis.json that dopwf analyze or dopwf md writes")
            wrong = [k for k in ANALYSIS_NUMBERS if not _is_number(analysis[k])]
            if not isinstance(analysis["diffusivity_components_cm2_s"], dict):
                wrong.append("diffusivity_components_cm2_s")
            if wrong:
                raise DopwfInputError(f"analysis {str(candidate)!r}: {', '.join(wrong)} not as dopwf analyze writes "
                                      f"them (numbers; components a mapping a/b/c): edited or from another tool?")
            return {**analysis, "source": str(candidate)}
    raise DopwfInputError(f"analysis {str(path)!r}: not found (run dopwf md or dopwf analyze ... --out DIR first)")


def cmd_arrhenius(args: argparse.Namespace) -> int:
    from dopant_workflows.analysis.plots import plot_arrhenius
    from dopant_workflows.analysis.transport import anderson_stuart_from_run, transport_from_runs

    analyses = [_load_analysis(p) for p in args.analyses]
    species = {a.get("species", "Li") for a in analyses}
    if len(species) > 1:
        raise DopwfInputError("analyses of different species (" + ", ".join(
            f"{a['source']}: {a.get('species', 'Li')}" for a in analyses) + "): one Arrhenius fit is one species")
    transport = transport_from_runs(analyses, args.at_K)
    fit = transport.fit
    report = {"temperatures_K": list(fit.temperatures_K), "diffusivities_cm2_s": list(fit.diffusivities_cm2_s),
              "activation_energy_eV": fit.activation_energy_eV,
              "activation_energy_std_eV": fit.activation_energy_std_eV,
              "prefactor_cm2_s": fit.prefactor_cm2_s, "extrapolation_temperature_K": args.at_K,
              "diffusivity_cm2_s": transport.diffusivity_cm2_s,
              "diffusivity_95_cm2_s": transport.diffusivity_95_cm2_s,  # None: the fit has no error estimate
              "conductivity_mS_cm": transport.conductivity_mS_cm,
              "conductivity_95_mS_cm": transport.conductivity_95_mS_cm,
              "diffusivity_components_cm2_s": transport.diffusivity_components_cm2_s, "linear": fit.linear,
              "warnings": list(fit.warnings), "jump_distance_A": transport.jump_distance_A}
    if args.anion or args.eps_r is not None:
        if not args.anion or args.eps_r is None:
            raise DopwfInputError("--anion and --eps-r: both are needed for the Anderson-Stuart barrier")
        if args.anion not in analyses[0].get("composition", {}):
            raise DopwfInputError(f"--anion {args.anion}: not in the analysed cell {analyses[0].get('composition')}")
        if not transport.jump_distance_A:
            raise DopwfInputError("Anderson-Stuart: no Li-Li RDF first peak (lambda) in the analyses")
        a_s = anderson_stuart_from_run(analyses[0], args.anion, None, transport.jump_distance_A, args.eps_r,
                                       args.eps_r_source)
        report["anderson_stuart"] = {"jump_distance_A": transport.jump_distance_A, "r_cation_A": a_s.r_cation_A,
                                     "r_anion_A": a_s.r_anion_A, "anion": args.anion, "epsilon_r": args.eps_r,
                                     "epsilon_r_source": args.eps_r_source, "barrier_eV": a_s.barrier_eV}
    if args.out:
        report["plot"] = str(plot_arrhenius(fit, transport.diffusivity_errors_cm2_s, Path(args.out) / "arrhenius.png",
                                            args.at_K))
        write_text_atomically(Path(args.out) / "arrhenius.json", json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report))
        return 0
    temps = report["temperatures_K"]
    print(f"Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV:.3f} eV "
          f"({len(temps)} temperatures {', '.join(f'{t:g}' for t in temps)} K)")
    d_95, s_95 = transport.diffusivity_95_cm2_s, transport.conductivity_95_mS_cm
    no_interval = "[no 95 % interval: the fit has no error estimate]"
    print(f"D({args.at_K:g} K) = {transport.diffusivity_cm2_s:.3e} cm²/s "
          + (f"[95 %: {d_95[0]:.2e} - {d_95[1]:.2e}]" if d_95 else no_interval))
    print(f"sigma({args.at_K:g} K) = {transport.conductivity_mS_cm:.3g} mS/cm "
          + (f"[95 %: {s_95[0]:.3g} - {s_95[1]:.3g}]" if s_95 else no_interval))
    if transport.jump_distance_A:
        print(f"lambda (mean Li-Li RDF first peak) = {transport.jump_distance_A:.2f} A")
    if "anderson_stuart" in report:
        a_s = report["anderson_stuart"]
        print(f"Anderson-Stuart: r_Li {a_s['r_cation_A']:.2f} A, r_{args.anion} {a_s['r_anion_A']:.2f} A, "
              f"eps_r {a_s['epsilon_r']:g} ({a_s['epsilon_r_source']}): barrier {a_s['barrier_eV']:.3f} eV "
              f"(Arrhenius Ea {fit.activation_energy_eV:.3f} eV)")
    for note in fit.warnings:
        print(f"warning: {note}")
    return 0
