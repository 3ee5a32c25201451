"""How many ANN-MD validation runs a study needs, from the runs of one validation (no MD is run).

    .venv/bin/python bench/validation_seeds.py bench/results/demo_runs/*/validation.json [--seeds 4 8 12 16]

The activation-energy check passes only when the difference Ea_ann - Ea_ref is known to the threshold
``activation_energy_sigma_eV`` (0.05 eV): a difference known less precisely proves nothing. The reference runs are
deterministic (fixed seeds) and their error is what it is; the ANN side's error comes from a few runs per
temperature and fluctuates from network to network. This resamples (with replacement) n of a validation's own
ANN-MD runs at each temperature, combines them as the validation does (the larger of the seed scatter / sqrt(n) and
the runs' own propagated errors: validation.compare.combine_runs), fits Ea from the first and last temperature and
prints how often the combined error of the difference exceeds the threshold: the chance that a network as good as
this one fails the check for want of runs. Resampling few runs understates the tails; read it as a lower bound.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from dopant_workflows.validation.compare import combine_runs

BOLTZMANN_EV_K = 8.617333262e-5


def activation_energy_sigma(points: list[tuple[float, float, float]]) -> float:
    """Error of Ea from two temperatures' (T, D, sigma_D): sqrt of the summed squared relative errors over
    the lever arm 1/kT_low - 1/kT_high."""
    (t_lo, d_lo, s_lo), (t_hi, d_hi, s_hi) = points[0], points[-1]
    return math.hypot(s_lo / d_lo, s_hi / d_hi) / ((1 / t_lo - 1 / t_hi) / BOLTZMANN_EV_K)


def failure_rate(document: dict, n: int, draws: int, rng: np.random.Generator) -> tuple[float, float]:
    """(sigma of Ea_ref, fraction of draws whose difference error exceeds the threshold) for n ANN runs."""
    threshold = document["thresholds"]["activation_energy_sigma_eV"]
    temps = sorted(t["temperature_K"] for t in document["temperatures"])
    ref = {t["temperature_K"]: t["reference"] for t in document["temperatures"]}
    sigma_ref = activation_energy_sigma([(t, ref[t]["diffusivity_cm2_s"], ref[t]["std_cm2_s"]) for t in temps])
    ann = {t: [r for r in document["runs"] if r["role"] == "ann" and r["status"] == "completed"
               and r["temperature_K"] == t] for t in temps}
    fails = 0
    for _ in range(draws):
        points = []
        for t in (temps[0], temps[-1]):
            pick = [ann[t][i] for i in rng.integers(0, len(ann[t]), n)]
            combined = combine_runs([{"temperature_K": t, "diffusivity_cm2_s": r["diffusivity_cm2_s"],
                                      "diffusivity_std_cm2_s": r["diffusivity_std_cm2_s"]} for r in pick])
            points.append((t, combined.diffusivity_cm2_s, combined.std_cm2_s))
        fails += math.hypot(sigma_ref, activation_energy_sigma(points)) > threshold
    return sigma_ref, fails / draws


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("validation", type=Path, nargs="+", help="validation.json (one ValidationDocument)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[4, 8, 12, 16], help="ANN runs per temperature")
    parser.add_argument("--draws", type=int, default=4000)
    args = parser.parse_args()
    for path in args.validation:
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or "runs" not in document:
            raise SystemExit(f"{path}: not a validation document (expected the JSON object a validation writes)")
        rng = np.random.default_rng(0)
        rates = {n: failure_rate(document, n, args.draws, rng) for n in args.seeds}
        sigma_ref = next(iter(rates.values()))[0]
        print(f"{path} ({document['validation_id']}): sigma Ea_ref {sigma_ref:.3f} eV, threshold "
              f"{document['thresholds']['activation_energy_sigma_eV']:g} eV")
        for n, (_, rate) in rates.items():
            print(f"  {n:3d} ANN runs per temperature: the Ea difference unresolved in {rate:.0%} of resamplings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
