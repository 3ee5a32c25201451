"""One stored MD frame: a detached copy of the atoms with energy, forces (and stress) and its metadata."""

from __future__ import annotations

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator


def snapshot(atoms: Atoms, energy_eV: float, with_stress: bool = False, **info) -> Atoms:
    """Frame of ``atoms`` now (their calculator's cached forces, and stress if asked); ``temperature_K`` is the
    instantaneous temperature; ``info`` (units in the keys) is added as extxyz info."""
    frame = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    frame.info.update(temperature_K=float(atoms.get_temperature()), **info)
    frame.calc = SinglePointCalculator(frame, energy=energy_eV, forces=atoms.get_forces(),
                                       stress=atoms.get_stress() if with_stress else None)
    return frame
