"""The machine's speed, measured the same way everywhere: MD steps per second of the reference engine on the
50-atom LSiPS cell (Li20Si3P3S23Cl), Nose-Hoover chain at 600 K, 2 fs. Study times and benchmarks quote it beside
their own numbers, so that a time measured on one machine can be compared with another's (machines here differ up
to ~2x from one session to the next)."""

from __future__ import annotations

import time
import warnings

import numpy as np

PROBE_TEMPERATURE_K, PROBE_TIME_STEP_FS = 600.0, 2.0


def md_steps_per_s(atoms, calculator, steps: int, warmup: int = 10, blocks: int = 1) -> float:
    """Steps per second of Nose-Hoover-chain MD with ``calculator`` (after ``warmup`` untimed steps): the median
    over ``blocks`` timed blocks of ``steps`` each, so that one stall of a shared machine does not set the number."""
    from ase import units
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    atoms = atoms.copy()
    atoms.calc = calculator
    thermalize_momenta(atoms, PROBE_TEMPERATURE_K, rng=np.random.default_rng(0))
    Stationary(atoms)
    dyn = NoseHooverChainNVT(atoms, timestep=PROBE_TIME_STEP_FS * units.fs, temperature_K=PROBE_TEMPERATURE_K,
                             tdamp=100 * units.fs)
    dyn.run(warmup)
    rates = []
    for _ in range(blocks):
        start = time.perf_counter()
        dyn.run(steps)
        rates.append(steps / (time.perf_counter() - start))
    return float(np.median(rates))


def reference_speed(engine: str = "embedded:chgnet", device: str = "cpu", steps: int = 20, blocks: int = 3) -> float:
    """MD steps/s of ``engine`` on the 50-atom LSiPS cell, the median of ``blocks`` blocks of ``steps`` (about 5-10 s
    on a laptop; a single 20-step block once read 3.1 steps/s on a machine that ran 12-17 just after)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.universal import make_calculator, parse_engine
    from dopant_workflows.structures.hosts import lsips_host

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the universal models warn on every call
        calculator, _ = make_calculator(parse_engine(engine), device)
        return md_steps_per_s(AseAtomsAdaptor.get_atoms(lsips_host()), calculator, steps, warmup=3, blocks=blocks)
