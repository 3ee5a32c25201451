"""Benchmark: Ewald ranking of substitution candidates, incremental quadratic form vs a fresh Ewald sum each.

Baseline (same run, same candidates): pymatgen EwaldSummation of every substituted 150-atom supercell, which
is what OrderDisorderedStructureTransformation-style ranking costs without the matrix trick.
Run: .venv/bin/python bench/substitution_ranking.py
"""

import itertools
import time

import numpy as np
from pymatgen.analysis.ewald import EwaldSummation

from dopant_workflows.structures.ewald import EwaldSiteModel
from dopant_workflows.structures.hosts import LGPS_OXIDATION_STATES, lsips_host


def main(n_baseline: int = 20) -> None:
    cell = lsips_host() * (3, 1, 1)
    cl = [i for i, s in enumerate(cell) if s.specie.symbol == "Cl"]
    si = [i for i, s in enumerate(cell) if s.specie.symbol == "Si"]
    candidates = [list(c) + list(s) for c in itertools.combinations(cl, 2) for s in itertools.combinations(si, 2)]
    charges = [-2, -2, 5, 5]  # two Cl -> S and two Si -> P: the paper's 1-Cl cell

    t0 = time.perf_counter()
    model = EwaldSiteModel.from_structure(cell, LGPS_OXIDATION_STATES)
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = model.energies_eV(np.array(candidates), np.tile(charges, (len(candidates), 1)))
    ours_per_candidate_s = (time.perf_counter() - t0) / len(candidates)

    t0 = time.perf_counter()
    baseline = []
    for sites in candidates[:n_baseline]:
        doped = cell.copy()
        for index, new in zip(sites, ["S", "S", "P", "P"], strict=True):
            doped.replace(index, new)
        doped.add_oxidation_state_by_element(LGPS_OXIDATION_STATES)
        baseline.append(EwaldSummation(doped).total_energy)
    baseline_per_candidate_s = (time.perf_counter() - t0) / n_baseline

    max_diff = float(np.max(np.abs(np.array(baseline) - ours[:n_baseline])))
    print(f"candidates: {len(candidates)} (150-atom Li60Si7P11S71Cl1 cells); max |dE| vs baseline {max_diff:.2e} eV")
    print(f"one-off matrix set-up:             {setup_s * 1e3:9.1f} ms")
    print(f"baseline, fresh Ewald per candidate: {baseline_per_candidate_s * 1e3:9.3f} ms")
    print(f"incremental quadratic form:          {ours_per_candidate_s * 1e3:9.4f} ms")
    print(f"speed-up per candidate: {baseline_per_candidate_s / ours_per_candidate_s:,.0f}x")


if __name__ == "__main__":
    main()
