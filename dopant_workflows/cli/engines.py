"""`dopwf aimd`: a standalone reference AIMD on an embedded engine, producing a training-image data set.
`dopwf label`: reference labels (energy, forces, stress) for the frames of a trajectory file, by the code path active
learning and validation use."""

from __future__ import annotations

import argparse
import json
import logging

from dopant_workflows.cli.types import output_dir, output_file, positive_float
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.errors import DopwfInputError

log = logging.getLogger("dopwf")


def add_engine_parsers(sub: argparse._SubParsersAction) -> None:
    def default(name):
        return AIMDSettings.model_fields[name].default

    p = sub.add_parser("aimd", help="reference AIMD (training images) with an embedded universal potential or CP2K")
    p.add_argument("structure", help="built-in host name (e.g. Li20Si3P3S23Cl) or structure file")
    p.add_argument("--engine", default="embedded",
                   help="embedded (= embedded:chgnet, CHGNet 0.3.0), embedded:sevenn (SevenNet-0) or cp2k (DFT: "
                        "one CP2K run per segment, the ramp as a staircase; docs/engines.md#cp2k)")
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
    p.add_argument("--cp2k-settings", default=None,
                   help="cp2k: YAML or JSON file of CP2K settings (cutoff_Ry, threads, ...; docs/engines.md#cp2k)")
    p.add_argument("--threads", type=int, default=None, help="cp2k: OpenMP threads (default: the settings')")
    p.add_argument("--out", type=output_dir, required=True,
                   help="run directory (frames.extxyz, run.json, checkpoint.npz or CP2K's segment_NNN/); an "
                        "interrupted run in it is resumed")
    p.set_defaults(func=cmd_aimd)

    p = sub.add_parser("label", help="label the frames of a trajectory file with a reference engine (CP2K or embedded)")
    p.add_argument("frames", help="trajectory file ASE reads (extxyz, .traj, vasprun.xml, ...)")
    p.add_argument("--engine", required=True, help="cp2k, embedded (= embedded:chgnet) or embedded:sevenn")
    p.add_argument("--out", type=output_file, required=True,
                   help="labelled frames (extended XYZ: energy, forces, stress; written whole or not at all)")
    p.add_argument("--index", default=":", help="ASE slice of the frames to label, e.g. '::10' (default: all)")
    p.add_argument("--work-dir", type=output_dir, default=None,
                   help="cp2k: where each frame's run goes (frame-<hash>/; rerun to resume; default: OUT's name "
                        "with .runs)")
    p.add_argument("--cp2k-settings", default=None,
                   help="cp2k: YAML or JSON file of CP2K settings (cutoff_Ry, threads, ...; docs/engines.md#cp2k)")
    p.add_argument("--threads", type=int, default=None, help="cp2k: OpenMP threads (default: the settings')")
    p.add_argument("--device", default="cpu", help="embedded engines: torch device")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("dielectric", help="the dielectric tensor of a cell with CP2K: electronic (linear response), "
                                                "optionally ionic (finite displacements)")
    p.add_argument("structure", help="built-in host name (e.g. Li20Si3P3S23Cl) or structure file")
    p.add_argument("--engine", required=True, help="cp2k (VASP's DFPT runs as a dielectric Firework of a study)")
    p.add_argument("--out", type=output_dir, required=True, help="run directory (rerun to reuse a finished run)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--ionic", action="store_true",
                   help="also the ionic part (Born charges and force constants by finite displacements: 6N CP2K "
                        "runs; the cell must be relaxed: --relax), giving the static eps_r = electronic + ionic")
    p.add_argument("--relax", action="store_true",
                   help="relax the positions in the fixed cell first (CP2K BFGS to 0.005 eV/A); both parts then "
                        "use the relaxed cell")
    p.add_argument("--cp2k-settings", default=None,
                   help="YAML or JSON file of CP2K settings (cutoff_Ry, threads, ...; docs/engines.md#cp2k)")
    p.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: the settings')")
    p.set_defaults(func=cmd_dielectric)


