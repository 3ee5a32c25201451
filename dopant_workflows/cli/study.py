"""`dopwf submit`, `run`, `build`, `report`, `status`: parse, call fireworks.runner, print.

FireWorks reads its configuration when first imported: each command sets it (``--config``, ``use_fw_config``)
first, and imports FireWorks only after that."""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from dopant_workflows.cli.types import output_dir, output_file, positive_int
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fireworks.config import use_fw_config

log = logging.getLogger("dopwf")


def _checked_output_file(path: str, option: str) -> str:
    try:
        return output_file(path)
    except argparse.ArgumentTypeError as exc:
        raise DopwfInputError(f"{option}: {exc}") from None


def add_study_parsers(sub: argparse._SubParsersAction) -> None:
    config_help = "FireWorks configuration directory (default: $FW_CONFIG_FILE's)"
    p = sub.add_parser("submit", help="add a study's workflow to the configured LaunchPad (lpad add)")
    p.add_argument("study")
    p.add_argument("--config", help=config_help)
    p.add_argument("--dry-run", action="store_true", help="write the workflow file instead of submitting")
    p.add_argument("-o", "--output", type=output_file, help="workflow file for --dry-run (lpad add accepts it; "
                                                            "default wf.yaml)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("run", help="embedded store: submit the study, run every Firework here, build, report")
    p.add_argument("study")
    p.add_argument("--config", help=config_help)
    p.add_argument("--out", type=output_dir, help="report directory (default: <runs_dir>/<study>/report)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="Fireworks run at once, each in its own process with cores/N threads (FireWorks' "
                        "reservation + offline launching); default 1")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("build", help="run the maggma builders: diffusivity, conductivity, anderson_stuart")
    p.add_argument("--config", help=config_help)
    p.add_argument("--study", help="only this study (default: every study, each grouped on its own)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("report", help="the paper's Table 2 and Table 3 (text, Markdown, CSV) and plots")
    p.add_argument("--config", help=config_help)
    p.add_argument("--study", help="only this study")
    p.add_argument("--out", type=output_dir, default="report",
                   help="directory for report.md, table2.csv, table3.csv, plots")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("lpad", help="FireWorks' lpad on this configuration, safe beside a dopwf run: its read "
                                    "commands (get_*, dump_wflow, ...) never write the embedded store, the others "
                                    "take the store's lock (plain lpad writes the whole store when it exits)")
    p.add_argument("--config", help=config_help)
    p.add_argument("lpad_args", nargs=argparse.REMAINDER, help="lpad's own arguments, e.g. get_fws -s COMPLETED")
    p.set_defaults(func=cmd_lpad)

    p = sub.add_parser("status", help="Fireworks by state per study, and documents per results collection")
    p.add_argument("--config", help=config_help)
    p.set_defaults(func=cmd_status)


def _workflow(study_path: str):
    from dopant_workflows.fireworks.study_workflow import get_wf_dopant_study
    from dopant_workflows.study import load_study

    study = load_study(study_path)
    for note in study.advice():
        log.warning("study %s: %s", study.name, note)
    substitutions = study.enumerate_substitutions()
    return study, substitutions, get_wf_dopant_study(study, substitutions)


def _print_build(summary) -> int:
    print(f"builders: {dict(summary)}")
    for builder, key, error in summary.failures:
        print(f"  FAILED {builder} {key}: {error}")
    return 1 if summary.failures else 0


def cmd_submit(args: argparse.Namespace) -> int:
    if args.dry_run:
        args.output = args.output or _checked_output_file("wf.yaml", "-o/--output")
        study, substitutions, wf = _workflow(args.study)
        wf.to_file(args.output)
        print(f"wrote {args.output}: {len(wf.fws)} Fireworks for {len(substitutions)} substitutions x "
              f"{len(study.temperatures_K)} temperatures (lpad add {args.output})")
        return 0
    config_dir = use_fw_config(args.config)
    from dopant_workflows.fireworks.runner import hold_store_lock, submit_study

    study, substitutions, wf = _workflow(args.study)
    hold_store_lock(config_dir, "dopwf submit")
    ids = submit_study(study, substitutions, wf, args.verbose)
    print(f"submitted study {study.name}: {len(ids)} Fireworks (launch with rlaunch rapidfire or qlaunch rapidfire)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve() if args.out else None  # relative to where dopwf was called
    config_dir = use_fw_config(args.config)
    from dopant_workflows.fireworks.runner import run_embedded_study

    study, substitutions, wf = _workflow(args.study)
    print(f"== study {study.name}: {len(wf.fws)} Fireworks ({len(substitutions)} substitutions x "
          f"{len(study.temperatures_K)} temperatures, engine {study.engine})", flush=True)
    if study.engine.startswith("embedded"):  # the machine's speed beside the study's time: comparable across machines
        from dopant_workflows.engines.speed import reference_speed

        print(f"== machine speed: CHGNet MD on the 50-atom LSiPS cell, {reference_speed():.1f} steps/s "
              f"({os.cpu_count()} cores)", flush=True)
    resolution = study.validation_resolution()
    if resolution:
        print(f"== validation can resolve: {resolution}", flush=True)
    outcome = run_embedded_study(study, substitutions, wf, config_dir, out, args.verbose, args.workers)
    if outcome.interrupted:
        log.warning("interrupted: finished Fireworks are kept; run the same command again to continue (the "
                    "interrupted Firework resumes from its checkpoint)")
        return 130
    print(f"\n== study {study.name}: Fireworks by state {outcome.states}; results in {outcome.db_file}")
    _print_build(outcome.builders)
    print(f"\n{outcome.report_text}")
    print(f"report and plots in {outcome.report_dir}")
    return 0 if outcome.ok else 1


def cmd_build(args: argparse.Namespace) -> int:
    config_dir = use_fw_config(args.config)
    from dopant_workflows.fireworks.runner import build, check_known_study, hold_store_lock, results_db

    hold_store_lock(config_dir, "dopwf build")  # the results files are rewritten whole: one writer at a time
    db = results_db()
    if args.study is not None:
        check_known_study(db, args.study)
    return _print_build(build(db, args.study))


def cmd_report(args: argparse.Namespace) -> int:
    use_fw_config(args.config)
    from dopant_workflows.fireworks.runner import report, results_db

    out = Path(args.out)
    before = {p: p.stat().st_mtime_ns for p in out.glob("*")} if out.is_dir() else {}
    print(report(results_db(), out, args.study))
    written = sorted(p.name for p in out.glob("*") if p.is_file() and before.get(p) != p.stat().st_mtime_ns)
    print(f"written to {args.out}{os.sep}: {', '.join(written) if written else 'nothing'}")
    return 0


#: lpad commands that only read: their store is opened read-only
LPAD_READ_COMMANDS = ("get_fws", "get_wflows", "get_qids", "get_launchdir", "get_fw_ids", "get_wf_ids", "dump_wflow",
                      "check_wflow", "track_fws", "report", "introspect", "webgui", "get_fws_in_wflows")


def cmd_lpad(args: argparse.Namespace) -> int:
    config_dir = use_fw_config(args.config)
    from fireworks.scripts.lpad_run import lpad

    from dopant_workflows.fireworks import embedded_store
    from dopant_workflows.fireworks.runner import hold_store_lock

    command = next((a for a in args.lpad_args if not a.startswith("-")), None)
    if command is None or command in LPAD_READ_COMMANDS:
        embedded_store.read_only()
    else:
        hold_store_lock(config_dir, f"dopwf lpad {command}")
    if not args.lpad_args:
        raise DopwfInputError("dopwf lpad: expected lpad's own arguments, e.g. dopwf lpad get_fws -s COMPLETED "
                              "(lpad -h lists them)")
    try:
        return lpad(args.lpad_args) or 0
    except ValueError as exc:  # lpad's own argument conversions (e.g. -i abc) raise instead of reporting
        if args.verbose:
            raise
        raise DopwfInputError(f"lpad {' '.join(args.lpad_args)}: {exc}") from None


def cmd_status(args: argparse.Namespace) -> int:
    config_dir = use_fw_config(args.config)
    from fireworks.fw_config import MONGOMOCK_SERVERSTORE_FILE

    from dopant_workflows.fireworks.runner import (
        collection_counts,
        open_launchpad,
        results_db,
        store_lock_holder,
        studies,
        study_states,
    )

    holder = store_lock_holder(config_dir) if MONGOMOCK_SERVERSTORE_FILE else None
    store = Path(MONGOMOCK_SERVERSTORE_FILE or "")
    if holder and store.is_file():  # the run saves the store after every Firework: that is what is shown
        print(f"in progress: {holder}; Fireworks as of its last save, "
              f"{time.strftime('%H:%M:%S', time.localtime(store.stat().st_mtime))}")
    lpad = open_launchpad(args.verbose, read_only=True)  # never written here: a run beside it loses nothing
    for name in studies(lpad):
        print(f"study {name}: {study_states(lpad, name)}")
    print("results: " + ", ".join(f"{c} {n}" for c, n in collection_counts(results_db()).items()))
    return 0
