"""`dopwf aimd`: a standalone reference AIMD on an embedded engine, producing a training-image data set."""

from __future__ import annotations

import argparse
import json
import logging

from dopant_workflows.cli.types import output_dir, positive_float
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")


def add_engine_parsers(sub: argparse._SubParsersAction) -> None:
    def default(name):
        return AIMDSettings.model_fields[name].default

    p = sub.add_parser("aimd", help="reference AIMD (training images) with an embedded universal potential")
    p.add_argument("structure", help="built-in host name (e.g. Li20Si3P3S23Cl) or structure file")
    p.add_argument("--engine", default="embedded",
                   help="embedded (= embedded:chgnet, CHGNet 0.3.0) or embedded:sevenn (SevenNet-0)")
    p.add_argument("--steps", type=int, required=True, help="MD steps")
    p.add_argument("--temperatures", default=f"{default('temperature_start_K'):g}:{default('temperature_end_K'):g}",
                   help="START:END in K, linear ramp, or one T for a constant temperature (default %(default)s)")
    p.add_argument("--time-step-fs", type=positive_float, default=default("time_step_fs"))
    p.add_argument("--segment-steps", type=int, default=default("segment_steps"),
                   help="steps per segment (checkpoint boundary)")
    p.add_argument("--sample-every", type=int, default=default("sample_every"), help="write a frame every N steps")
    p.add_argument("--thermostat-damping-fs", type=positive_float, default=default("thermostat_damping_fs"))
    p.add_argument("--seed", type=int, default=default("seed"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=output_dir, required=True,
                   help="run directory (frames.extxyz, run.json, checkpoint.npz); an interrupted run in it is resumed")
    p.set_defaults(func=cmd_aimd)


def cmd_aimd(args: argparse.Namespace) -> int:
    from dopant_workflows.engines.schedule import parse_temperature_range
    from dopant_workflows.jobs.reference import run_reference_aimd
    from dopant_workflows.structures.hosts import load_cell

    if args.engine == "vasp":
        raise DopwfInputError("--engine vasp: VASP runs as a FireWorks workflow on a cluster (dopwf submit); "
                              "dopwf aimd runs the embedded engines")
    t_start, t_end = parse_temperature_range(args.temperatures)
    settings = AIMDSettings(n_steps=args.steps, time_step_fs=args.time_step_fs, temperature_start_K=t_start,
                            temperature_end_K=t_end, segment_steps=args.segment_steps,
                            sample_every=args.sample_every, thermostat_damping_fs=args.thermostat_damping_fs,
                            seed=args.seed)
    document = run_reference_aimd(load_cell(args.structure), settings, args.out, args.engine, args.device)
    print(json.dumps(document.model_dump(mode="json"), indent=1))
    if document.status != "completed":
        log.error("AIMD failed: %s", document.failure_reason)
        return 1
    log.info("%d frames, %.1f steps/s", document.n_frames, document.steps_per_s or float("nan"))
    return 0
