"""Exact-resume checkpoints for ASE MD: numbers only (npz, no pickle), written atomically.

ASE's Nose-Hoover chain keeps its state (eta, p_eta, Q, kT) in private attributes and has no setter for the
target temperature; these helpers are the one place that touches them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase import units
from ase.md.nose_hoover_chain import NoseHooverChainNVT


def set_nhc_temperature(dyn: NoseHooverChainNVT, temperature_K: float) -> None:
    """Retarget the chain: kT and the thermostat masses Q (proportional to kT)."""
    thermostat = dyn._thermostat
    kT = units.kB * temperature_K
    thermostat._Q = thermostat._Q * (kT / thermostat._kT)
    thermostat._kT = kT


def nhc_state(dyn: NoseHooverChainNVT) -> dict[str, np.ndarray]:
    t = dyn._thermostat
    return {"nhc_eta": t._eta.copy(), "nhc_p_eta": t._p_eta.copy(), "nhc_Q": t._Q.copy(), "nhc_kT": np.array(t._kT)}


def restore_nhc(dyn: NoseHooverChainNVT, state) -> None:
    t = dyn._thermostat
    t._eta, t._p_eta = state["nhc_eta"].copy(), state["nhc_p_eta"].copy()
    t._Q, t._kT = state["nhc_Q"].copy(), float(state["nhc_kT"])


def sync_nhc_from_atoms(dyn: NoseHooverChainNVT) -> None:
    """After positions/momenta were set on the Atoms, make the integrator's own copies agree."""
    dyn._q, dyn._p = dyn.atoms.get_positions(), dyn.atoms.get_momenta()


def save_checkpoint(path: str | Path, **arrays) -> None:
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
