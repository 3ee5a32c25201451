"""Benchmark: which CP2K grid cutoffs give forces within 0.02 eV/A of a tighter setting on a 50-atom LSiPS frame.

    .venv/bin/python bench/cp2k_convergence.py [--threads 2] [--out bench/results] [--settings 300/40 400/50 ...]

Frame: the paper's 50-atom Li20Si3P3S23Cl cell after 150 steps of CHGNet MD at 900 K (seed 0; written to
bench/results/cp2k_convergence_frame.extxyz, so the numbers can be reproduced on that exact frame). Each setting:
PBE / DZVP-MOLOPT-SR-GTH / GTH-PBE, EPS_DEFAULT 1e-12, EPS_SCF 1e-6 (the engine's default; 1e-7 is beyond what
EPS_DEFAULT 1e-12 integrals support: bench/results/cp2k_convergence_2026-12-06_stopped.md), a single point from the
atomic guess with Debian's CP2K 2023.1 (cp2k.psmp, OpenMP threads as given), CUTOFF/REL_CUTOFF in Ry as named
("400/50"). The last (tightest) setting is the reference. Printed and written (cp2k_convergence.json,
cp2k_convergence.md): per setting the largest and RMS force-component difference from the reference (eV/A), the
energy difference (meV/atom), the largest stress difference (GPa), SCF steps and wall time, beside CHGNet's MD speed
on the same cell measured in the same run (the machine's speed: docs/engines.md#cp2k). The cheapest setting with max
|dF| <= 0.02 eV/A is the default.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from ase import units
from ase.io import read, write

ROOT = Path(__file__).resolve().parents[1]
FORCE_TOLERANCE_EV_A = 0.02


def frame(path: Path):
    """The 50-atom frame: read when written before, else made by CHGNet MD (150 steps, 900 K, seed 0)."""
    if path.is_file():
        return read(path)
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import Stationary, thermalize_momenta
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.universal import make_calculator
    from dopant_workflows.structures.hosts import lsips_host

    atoms = AseAtomsAdaptor.get_atoms(lsips_host())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        atoms.calc, _ = make_calculator("chgnet")
        thermalize_momenta(atoms, 900.0, rng=np.random.default_rng(0))
        Stationary(atoms)
        NoseHooverChainNVT(atoms, timestep=2 * units.fs, temperature_K=900.0, tdamp=100 * units.fs).run(150)
    out = atoms.__class__(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    write(path, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["300/40", "400/50", "500/50", "600/60", "800/80"],
                        help="CUTOFF/REL_CUTOFF in Ry, coarsest first; the last is the reference")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "cp2k_convergence_runs")
    args = parser.parse_args()

    from dopant_workflows.engines.cp2k.runs import run_static
    from dopant_workflows.engines.cp2k.settings import Cp2kSettings
    from dopant_workflows.engines.speed import reference_speed

    args.out.mkdir(parents=True, exist_ok=True)
    atoms = frame(args.out / "cp2k_convergence_frame.extxyz")
    chgnet_steps_per_s = reference_speed()
    print(f"machine speed: CHGNet MD on the 50-atom LSiPS cell, {chgnet_steps_per_s:.1f} steps/s")
    rows = []
    for name in args.settings:
        cutoff, rel_cutoff = (float(x) for x in name.split("/"))
        settings = Cp2kSettings(cutoff_Ry=cutoff, rel_cutoff_Ry=rel_cutoff, threads=args.threads)
        start = time.perf_counter()
        labelled = run_static(args.work / name.replace("/", "_"), atoms, settings)
        seconds = time.perf_counter() - start
        rows.append({"setting": name, "cutoff_Ry": cutoff, "rel_cutoff_Ry": rel_cutoff, "wall_s": round(seconds, 1),
                     "scf_steps": labelled.info["cp2k_scf_steps"], "energy_eV": labelled.get_potential_energy(),
                     "forces": labelled.get_forces().tolist(), "stress": labelled.get_stress().tolist()})
        print(f"{name:>8} Ry: {seconds:7.1f} s, {labelled.info['cp2k_scf_steps']} SCF steps", flush=True)
    reference = rows[-1]
    for row in rows:
        dF = np.asarray(row["forces"]) - np.asarray(reference["forces"])
        row["max_force_diff_eV_A"] = float(np.abs(dF).max())
        row["rms_force_diff_eV_A"] = float(np.sqrt((dF ** 2).mean()))
        row["energy_diff_meV_atom"] = 1000 * (row["energy_eV"] - reference["energy_eV"]) / len(atoms)
        row["max_stress_diff_GPa"] = float(np.abs(np.asarray(row["stress"]) - reference["stress"]).max() / units.GPa)
    chosen = next((r["setting"] for r in rows[:-1] if r["max_force_diff_eV_A"] <= FORCE_TOLERANCE_EV_A), None)
    force_scale = float(np.sqrt((np.asarray(reference["forces"]) ** 2).mean()))
    record = {"command": f"python bench/cp2k_convergence.py --threads {args.threads} --settings "
                          + " ".join(args.settings),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.platform(),
              "chgnet_md_steps_per_s_50_atoms": round(chgnet_steps_per_s, 2), "threads": args.threads,
              "frame": "bench/results/cp2k_convergence_frame.extxyz", "n_atoms": len(atoms),
              "reference_force_rms_eV_A": force_scale, "tolerance_eV_A": FORCE_TOLERANCE_EV_A,
              "cheapest_within_tolerance": chosen,
              "rows": [{k: v for k, v in r.items() if k not in ("forces", "stress")} for r in rows]}
    (args.out / "cp2k_convergence.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = ["| CUTOFF/REL_CUTOFF (Ry) | max abs dF (eV/A) | RMS dF (eV/A) | dE (meV/atom) | max d stress (GPa) "
             "| SCF steps | wall (s) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['setting']}{' (reference)' if r is reference else ''} | {r['max_force_diff_eV_A']:.4f} "
                     f"| {r['rms_force_diff_eV_A']:.4f} | {r['energy_diff_meV_atom']:+.2f} "
                     f"| {r['max_stress_diff_GPa']:.3f} | {r['scf_steps']} | {r['wall_s']:.0f} |")
    table = "\n".join(lines)
    print(table)
    print(f"reference force RMS {force_scale:.3f} eV/A; cheapest setting within {FORCE_TOLERANCE_EV_A} eV/A: {chosen}")
    (args.out / "cp2k_convergence_table.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
