"""P(best) for a report's Table 2 written before the conductivity documents held ``p_best``.

    .venv/bin/python bench/p_best_from_table.py bench/results/halides_runs/2026-12-07/table2.csv

Each row's ln sigma(300 K) posterior is rebuilt from its printed value and 95 % interval (a Gaussian in ln sigma:
width = ln(hi / lo) / (2 x 1.96), as the builder's normal quantile made it; the printed three digits limit the
result to ~0.01), and ``analysis.ranking.probabilities_best`` gives each row's probability of being the best
conductor; the pairwise probability that the first row beats the last is printed beside it.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

from scipy import stats

from dopant_workflows.analysis.ranking import probabilities_best, probability_above

SIGMA_COLUMN = "sigma 300 K (mS/cm) [95 %]"
NUMBER = re.compile(r"[0-9.]+(?:e[-+]?[0-9]+)?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", type=Path, help="a report's table2.csv")
    args = parser.parse_args()
    rows = list(csv.DictReader(args.table.open()))
    names, means, widths = [], [], []
    quantile = stats.norm.ppf(0.975)
    for row in rows:
        value, low, high = map(float, NUMBER.findall(row[SIGMA_COLUMN])[:3])
        names.append(row["material"])
        means.append(math.log(value))
        widths.append(math.log(high / low) / (2 * quantile))
    best = probabilities_best(means, widths)
    print(f"{'material':24s} {'sigma 300 K':>12s} {'ln width':>9s} {'P(best)':>8s}")
    for name, mean, width, p in zip(names, means, widths, best, strict=True):
        print(f"{name:24s} {math.exp(mean):12.3g} {width:9.3f} {p:8.3f}")
    print(f"P({names[0]} above {names[-1]}) = {probability_above(means[0], widths[0], means[-1], widths[-1]):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
