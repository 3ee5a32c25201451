"""The ASE calculator: bad structures are refused by name; MD with it conserves energy."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

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


def _pair_set(pairs):
    return sorted(zip(pairs.centers.tolist(), pairs.neighbor.tolist(), map(tuple, pairs.shifts.tolist()), strict=True))


def test_verlet_list_gives_a_fresh_search_s_pairs_and_forces(lgps_potential, amp_images):
    """Along a random walk that carries atoms well past half the skin (so the list is rebuilt), in a cell smaller
    than twice the cutoff (periodic images of one neighbour are separate pairs), then in a strained cell: the same
    pairs as a fresh search at every step, in the same order, and energies, forces and stress to 1e-10; a list
    built at any step gives the long-lived list's forces bit for bit (what a resumed MD needs)."""
    from dopant_workflows.ann import kernels
    from dopant_workflows.ann.calculator import BPNNCalculator
    from dopant_workflows.ann.neighbors import VerletList, neighbor_pairs

    atoms = amp_images[0].copy()
    assert min(atoms.cell.lengths()) < 2 * lgps_potential.descriptor.cutoff_A
    fresh, verlet = BPNNCalculator(lgps_potential, skin_A=0.0), BPNNCalculator(lgps_potential, skin_A=1.0)
    rng = np.random.default_rng(1)
    start = atoms.positions.copy()
    for step in range(40):
        if step == 30:
            atoms.set_cell(atoms.cell.array * 1.01, scale_atoms=True)
        else:
            atoms.positions += rng.normal(scale=0.06, size=atoms.positions.shape)
        searched = neighbor_pairs(atoms, lgps_potential.descriptor.cutoff_A)
        kept = verlet.neighbor_list.pairs(atoms)
        assert _pair_set(kept) == _pair_set(searched)
        # in one order that depends on the pairs alone (centre, neighbour, shift)
        assert list(zip(kept.centers.tolist(), kept.neighbor.tolist(), map(tuple, kept.shifts.tolist()),
                        strict=True)) == _pair_set(searched)
        verlet.neighbor_list.n_calls -= 1  # the check above is not one of the calculator's calls
        # the distances and cutoff terms the filter computes in its pass: pair_terms' numbers, bit for bit
        for given, computed in zip(kept.terms(lgps_potential.descriptor.cutoff_A),
                                   kernels.pair_terms(kept.vectors, lgps_potential.descriptor.cutoff_A), strict=True):
            np.testing.assert_array_equal(given, computed)
        for name in ("energy", "forces", "stress"):
            a, b = fresh.get_property(name, atoms), verlet.get_property(name, atoms)
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-10, err_msg=f"{name} at step {step}")
        # a list built now (as after a resumed MD's checkpoint) sums in the same order: the same forces, bit for bit
        rebuilt = BPNNCalculator(lgps_potential, skin_A=1.0)
        np.testing.assert_array_equal(rebuilt.get_property("forces", atoms), verlet.get_property("forces", atoms))
    assert np.abs(atoms.positions - start).max() > 1.0
    kept = verlet.neighbor_list
    assert 3 <= kept.n_builds <= 40 // 3 and fresh.neighbor_list.n_builds == fresh.neighbor_list.n_calls
    with pytest.raises(DopwfInputError, match="skin_A"):
        VerletList(6.5, -1.0)


def test_check_state_names_the_same_changes_as_ase(calc, amp_images):
    """The calculator's exact comparison reports what ASE's compare_atoms reports (and nothing for no change)."""
    from ase.calculators.calculator import compare_atoms

    atoms = amp_images[0].copy()
    atoms.calc = calc
    atoms.get_forces()
    moved, strained, charged, swapped = (atoms.copy() for _ in range(4))
    moved.positions[3, 1] += 1e-6
    strained.set_cell(atoms.cell * 1.01)
    charged.set_initial_charges(np.linspace(-1, 1, len(atoms)))
    numbers = swapped.numbers.copy()
    numbers[[0, -1]] = numbers[[-1, 0]]
    swapped.numbers = numbers
    assert calc.check_state(atoms) == []
    for changed in (moved, strained, charged, swapped):
        found = calc.check_state(changed)
        assert found and set(found) == set(compare_atoms(calc.atoms, changed))
    forces = atoms.get_forces()
    moved.calc = calc
    assert np.abs(moved.get_forces() - forces).max() > 0  # recomputed for the moved atom
