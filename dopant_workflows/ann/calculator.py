"""ASE calculator for :class:`BPNNPotential`: any ASE MD driver or optimiser can use it."""

from __future__ import annotations

from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.errors import DopwfInputError

DEVICES = ("cpu",)


class BPNNCalculator(Calculator):
    """Energy (eV), forces (eV/A), stress (eV/A^3) and atomic energies from a Behler-Parrinello potential.

    ``device``: "cpu" runs the compiled (numba) kernels on all cores.
    """

    implemented_properties = ("energy", "free_energy", "energies", "forces", "stress")  # a new tuple, not shared

    def __init__(self, potential: BPNNPotential, device: str = "cpu", **kwargs):
        super().__init__(**kwargs)
        if device not in DEVICES:
            raise DopwfInputError(f"device {device!r}: expected one of {DEVICES}")
        self.potential = potential
        self.device = device

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_forces = "forces" in properties
        want_stress = "stress" in properties
        result = self.potential.evaluate(self.atoms, forces=want_forces, stress=want_stress)
        self.results["energy"] = result.energy_eV
        self.results["free_energy"] = result.energy_eV
        self.results["energies"] = result.energies_eV
        if want_forces:
            self.results["forces"] = result.forces_eV_A
        if want_stress:
            self.results["stress"] = full_3x3_to_voigt_6_stress(result.stress_eV_A3)
