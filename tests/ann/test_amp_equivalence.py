"""Our descriptor, network and calculator reproduce AMP 1.0.1 (Fortran) on AMP's own saved models."""

import numpy as np
import pytest

from dopant_workflows.ann.amp_io import load_amp_potential
from dopant_workflows.ann.symmetry_functions import G2, G4, default_symmetry_functions

from .conftest import MODEL_IMAGES, REFERENCE_DIR


@pytest.mark.parametrize("model", sorted(MODEL_IMAGES))
def test_fingerprints_match_amp(model, amp_reference, amp_images):
    potential = load_amp_potential(REFERENCE_DIR / f"{model}.amp")
    for atoms, expected in zip(amp_images[MODEL_IMAGES[model]], amp_reference["models"][model]["fingerprints"],
                               strict=True):
        fingerprints, _, _ = potential.descriptor.fingerprints(atoms)
        expected = np.array(expected)
        # the same columns, no more and no fewer (an extra or a missing symmetry function fails here), then the
        # numbers: 3.7e-14 at most was measured (li2s_small; 2.1e-14 lgps_default, 1.8e-14 lsips_custom)
        assert fingerprints.shape == expected.shape
        np.testing.assert_allclose(fingerprints, expected, rtol=0, atol=1e-13)
    n_functions = {element: len(functions) for element, functions in potential.descriptor.functions.items()}
    assert n_functions == amp_reference["models"][model]["n_symmetry_functions"]


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("model", sorted(MODEL_IMAGES))
def test_energies_and_forces_match_amp(model, backend, amp_reference, amp_images):
    from dopant_workflows.ann.calculator import BPNNCalculator

    calc = BPNNCalculator(load_amp_potential(REFERENCE_DIR / f"{model}.amp"), backend=backend)
    for atoms, expected in zip(amp_images[MODEL_IMAGES[model]], amp_reference["models"][model]["results"],
                               strict=True):
        atoms = atoms.copy()
        atoms.calc = calc
        # measured (numba / torch, 2026-11): |dE| <= 4.4e-13 eV, |dF| <= 4.4e-11 eV/A (li2s_small; <= 6.7e-12 on
        # the other two models)
        assert abs(atoms.get_potential_energy() - expected["energy_eV"]) < 1e-12
        assert np.abs(atoms.get_forces() - np.array(expected["forces_eV_A"])).max() < 1e-10


def test_default_set_is_amps_gaussian_56(amp_reference):
    ours = default_symmetry_functions(["S", "Li", "P", "Ge"])
    assert set(ours) == {"Ge", "Li", "P", "S"}
    assert all(len(fs) == 56 for fs in ours.values())
    assert sum(isinstance(f, G2) for f in ours["Li"]) == 16 and sum(isinstance(f, G4) for f in ours["Li"]) == 40
    # same functions in the same order as the Gs AMP wrote into its file
    amp = load_amp_potential(REFERENCE_DIR / "lgps_default.amp").descriptor.functions
    for element in ours:
        for mine, theirs in zip(ours[element], amp[element], strict=True):
            assert type(mine) is type(theirs)
            assert mine.eta == pytest.approx(theirs.eta, rel=1e-12)
    assert amp_reference["models"]["lgps_default"]["n_symmetry_functions"] == {"Ge": 56, "Li": 56, "P": 56, "S": 56}


def test_torch_backend_stress_matches_kernels(amp_images):
    from ase.stress import voigt_6_to_full_3x3_stress

    from dopant_workflows.ann.calculator import BPNNCalculator

    potential = load_amp_potential(REFERENCE_DIR / "lsips_custom.amp")
    atoms = amp_images[2].copy()
    atoms.calc = BPNNCalculator(potential, backend="torch")
    kernels = potential.evaluate(atoms, forces=False, stress=True).stress_eV_A3
    assert voigt_6_to_full_3x3_stress(atoms.get_stress()) == pytest.approx(kernels, abs=1e-9)


def test_torch_backend_in_blocks_gives_the_numbers_of_one_pass(amp_images):
    """Centres taken in blocks (how 100,000 atoms fit a GPU): energy, atomic energies, forces and stress equal
    one pass to round-off, whatever the block size (one centre per block at the extreme)."""
    from dopant_workflows.ann.torch_backend import TorchPotential

    potential = load_amp_potential(REFERENCE_DIR / "lsips_custom.amp")
    atoms = amp_images[2]
    whole = TorchPotential(potential).evaluate(atoms, stress=True)
    for budget in (5_000, 1):
        backend = TorchPotential(potential, max_triplets=budget)
        blocks = backend.blocks(potential.descriptor.fingerprints(atoms)[2].first)
        assert len(blocks) > 1 and blocks[0][0] == 0 and blocks[-1][1] == len(atoms)
        assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))  # contiguous, no centre twice
        parts = backend.evaluate(atoms, stress=True)
        assert parts.energy_eV == pytest.approx(whole.energy_eV, abs=1e-9)
        np.testing.assert_allclose(parts.energies_eV, whole.energies_eV, atol=1e-10)
        np.testing.assert_allclose(parts.forces_eV_A, whole.forces_eV_A, atol=1e-10)
        np.testing.assert_allclose(parts.stress_eV_A3, whole.stress_eV_A3, atol=1e-12)


def test_torch_backend_with_its_neighbour_list_on_the_device_gives_the_same_numbers(amp_images, tmp_path):
    """vesin-torch's list (what a GPU uses; here on the CPU) against vesin's on the host: same energy, forces,
    stress, core repulsion included."""
    pytest.importorskip("vesin_torch", reason="vesin-torch (extra 'gpu') is not installed")
    import dataclasses

    from dopant_workflows.ann.core_repulsion import CoreRepulsion
    from dopant_workflows.ann.torch_backend import TorchPotential

    potential = load_amp_potential(REFERENCE_DIR / "lsips_custom.amp")
    atoms = amp_images[2].copy()
    wall = CoreRepulsion.from_images([atoms], potential.elements, 6.5)
    potential = dataclasses.replace(potential, core_repulsion=wall)
    symbols = np.array(atoms.get_chemical_symbols())
    li, s = np.flatnonzero(symbols == "Li"), np.flatnonzero(symbols == "S")
    d = atoms.get_all_distances(mic=True)[np.ix_(li, s)]
    i, j = np.unravel_index(d.argmin(), d.shape)  # the closest Li-S pair, 0.2 A inside the wall (0.1 A below it)
    atoms.positions[li[i]] += 0.3 * atoms.get_distance(li[i], s[j], mic=True, vector=True) / d[i, j]
    host = TorchPotential(potential, device_neighbour_list=False).evaluate(atoms, stress=True)
    device = TorchPotential(potential, device_neighbour_list=True, max_triplets=20_000).evaluate(atoms, stress=True)
    assert host.core_repulsion_eV > 0 and device.core_repulsion_eV == pytest.approx(host.core_repulsion_eV, abs=1e-12)
    assert device.energy_eV == pytest.approx(host.energy_eV, abs=1e-9)
    np.testing.assert_allclose(device.forces_eV_A, host.forces_eV_A, atol=1e-10)
    np.testing.assert_allclose(device.stress_eV_A3, host.stress_eV_A3, atol=1e-12)