def cmd_aimd(args: argparse.Namespace) -> int:
    from dopant_workflows.engines.schedule import parse_temperature_range
    from dopant_workflows.jobs.reference import run_reference_aimd
    from dopant_workflows.structures.hosts import load_cell

    if args.engine == "vasp":
        raise DopwfInputError("--engine vasp: VASP runs as a FireWorks workflow on a cluster (dopwf submit); "
                              "dopwf aimd runs the embedded engines and cp2k")
    t_start, t_end = parse_temperature_range(args.temperatures)
    settings = AIMDSettings(n_steps=args.steps, time_step_fs=args.time_step_fs, temperature_start_K=t_start,
                            temperature_end_K=t_end, segment_steps=args.segment_steps,
                            sample_every=args.sample_every, thermostat_damping_fs=args.thermostat_damping_fs,
                            seed=args.seed)
    cp2k = _cp2k_settings(args.cp2k_settings, args.threads) if args.engine == "cp2k" else None
    document = run_reference_aimd(load_cell(args.structure), settings, args.out, args.engine, args.device, cp2k=cp2k)
    print(json.dumps(document.model_dump(mode="json"), indent=1))
    if document.status != "completed":
        log.error("AIMD failed: %s", document.failure_reason)
        return 1
    log.info("%d frames, %.1f steps/s", document.n_frames, document.steps_per_s or float("nan"))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dopant_workflows.fileio import write_frames_atomically
    from dopant_workflows.jobs.labelling import LABEL_ENGINES, label_frames, read_frames

    if args.engine not in LABEL_ENGINES:
        raise DopwfInputError(f"--engine {args.engine!r}: expected one of {', '.join(LABEL_ENGINES)}")
    frames = read_frames(args.frames, args.index)
    cp2k = _cp2k_settings(args.cp2k_settings, args.threads) if args.engine == "cp2k" else None
    work_dir = args.work_dir or str(Path(args.out).with_suffix(".runs"))
    log.info("labelling %d frame(s) of %s with %s", len(frames), args.frames,
             cp2k.label() if cp2k else args.engine)
    labelled = label_frames(frames, args.engine, device=args.device, work_dir=work_dir, cp2k=cp2k,
                            stress=args.engine != "cp2k")
    write_frames_atomically(args.out, labelled)
    log.info("%d labelled frame(s) written to %s", len(labelled), args.out)
    return 0


def _cp2k_settings(path: str | None, threads: int | None):
    from pydantic import ValidationError

    from dopant_workflows.engines.cp2k.settings import Cp2kSettings
    from dopant_workflows.errors import settings_problems
    values = _settings_file(path) if path else {}
    if threads is not None:
        values = {**values, "threads": threads}
    try:
        return Cp2kSettings(**values)
    except ValidationError as exc:
        raise DopwfInputError(settings_problems(f"--cp2k-settings {path}", exc)) from None


def _settings_file(path: str) -> dict:
    """A YAML (or JSON, which YAML reads) mapping of settings; a key given twice is refused."""
    from pathlib import Path

    import yaml

    from dopant_workflows.study import _UniqueKeyLoader

    if not Path(path).is_file():
        raise DopwfInputError(f"--cp2k-settings {path!r}: not found (expected a YAML file of CP2K settings)")
    try:
        values = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (safe)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DopwfInputError(f"--cp2k-settings {path!r}: not valid YAML ({exc})") from None
    if not isinstance(values, dict):
        raise DopwfInputError(f"--cp2k-settings {path!r}: expected a mapping of settings, got {type(values).__name__}")
    return values


def cmd_dielectric(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.cp2k.dielectric import compute_dielectric
    from dopant_workflows.structures.hosts import load_cell

    if args.engine != "cp2k":
        raise DopwfInputError(f"--engine {args.engine!r}: expected cp2k (VASP's DFPT runs as the dielectric Firework "
                              "of a study with engine: vasp)")
    atoms = AseAtomsAdaptor.get_atoms(load_cell(args.structure))
    settings = _cp2k_settings(args.cp2k_settings, args.threads)
    log.info("CP2K dielectric stage of %s (%d atoms), %s", atoms.get_chemical_formula(), len(atoms), settings.label())
    result = compute_dielectric(Path(args.out), atoms, settings, ionic=args.ionic, relax=args.relax)
    record = result.as_record()
    if args.json:
        print(json.dumps(record, indent=1))
    else:
        print(f"{record['formula']}: eps_electronic = {result.electronic.eps_electronic:.3f} (trace/3 of the "
              f"clamped-ion tensor; {result.electronic.level_of_theory})")
        print(f"eps_ionic = {record['eps_ionic']:.3f}, eps_r = {record['eps_r']:.3f}" if args.ionic
              else record["missing"])
    return 0
