"""The ASE calculator: bad structures are refused by name; MD with it conserves energy."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.md.verlet import VelocityVerlet
from ase.md.velocitydistribution import thermalize_momenta

from dopant_workflows.ann.amp_io import load_amp
from dopant_workflows.errors import DopwfInputError

from .conftest import REFERENCE_DIR


@pytest.fixture(scope="module")
def calc():
    return load_amp(REFERENCE_DIR / "lgps_default.amp")


def test_unknown_elements_are_named(calc, amp_images):
    atoms = amp_images[2].copy()  # LSiPS: Si and Cl are not in the LGPS model
    atoms.calc = calc
    with pytest.raises(DopwfInputError, match=r"element\(s\) \['Cl', 'Si'\] are not in the model"):
        atoms.get_potential_energy()


@pytest.mark.parametrize(
    ("atoms", "message"),
    [
        (Atoms("Li2", positions=[[0, 0, 0], [2, 0, 0]]), "periodic"),
        (Atoms(cell=[5, 5, 5], pbc=True), "no atoms"),
        (Atoms("Li", positions=[[np.nan, 0, 0]], cell=[5, 5, 5], pbc=True), "NaN"),
    ],
)
def test_bad_structures(calc, atoms, message):
    atoms.calc = calc
    with pytest.raises(DopwfInputError, match=message):
        atoms.get_potential_energy()


def test_unknown_device_and_backend(calc):
    import torch

    from dopant_workflows.ann.calculator import BPNNCalculator

    with pytest.raises(DopwfInputError, match="device 'tpu'"):
        BPNNCalculator(calc.potential, device="tpu")
    with pytest.raises(DopwfInputError, match="backend 'jax'"):
        BPNNCalculator(calc.potential, backend="jax")
    if not torch.cuda.is_available():
        with pytest.raises(DopwfInputError, match="torch sees no CUDA device"):
            BPNNCalculator(calc.potential, device="cuda")


def test_nve_md_conserves_energy(amp_images):
    # a smooth model: the teacher-free LGPS AMP model is stiff (narrow fprange), so use a tiny time step
    calc = load_amp(REFERENCE_DIR / "lgps_default.amp")
    atoms = amp_images[0].copy()
    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=100, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, timestep=0.05 * units.fs)
    start = atoms.get_total_energy()
    dyn.run(40)
    drift = abs(atoms.get_total_energy() - start) / len(atoms)
    assert drift < 1e-5  # eV/atom over 40 steps
    assert atoms.get_kinetic_energy() > 0
    assert set(calc.results) >= {"energy", "forces"}
    assert np.isclose(calc.results["energies"].sum(), calc.results["energy"])
