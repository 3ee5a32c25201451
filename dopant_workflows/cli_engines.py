"""`dopwf aimd`: a standalone reference AIMD on an embedded engine, producing a training-image data set."""

from __future__ import annotations

import argparse
import json
import logging
import warnings

from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")


def add_engine_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("aimd", help="reference AIMD (training images) with an embedded universal potential")
    p.add_argument("structure", help="built-in host name (e.g. Li20Si3P3S23Cl) or structure file")
    p.add_argument("--engine", default="embedded",
                   help="embedded (= embedded:chgnet, CHGNet 0.3.0) or embedded:sevenn (SevenNet-0)")
    p.add_argument("--steps", type=int, required=True, help="MD steps")
    p.add_argument("--temperatures", default="300:1000", help="START:END in K, linear ramp (default 300:1000)")
    p.add_argument("--time-step-fs", type=float, default=2.0)
    p.add_argument("--segment-steps", type=int, default=500, help="steps per segment (checkpoint boundary)")
    p.add_argument("--sample-every", type=int, default=1, help="write a frame every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="run directory (frames.extxyz, run.json, checkpoint.npz); "
                                                "an interrupted run in it is resumed")
    p.set_defaults(func=cmd_aimd)


def cmd_aimd(args: argparse.Namespace) -> int:
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.embedded import run_embedded_aimd
    from dopant_workflows.engines.schedule import AIMDSettings, parse_temperature_range
    from dopant_workflows.engines.universal import parse_engine
    from dopant_workflows.schemas.training_set import describe_training_set
    from dopant_workflows.structures.hosts import load_host

    if args.engine == "vasp":
        raise DopwfInputError("--engine vasp: VASP runs as a FireWorks workflow on a cluster (dopwf submit); "
                              "dopwf aimd runs the embedded engines")
    engine = parse_engine(args.engine)
    t_start, t_end = parse_temperature_range(args.temperatures)
    settings = AIMDSettings(n_steps=args.steps, time_step_fs=args.time_step_fs, temperature_start_K=t_start,
                            temperature_end_K=t_end, segment_steps=args.segment_steps,
                            sample_every=args.sample_every, seed=args.seed)
    atoms = AseAtomsAdaptor.get_atoms(load_host(args.structure))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the universal models warn on every call
        result = run_embedded_aimd(atoms, settings, args.out, engine=engine, device=args.device)
    document = describe_training_set(args.out)
    print(json.dumps(document.model_dump(mode="json"), indent=1))
    if result.status != "completed":
        log.error("AIMD failed: %s", result.failure_reason)
        return 1
    log.info("%d frames, %.1f steps/s", result.n_frames, result.steps_per_s)
    return 0
