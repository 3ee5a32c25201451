"""Benchmark companion to wall_rate.py: what the wall did in one run that crossed the threshold.

    NUMBA_NUM_THREADS=1 .venv/bin/python bench/wall_frames.py --model path/to/model.json --cell CELL --seed SEED
        [--temperature 900] [--study examples/lsips_cl_study.yaml] [--engine embedded:chgnet]

Reruns one production run of bench/wall_rate.py (its JSON gives cell, seed and temperature; wall_rate's workers run
single-threaded, so NUMBA_NUM_THREADS=1 replays their trajectory bit for bit), takes the production frame with the
largest wall energy, lists the pairs inside their wall onsets, and for the deepest one compares the forces on its two
atoms from the network with its wall, the network alone, and the reference engine: whether the wall stopped a
network that was wrong there (reference strongly repulsive, network not) or pushed on a configuration the network
already got right.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--cell", required=True, help="a substitution id of the study, or 'host'")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--temperature", type=float, default=900.0)
    parser.add_argument("--study", type=Path, default=ROOT / "examples" / "lsips_cl_study.yaml")
    parser.add_argument("--engine", default="embedded:chgnet", help="the reference engine")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from ase.io import read
    from ase.neighborlist import neighbor_list
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.ann.calculator import BPNNCalculator
    from dopant_workflows.ann.core_repulsion import pair_key
    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.md.protocol import run_md
    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.study import load_study

    study = load_study(args.study)
    cells = {sub.id: sub.structure for sub in study.enumerate_substitutions()}
    if args.cell.startswith("host"):
        structure = load_host(study.host)
    elif args.cell in cells:
        structure = cells[args.cell]
    else:
        raise SystemExit(f"--cell {args.cell!r}: expected 'host' or one of {sorted(cells)}")
    network, provenance = potential_calculator(args.model)
    wall = network.potential.core_repulsion
    if wall is None:
        raise SystemExit(f"--model {args.model}: the network has no core repulsion")
    with tempfile.TemporaryDirectory() as tmp:
        md = run_md(AseAtomsAdaptor.get_atoms(structure), network, study.protocol, args.temperature, tmp,
                    seed=args.seed, provenance=provenance, progress=False)
        rows = [r for r in csv.DictReader(open(Path(tmp) / "md_log.csv")) if r["stage"] == "production"]
        frames = read(str(md.trajectory_path), index=":")
    walls = [float(r["core_repulsion_eV"] or 0.0) for r in rows]
    k = int(np.argmax(walls))
    frame = frames[k]
    print(f"{args.cell} at {args.temperature:g} K, seed {args.seed}: largest wall {walls[k]:.4g} eV "
          f"(run max {md.core_repulsion_max_eV}) at production sample {k} of {len(rows)}")
    i, j, d = neighbor_list("ijd", frame, 6.0)
    symbols = frame.get_chemical_symbols()
    keys = [pair_key(symbols[a], symbols[b]) for a, b in zip(i, j, strict=True)]
    inside = sorted(((wall.onset_A[key] - r, a, b, r, key) for a, b, r, key in zip(i, j, d, keys, strict=True)
                     if a < b and r < wall.onset_A[key]), reverse=True)
    if not inside:
        print("no pair inside its onset in that frame")
        return 0
    for depth, a, b, r, key in inside[:5]:
        print(f"  {key} {a}-{b}: {r:.3f} A, onset {wall.onset_A[key]:.3f} A ({wall.source[key]}), {depth:.3f} A inside")
    _, a, b, r, _ = inside[0]
    bare = BPNNCalculator(replace(network.potential, core_repulsion=None))
    reference, _ = potential_calculator(args.engine)
    axis = frame.get_distance(a, b, mic=True, vector=True) / r
    forces = {}
    for name, calculator in (("network + wall", network), ("network alone", bare), (args.engine, reference)):
        atoms = frame.copy()
        atoms.calc = calculator
        forces[name] = atoms.get_forces()
    print(f"deepest pair {symbols[a]}-{symbols[b]} {a}-{b} at {r:.3f} A; "
          "force along the pair axis pushing the two apart:")
    for name, f in forces.items():
        print(f"  {name:16s} {(f[b] - f[a]) @ axis:+7.2f} eV/A")
    diff = forces["network alone"] - forces[args.engine]
    print(f"network alone vs {args.engine}: force RMSE {np.sqrt((diff ** 2).mean()):.3f} eV/A over the frame, "
          f"{np.sqrt((diff[[a, b]] ** 2).mean()):.3f} on the pair's two atoms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
