"""Physics of the descriptor: invariances, periodic images, exact derivatives."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import make_supercell

from dopant_workflows.ann.descriptor import GaussianDescriptor


@pytest.fixture(scope="module")
def lgps(amp_images):
    return amp_images[0]


def test_invariant_under_rotation_translation_and_permutation(lgps_potential, lgps):
    descriptor = lgps_potential.descriptor
    reference, _, _ = descriptor.fingerprints(lgps)
    moved = lgps.copy()
    moved.rotate(37, (1, 2, 3), rotate_cell=True)
    moved.translate((0.3, -1.2, 2.0))
    order = np.random.default_rng(0).permutation(len(moved))
    shuffled = moved[order]
    fingerprints, _, _ = descriptor.fingerprints(shuffled)
    assert fingerprints == pytest.approx(reference[order], abs=1e-10)


def test_supercell_repeats_the_unit_cell_fingerprints(lgps_potential, amp_images):
    small = amp_images[3]  # Li2S cell smaller than the cutoff: many images of each atom, itself included
    descriptor = GaussianDescriptor.default(["Li", "S"])
    unit, _, _ = descriptor.fingerprints(small)
    repeated, _, _ = descriptor.fingerprints(small.repeat((2, 1, 3)))
    assert repeated == pytest.approx(np.tile(unit, (6, 1)), rel=1e-10, abs=1e-12)
    # a non-diagonal supercell (two unit cells) holds every unit-cell environment twice
    sheared = make_supercell(small, [[1, 1, 0], [0, 1, 0], [0, 0, 2]])
    fingerprints, _, _ = descriptor.fingerprints(sheared)
    assert _sorted_rows(fingerprints) == pytest.approx(_sorted_rows(np.tile(unit, (2, 1))), rel=1e-10, abs=1e-12)


def _sorted_rows(matrix):
    return matrix[np.lexsort(np.round(matrix, 8).T[::-1])]


def test_isolated_pair_g2_is_analytic():
    # two atoms 3 A apart in a box much larger than the cutoff: G2 = exp(-eta (r - Rs)^2 / Rc^2) f_c(r)
    atoms = Atoms("LiS", positions=[[0, 0, 0], [3.0, 0, 0]], cell=[30, 30, 30], pbc=True)
    descriptor = GaussianDescriptor.default(["Li", "S"])
    fingerprints, _, _ = descriptor.fingerprints(atoms)
    rc, r = 6.5, 3.0
    fc = 0.5 * (np.cos(np.pi * r / rc) + 1)
    for k, f in enumerate(descriptor.functions["Li"]):
        expected = np.exp(-f.eta * (r - f.offset_A) ** 2 / rc**2) * fc if getattr(f, "element", None) == "S" else 0.0
        assert fingerprints[0, k] == pytest.approx(expected, abs=1e-14)


def test_forces_are_the_exact_gradient(lgps_potential, lgps):
    atoms = lgps.copy()
    result = lgps_potential.evaluate(atoms, forces=True)
    h = 1e-5
    for index, axis in [(0, 0), (13, 1), (27, 2), (49, 0)]:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[index, axis] += sign * h
            energies.append(lgps_potential.evaluate(moved, forces=False).energy_eV)
        assert result.forces_eV_A[index, axis] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-6)
    assert np.abs(result.forces_eV_A.sum(axis=0)).max() < 1e-10  # Newton's third law


def test_stress_is_the_strain_derivative(lgps_potential, lgps):
    atoms = lgps.copy()
    stress = lgps_potential.evaluate(atoms, forces=False, stress=True).stress_eV_A3
    h = 1e-6  # the random test model is stiff: larger steps carry O(h^2) truncation above 1e-6
    for a, b in [(0, 0), (1, 2), (2, 2)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * h
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
            energies.append(lgps_potential.evaluate(strained, forces=False).energy_eV)
        derivative = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert 0.5 * (stress[a, b] + stress[b, a]) == pytest.approx(derivative, rel=1e-6)


def test_jvp_and_vjp_are_adjoint_and_match_finite_differences(lgps_potential, lgps):
    descriptor = lgps_potential.descriptor
    rng = np.random.default_rng(1)
    fingerprints, species, pairs = descriptor.fingerprints(lgps)
    weights = rng.normal(size=fingerprints.shape)
    displacement = rng.normal(size=(len(lgps), 3))
    jvp = descriptor.fingerprint_directional_derivative(species, pairs, displacement)
    vjp, _ = descriptor.energy_gradient(species, pairs, weights)
    assert np.sum(weights * jvp) == pytest.approx(np.sum(vjp * displacement), rel=1e-10)
    h = 1e-6
    plus, minus = lgps.copy(), lgps.copy()
    plus.positions += h * displacement
    minus.positions -= h * displacement
    numeric = (descriptor.fingerprints(plus)[0] - descriptor.fingerprints(minus)[0]) / (2 * h)
    assert jvp == pytest.approx(numeric, abs=1e-6)


def test_stored_jacobian_contracts_like_the_triplet_kernels(lgps_potential, lgps):
    """Training's stored Jacobian (float32, only the columns each pair touches) gives the VJP/JVP kernels' numbers
    to single precision; the columns it leaves out are exactly zero in the full Jacobian (finite differences)."""
    from dopant_workflows.ann import kernels

    descriptor = lgps_potential.descriptor
    rng = np.random.default_rng(2)
    fingerprints, species, pairs = descriptor.fingerprints(lgps)
    terms = pairs.terms(descriptor.cutoff_A)
    args = descriptor.kernel_args(species, pairs.first, pairs.neighbor, pairs.vectors, terms)
    jacobian = descriptor.pair_jacobian(species, pairs.first, pairs.neighbor, pairs.vectors, terms)
    width = descriptor.jacobian_width
    assert jacobian.dtype == np.float32 and jacobian.shape == (pairs.n_pairs, width, 3)
    assert width < fingerprints.shape[1] / 2  # LGPS, 4 elements: most columns of a pair are zero
    weights = rng.normal(size=fingerprints.shape)
    displacements = rng.normal(size=(len(species), 3))
    vjp = kernels.fingerprints_vjp(*args, weights)
    jvp = kernels.fingerprints_jvp(*args, displacements[pairs.neighbor] - displacements[pairs.centers])
    stored_vjp = descriptor.jacobian_vjp(species, pairs.first, pairs.neighbor, jacobian, weights)
    stored_jvp = descriptor.jacobian_jvp(species, pairs.first, pairs.neighbor, jacobian, displacements)
    assert stored_vjp == pytest.approx(vjp, rel=1e-5, abs=1e-5 * np.abs(vjp).max())
    assert stored_jvp == pytest.approx(jvp, rel=1e-5, abs=1e-5 * np.abs(jvp).max())
    # one pair moved: only its centre's touched columns change
    p = int(np.argmax(terms[0] < 3.0))
    i, e = int(pairs.centers[p]), int(species[pairs.neighbor[p]])
    moved = pairs.vectors.copy()
    moved[p] += [1e-4, -2e-4, 1.5e-4]
    shifted = kernels.fingerprints(*descriptor.kernel_args(species, pairs.first, pairs.neighbor, moved,
                                                           kernels.pair_terms(moved, descriptor.cutoff_A)))
    changed = set(np.flatnonzero(shifted[i] != fingerprints[i]))
    columns = descriptor._tables.pair_columns[species[i], e]
    assert changed and changed <= set(columns[columns >= 0])
