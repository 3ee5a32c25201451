"""ASE calculator for :class:`BPNNPotential`: any ASE MD driver or optimiser can use it."""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.neighbors import VerletList
from dopant_workflows.errors import DopwfInputError

BACKENDS = ("numba", "torch")
#: Verlet skin (A): at 900 K a Li atom moves ~0.04 A per 2 fs step, so the list lasts tens of steps
DEFAULT_SKIN_A = 1.0


class BPNNCalculator(Calculator):
    """Energy (eV), forces (eV/A), stress (eV/A^3) and atomic energies from a Behler-Parrinello potential.

    ``device``: "cpu" (default) runs the compiled numba kernels on all cores; "cuda" or "cuda:N" runs the
    PyTorch backend on that GPU. ``backend="torch"`` forces the PyTorch backend (also on "cpu").
    ``skin_A`` (numba backend): neighbour pairs are searched to cutoff + skin and reused until an atom has moved
    half the skin (a Verlet list; the same pairs, energies and forces as a search at every call); 0 searches at
    every call. ``fused_kernel`` (numba backend): one compiled pass per centre atom; False evaluates
    fingerprints, networks and forces as three steps (same numbers to rounding, slower: a cross-check).
    """

    implemented_properties = ("energy", "free_energy", "energies", "forces", "stress")  # a new tuple, not shared

    def __init__(self, potential: BPNNPotential, device: str = "cpu", backend: str | None = None,
                 skin_A: float = DEFAULT_SKIN_A, fused_kernel: bool = True, **kwargs):
        super().__init__(**kwargs)
        backend = backend or ("numba" if device == "cpu" else "torch")
        if backend not in BACKENDS:
            raise DopwfInputError(f"backend {backend!r}: expected one of {BACKENDS}")
        if backend == "numba" and device != "cpu":
            raise DopwfInputError(f"device {device!r}: the numba backend runs on 'cpu' only; use backend='torch'")
        self.potential = potential
        self.device = device
        self.backend = backend
        self._evaluator = potential if backend == "numba" else _torch_evaluator(potential, device)
        self.neighbor_list = VerletList(potential.descriptor.cutoff_A, skin_A) if backend == "numba" else None
        self.fused_kernel = fused_kernel

    def check_state(self, atoms, tol=1e-15):
        """ASE's check (which properties changed since the last call) with exact comparisons instead of
        np.isclose on every array: ~1 ms of a ~10 ms MD step at 150 atoms. Stricter only for changes below
        ``tol`` (those are recomputed: same results)."""
        if self.atoms is None:
            return list(all_changes)
        checked = set(all_changes) - set(self.ignored_changes)
        changes = [prop for prop in ("cell", "pbc")
                   if prop in checked and not np.array_equal(getattr(self.atoms, prop), getattr(atoms, prop))]
        old, new = self.atoms.arrays, atoms.arrays
        changes += sorted(checked & (set(old) ^ set(new)))
        changes += [prop for prop in sorted(checked & set(old) & set(new)) if not np.array_equal(old[prop], new[prop])]
        return changes

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_forces = "forces" in properties
        want_stress = "stress" in properties
        if self.neighbor_list is not None:
            result = self._evaluator.evaluate(self.atoms, forces=want_forces, stress=want_stress,
                                              pairs=self.neighbor_list.pairs(self.atoms),
                                              fused_kernel=self.fused_kernel)
        else:
            result = self._evaluator.evaluate(self.atoms, forces=want_forces, stress=want_stress)
        self.results["energy"] = result.energy_eV
        self.results["free_energy"] = result.energy_eV
        self.results["energies"] = result.energies_eV
        self.results["core_repulsion_energy"] = result.core_repulsion_eV  # > 0: atoms closer than the data went
        if want_forces:
            self.results["forces"] = result.forces_eV_A
        if want_stress:
            self.results["stress"] = full_3x3_to_voigt_6_stress(result.stress_eV_A3)


def _torch_evaluator(potential: BPNNPotential, device: str):
    import torch

    from dopant_workflows.ann.torch_backend import TorchPotential

    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise DopwfInputError(f"device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise DopwfInputError(f"device {device!r}: torch sees no CUDA device (torch.cuda.is_available() is False)")
    if parsed.type not in ("cpu", "cuda"):
        raise DopwfInputError(f"device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    return TorchPotential(potential, device)
