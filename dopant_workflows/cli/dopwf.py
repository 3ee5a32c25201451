"""`dopwf`: the command line of dopant_workflows (FireWorks' own `lpad`/`rlaunch`/`qlaunch` do the rest)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import tempfile
from pathlib import Path

from dopant_workflows import __version__
from dopant_workflows.cli.ann import add_ann_parser
from dopant_workflows.cli.engines import add_engine_parsers
from dopant_workflows.cli.md import add_md_parsers
from dopant_workflows.cli.study import add_study_parsers
from dopant_workflows.cli.types import output_dir, output_file
from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")


def _parse_oxidation_states(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    states = {}
    for item in text.split(","):
        element, _, value = item.partition(":")
        element = element.strip()
        try:
            states[element] = float(value)
            if not element or not math.isfinite(states[element]):
                raise ValueError(item)
        except ValueError:
            raise DopwfInputError(
                f"--oxidation-states {text!r}: expected ELEMENT:CHARGE pairs separated by commas, e.g. Li:1,P:5,S:-2"
            ) from None
    return states


# ---------------------------------------------------------------- init
def cmd_init(args: argparse.Namespace) -> int:
    from dopant_workflows.fireworks.config import init_fw_config

    config = init_fw_config(args.dir, mongodb_uri=args.mongodb_uri, force=args.force)
    kind = f"embedded (mongomock store {config.store_file})" if config.embedded else "MongoDB"
    print(f"FireWorks configuration written to {config.directory} [{kind}]", file=sys.stderr)
    if config.embedded:
        print("The embedded store takes one writer at a time: dopwf commands take its lock; dopwf status and "
              "dopwf lpad get_* only read it, safely beside a run (plain lpad writes it whole when it exits).",
              file=sys.stderr)
    print(config.export_line)
    return 0


# ---------------------------------------------------------------- hosts
def cmd_hosts(args: argparse.Namespace) -> int:
    from dopant_workflows.structures.hosts import BUILTIN_HOSTS, load_host

    if args.name is None:
        seen = {}
        for name, builder in BUILTIN_HOSTS.items():
            seen.setdefault(builder, []).append(name)
        for names in seen.values():
            structure = load_host(names[0])
            print(f"{names[0]:16s} {structure.composition.formula.replace(' ', ''):22s} {len(structure):4d} atoms"
                  f"   aliases: {', '.join(names[1:])}")
        return 0
    structure = load_host(args.name)
    if args.out:
        _write_files({Path(args.out).name: structure.to(fmt="poscar")}, Path(args.out).parent)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(structure)
    return 0


# ---------------------------------------------------------------- substitutions
def _substitutions(host_spec: str, request: dict):
    """``request``: enumerate_substitutions' keyword arguments after the host (a study's: its
    ``SubstitutionSettings.request()``)."""
    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.structures.substitutions import enumerate_substitutions

    host = load_host(host_spec)
    log.info("host %s (%d atoms); enumerating %s with %s in supercell %s for counts %s",
             host.composition.reduced_formula, len(host), request["dopant"], request["compensation"],
             request["supercell"], request["counts"])
    return enumerate_substitutions(host, **request)


def _print_substitutions(results, as_json: bool) -> None:
    if as_json:
        for result in results:
            print(json.dumps(result.summary()))
        return
    groups = any(r.group for r in results)
    print(f"{'group':22s} " * groups + f"{'formula':22s} {'count':>5s} {'dopant %':>9s} {'sites':>5s} {'charge':>6s} "
          f"{'arr.':>4s} {'Ewald (eV)':>12s} {'method':>10s}  id")
    for r in results:
        print(f"{r.group or '':22s} " * groups + f"{r.formula:22s} {r.dopant_count:5d} {100 * r.dopant_fraction:9.3f} "
              f"{r.n_sites:5d} {r.net_charge_e:+6.1f} {r.rank:4d} {r.ewald_energy_eV:12.4f} {r.enumeration:>10s}  "
              f"{r.id}")


def _write_substitutions(results, out: Path) -> None:
    files = {f"{r.id}/POSCAR": r.structure.to(fmt="poscar") for r in results}
    files["substitutions.json"] = json.dumps([r.summary() for r in results], indent=2)
    _write_files(files, out)
    log.info("wrote %d POSCAR file(s) and substitutions.json to %s", len(results), out)


def cmd_substitutions(args: argparse.Namespace) -> int:
    results = _substitutions(args.host, {"dopant": args.dopant, "compensation": args.compensate,
                                         "supercell": args.supercell, "counts": args.counts,
                                         "max_per_count": args.arrangements,
                                         "oxidation_states": _parse_oxidation_states(args.oxidation_states)})
    _print_substitutions(results, args.json)
    if args.out:
        _write_substitutions(results, Path(args.out))
    return 0


# ---------------------------------------------------------------- study files
def cmd_validate(args: argparse.Namespace) -> int:
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    groups = "; ".join(f"{g.label}, supercell {g.supercell}, counts {g.counts}, {g.arrangements} arrangement(s)"
                       for g in study.substitutions)
    print(f"{args.study}: valid study {study.name!r}: host {study.host}, {groups}, {len(study.temperatures_K)} "
          f"temperatures, engine {study.engine}, preset {study.protocol.preset}")
    for note in study.advice():
        print(f"advice: {note}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    results = study.enumerate_substitutions()
    _print_substitutions(results, args.json)
    if not args.json:
        eps = {entry.formula: entry for entry in study.dielectric}
        n_md = len(results) * len(study.temperatures_K)
        n_training = {"shared": 1, "per_group": len(study.substitutions)}.get(study.training.mode, len(results))
        compositions = {r.composition_id for r in results}
        neutral = all(abs(r.net_charge_e) < 1e-6 for r in results)
        print(f"\n{len(compositions)} compositions in {len(results)} arrangements, "
              + ("every cell neutral" if neutral else "NOT every cell neutral (charge column)"))
        print(f"study {study.name}: {n_training} reference AIMD + ANN training ({study.engine}, "
              f"{study.reference_aimd.n_steps} steps, {study.reference_aimd.temperature_start_K:g}-"
              f"{study.reference_aimd.temperature_end_K:g} K), {n_md} ANN-MD runs "
              f"(preset {study.protocol.preset}, T = {', '.join(f'{t:g}' for t in study.temperatures_K)} K)")
        if study.precision is not None:
            per_composition = {c: sum(r.composition_id == c for r in results) * len(study.temperatures_K)
                               for c in compositions}
            budgets = sorted({study.precision_budget_ps(n) for n in per_composition.values()})
            print(f"  precision: more production where sigma(Ea) > {study.precision.activation_energy_std_eV:g} eV, "
                  f"up to {study.precision.max_rounds} rounds and {', '.join(f'{b:g}' for b in budgets)} ps of "
                  f"production per composition ({study.protocol.production_ps:g} ps a run)")
        if study.training.networks > 1:
            print(f"  networks: {study.training.networks} per training, on the same frames with their own seeds; each "
                  "composition's runs spread over them and pooled (sigma(Ea) carries the training's spread), "
                  "validation covers them together")
        if study.labels is not None:
            print(f"  labels: {study.labels.cp2k.label()} labels {study.labels.reference_frames} reference frames "
                  f"(evenly spaced) and every active-learning label; {study.engine} only proposes configurations")
        al = study.active_learning
        if al.enabled:
            where = (f"up to {al.max_rounds} rounds, exploring {al.explore_ps:g} ps per cell at "
                     f"{', '.join(f'{t:g}' for t in study.active_learning_temperatures())} K")
            beyond = (" plus frames beyond the data (core repulsion active), until an exploration meets none"
                      if al.label_beyond_data and study.ann.core_repulsion else "")
            if al.selection == "uniform":
                print(f"  active learning: {where}, {al.max_labels_per_round} frames labelled evenly per round"
                      f"{beyond}, converged at force RMSE <= {al.converged_force_rmse_eV_A:g} eV/A in every run")
            else:
                print(f"  active learning: committee of {al.committee_size}, {where}, trust levels "
                      f"{al.trust_lo_eV_A:g}-{al.trust_hi_eV_A:g} eV/A{beyond}")
        v = study.validation
        if v.enabled:
            print(f"  validation of each network: {study.engine} MD vs ANN-MD of its own cell at "
                  f"{', '.join(f'{t:g}' for t in study.validation_temperatures())} K, {v.seeds} reference and "
                  f"{v.runs_per_temperature('ann')} ANN run(s) each "
                  f"(preset {study.validation_protocol().preset})"
                  + (f"; then VASP single points of {v.relabel_frames} frames of each ANN run" if study.engine == "vasp"
                     else ""))
        else:
            print("  validation: OFF (validation.enabled: false): results will say 'not validated'")
        for r in {r.composition_id: r for r in results}.values():  # one eps_r per composition
            entry = eps.get(r.formula)
            calculation = study.dielectric_calculation
            if study.engine == "vasp":  # the study file's values are not used: each cell gets its DFPT run
                source = "from a VASP DFPT run (a dielectric Firework)"
            elif calculation is not None and calculation.ionic:
                source = (f"from CP2K, electronic + ionic ({6 * len(r.structure) + 1} runs"
                          f"{' after a relaxation' if calculation.relax else ''}; "
                          f"{study.dielectric_cp2k_settings().label()})")
            elif calculation is not None:
                source = "missing: CP2K computes the electronic part only (dielectric_calculation.ionic: false)"
            else:
                source = (f"{entry.eps_r:g} ({entry.source})" if entry
                          else "missing (Anderson-Stuart barrier will say so)")
            print(f"  {r.formula:22s} eps_r = {source}")
        resolution = study.validation_resolution()
        if resolution:
            print(f"validation can resolve: {resolution}")
        for note in study.advice():
            print(f"advice: {note}")
    if args.out:
        _write_substitutions(results, Path(args.out))
    return 0


# ---------------------------------------------------------------- file output
def _write_files(files: dict[str, str], out: Path) -> None:
    """Write all ``files`` (relative path -> text) under ``out``, or none: stage in a temp dir, then move."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".staging-") as staging:
        for name, text in files.items():
            target = Path(staging) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for name in files:
            final = out / name
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(staging) / name), final)


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dopwf", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dopwf {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="write a ready FireWorks configuration (embedded mongomock store by default)")
    p.add_argument("--dir", default=str(Path.home() / ".fireworks"),
                   help="configuration directory (default ~/.fireworks)")
    p.add_argument("--mongodb-uri", help="use this MongoDB server instead of the embedded store")
    p.add_argument("--force", action="store_true", help="overwrite a different existing configuration")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("hosts", help="list built-in host cells, or print/write one")
    p.add_argument("name", nargs="?", help="host name (e.g. LGPS, Li20Si3P3S23Cl)")
    p.add_argument("--out", type=output_file, help="write the host as a POSCAR file")
    p.set_defaults(func=cmd_hosts)

    p = sub.add_parser("substitutions", help="symmetry-distinct dopant substitutions ranked by Ewald energy")
    p.add_argument("host", help="built-in host name or structure file (CIF, POSCAR, ...)")
    p.add_argument("--dopant", required=True, help="NEW:OLD, e.g. Cl:S (Cl on S sites)")
    p.add_argument("--compensate", help="NEW:OLD charge compensation per dopant, e.g. Si:P, or vacancy:Li (one Li "
                                        "removed per unit of charge)")
    p.add_argument("--supercell", type=int, nargs=3, default=[1, 1, 1], metavar=("A", "B", "C"))
    p.add_argument("--counts", type=int, nargs="+", required=True, help="dopant atoms per supercell")
    p.add_argument("--arrangements", "--max-per-count", type=int, default=1, dest="arrangements",
                   help="lowest-Ewald symmetry-distinct arrangements kept per count (default 1)")
    p.add_argument("--oxidation-states", help="override guesses, e.g. Li:1,Si:4,P:5,S:-2,Cl:-1")
    p.add_argument("--out", type=output_dir, help="write DIR/<id>/POSCAR for each structure and DIR/substitutions.json")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_substitutions)

    p = sub.add_parser("validate", help="check a study file; report every problem with its field path")
    p.add_argument("study")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="validate a study and show (and optionally write) the cells it will simulate")
    p.add_argument("study")
    p.add_argument("--out", type=output_dir, help="write the substituted cells (POSCAR) and substitutions.json here")
    p.add_argument("--json", action="store_true", help="one JSON object per substitution")
    p.set_defaults(func=cmd_plan)

    add_ann_parser(sub)
    add_engine_parsers(sub)
    add_md_parsers(sub)
    add_study_parsers(sub)
    return parser


class _Formatter(logging.Formatter):
    """INFO lines are for a person reading progress: time and message; warnings and debug say where from."""

    plain = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    detailed = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return (self.plain if record.levelno == logging.INFO else self.detailed).format(record)


def configure_logging(verbose: bool) -> None:
    """One handler (stderr), INFO by default, DEBUG with -v; FireWorks' own lines are kept apart from it
    (``fireworks.config.quiet_fireworks``) and libraries' DEBUG chatter stays out unless -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    from dopant_workflows.errors import settings_problems

    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    command = " ".join(filter(None, [args.command, getattr(args, "ann_command", None)]))
    try:
        return args.func(args)
    except DopwfInputError as exc:
        print(f"dopwf {command}: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a settings model built from options
        print(f"dopwf {command}: error: {settings_problems(exc.title, exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None or args.verbose:
            raise  # not a path the user gave: a genuine fault, shown whole
        # a path given on the command line that the system refuses (under a file, in /proc, no permission)
        print(f"dopwf {command}: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
