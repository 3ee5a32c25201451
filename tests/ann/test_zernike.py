"""AMP's Zernike descriptor: AMP's own numbers (tests/data/amp_reference/zernike_reference.json, made by AMP 1.0.1
with tools/amp_reference/make_amp_zernike_reference.py), exact derivatives, invariances, files, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import read

from dopant_workflows.ann.amp_io import amp_text, load_amp, load_amp_potential, save_amp
from dopant_workflows.ann.dataset import ReferenceImage
from dopant_workflows.ann.descriptor import descriptor_from_set
from dopant_workflows.ann.model_io import load_potential, save_potential
from dopant_workflows.ann.neighbors import neighbor_pairs
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.ann.training import train_potential
from dopant_workflows.ann.zernike import ZernikeDescriptor, zernike_functions
from dopant_workflows.errors import DopwfInputError
from tests.ann.test_amp_io import REFERENCE_DIR

REFERENCE = json.loads((REFERENCE_DIR / "zernike_reference.json").read_text())


@pytest.fixture(scope="module")
def images():
    return read(REFERENCE_DIR / "images.extxyz", index=":")


def _model_images(name, images):
    labels = REFERENCE["models"][name]["image_labels"]
    return [a for a in images if a.info["label"] in labels]


def _atoms_amp_drops_neighbours_of(atoms, cutoff_A):
    """Atoms whose AMP 1.0.1 Zernike force misses a neighbour's term: AMP keeps neighbour n of atom s only if
    ``noffset.all() == 0``, so an n != s seen from s only through shifts along all three cell vectors is dropped."""
    pairs = neighbor_pairs(atoms, cutoff_A)
    kept = {(int(s), int(n)) for s, n, shift in zip(pairs.centers, pairs.neighbor, pairs.shifts, strict=True)
            if not shift.all()}
    return {s for s, n in zip(pairs.centers.tolist(), pairs.neighbor.tolist(), strict=True)
            if s != n and (s, n) not in kept}


@pytest.mark.parametrize("name", sorted(REFERENCE["models"]))
def test_fingerprints_and_energies_are_amps(name, images):
    """Fingerprints to 1e-9 relative and energies to 1e-9 eV of AMP's (its Fortran modules)."""
    model = REFERENCE["models"][name]
    calc = load_amp(REFERENCE_DIR / model["file"])
    descriptor = calc.potential.descriptor
    assert isinstance(descriptor, ZernikeDescriptor) and descriptor.nmax == model["nmax"]
    for atoms, fingerprints, result in zip(_model_images(name, images), model["fingerprints"], model["results"],
                                           strict=True):
        ours = descriptor.fingerprints(atoms)[0]
        theirs = np.array(fingerprints)
        assert ours.shape == theirs.shape == (len(atoms), model["n_functions"])
        assert np.abs(ours - theirs).max() <= 1e-9 * np.abs(theirs).max()
        atoms = atoms.copy()
        atoms.calc = calc
        assert abs(atoms.get_potential_energy() - result["energy_eV"]) < 1e-9


@pytest.mark.parametrize("name", sorted(REFERENCE["models"]))
def test_forces_are_the_gradient_of_amps_energy_and_amps_forces_where_amp_keeps_every_neighbour(name, images):
    """Ours equal -dE/dR of AMP's own energy (AMP's finite differences, every component) and AMP's forces on every
    atom whose neighbours AMP's derivative loop keeps; on the others AMP's forces are not its energy's gradient."""
    model = REFERENCE["models"][name]
    calc = load_amp(REFERENCE_DIR / model["file"])
    atoms = _model_images(name, images)[0].copy()
    atoms.calc = calc
    ours = atoms.get_forces()
    amp = np.array(model["results"][0]["forces_eV_A"])
    finite_difference = np.array(model["finite_difference_forces_eV_A"])
    dropped = _atoms_amp_drops_neighbours_of(atoms, calc.potential.descriptor.cutoff_A)
    kept = np.array([i for i in range(len(atoms)) if i not in dropped], dtype=int)
    # measured: 2.4e-11 (LGPS, forces up to 130 eV/A from the scaled random weights), 1.9e-12 eV/A (Li2S)
    assert np.abs(ours[kept] - amp[kept]).max() < 1e-9 * np.abs(amp).max()
    # the finite differences' own error (h = 1e-4 A), read where ours and AMP's agree, bounds ours everywhere
    truncation = np.abs(amp[kept] - finite_difference[kept]).max()
    assert np.abs(ours - finite_difference).max() <= 1.001 * truncation
    differing = np.flatnonzero(np.abs(ours - amp).max(axis=1) > 1e-6)
    assert set(differing.tolist()) == dropped  # LGPS: atoms 28 33 42 43 47 48; Li2S: none
    if len(differing):  # there AMP's forces are not its energy's gradient: 0.03 eV/A off, ours 1e-4
        assert np.abs(amp[differing] - finite_difference[differing]).max() \
            > 20 * np.abs(ours[differing] - finite_difference[differing]).max()


def test_amp_reads_our_zernike_files(images):
    """saved_by_dopant_workflows_zernike.amp: trained here (tools/amp_reference/make_saved_model.py), loaded by
    AMP 1.0.1 (make_amp_reference.py --check): AMP's energies equal ours, and its forces wherever its loop keeps
    every neighbour."""
    path = REFERENCE_DIR / "saved_by_dopant_workflows_zernike.amp"
    amp_results = json.loads((REFERENCE_DIR / "saved_by_dopant_workflows_zernike.amp_results.json").read_text())
    calc = load_amp(path)
    atoms = read(REFERENCE_DIR / "li2s_images.extxyz")
    atoms.calc = calc
    assert isinstance(calc.potential.descriptor, ZernikeDescriptor)
    assert abs(atoms.get_potential_energy() - amp_results["results"][0]["energy_eV"]) < 1e-9
    assert np.abs(atoms.get_forces() - np.array(amp_results["results"][0]["forces_eV_A"])).max() < 1e-9
    assert amp_text(calc.potential) == path.read_text()


def test_function_counts_are_the_papers():
    """nmax 5 / 7 / 12: the 12 / 20 / 49 functions of the paper's Table 1, whatever the number of elements."""
    assert [len(zernike_functions(n)) for n in (5, 7, 12)] == [12, 20, 49]
    descriptor = descriptor_from_set("zernike-nmax7", ["S", "Li", "P", "Ge"])
    assert descriptor.n_functions == {el: 20 for el in ("Ge", "Li", "P", "S")}
    assert descriptor.coefficients["Li"] == {"Ge": 32.0, "Li": 3.0, "P": 15.0, "S": 16.0}  # AMP: atomic numbers


def test_derivatives_are_exact_and_fingerprints_invariant(images):
    """JVP against central differences of the fingerprints; VJP its transpose; the stored float32 Jacobian the
    same contraction; rotations and permutations leave the fingerprints unchanged (nmax 7 on LSiPS, 5 elements)."""
    atoms = images[2]
    descriptor = ZernikeDescriptor.default(sorted(set(atoms.get_chemical_symbols())), 7)
    fingerprints, species, pairs = descriptor.fingerprints(atoms)
    rng = np.random.default_rng(5)
    u = rng.normal(size=(len(atoms), 3))
    jvp = descriptor.fingerprint_directional_derivative(species, pairs, u)
    h = 1e-5
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions += h * u
    minus.positions -= h * u
    central = (descriptor.fingerprints(plus)[0] - descriptor.fingerprints(minus)[0]) / (2 * h)
    assert np.abs(jvp - central).max() < 1e-6 * np.abs(central).max()
    weights = rng.normal(size=fingerprints.shape)
    gradient, _ = descriptor.energy_gradient(species, pairs, weights)
    assert np.isclose((gradient * u).sum(), (weights * jvp).sum(), rtol=1e-10)
    terms = pairs.terms(descriptor.cutoff_A)
    jacobian = descriptor.pair_jacobian(species, pairs.first, pairs.neighbor, pairs.vectors, terms)
    stored = descriptor.jacobian_jvp(species, pairs.first, pairs.neighbor, jacobian, u)
    assert np.abs(stored - jvp).max() < 1e-5 * np.abs(jvp).max()
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ rotation.T, scale_atoms=True)
    assert np.abs(descriptor.fingerprints(rotated)[0] - fingerprints).max() < 1e-9 * np.abs(fingerprints).max()
    order = rng.permutation(len(atoms))
    assert np.allclose(descriptor.fingerprints(atoms[order])[0], fingerprints[order], rtol=1e-10, atol=0)


def test_model_files_round_trip(tmp_path, images):
    """model.json and .amp keep a Zernike model's numbers exactly."""
    potential = load_amp_potential(REFERENCE_DIR / "li2s_zernike.amp")
    atoms = _model_images("li2s_zernike", images)[0]
    before = potential.evaluate(atoms)
    for path in (save_potential(potential, tmp_path / "model"), save_amp(potential, tmp_path / "again.amp")):
        after = load_potential(path).evaluate(atoms)
        assert after.energy_eV == before.energy_eV
        assert np.array_equal(after.forces_eV_A, before.forces_eV_A)


def test_a_zernike_committee_is_each_members_own_evaluation(images):
    """The fused MD kernel computes Gaussian fingerprints only: a Zernike model is not packed for it, and a
    committee of Zernike members (active learning's deviation) gives each member's own energy and forces."""
    from dopant_workflows.ann.committee import committee_evaluate

    first = load_amp_potential(REFERENCE_DIR / "li2s_zernike.amp")
    second = load_amp_potential(REFERENCE_DIR / "li2s_zernike.amp")
    for weights in second.network.networks["S"].weights:
        weights *= 1.1  # another member: same descriptor, other numbers
    assert first.packed_network is None
    atoms = _model_images("li2s_zernike", images)[0]
    for member, result in zip((first, second), committee_evaluate([first, second], atoms), strict=True):
        alone = member.evaluate(atoms)
        assert result.energy_eV == pytest.approx(alone.energy_eV, abs=1e-10)
        assert np.allclose(result.forces_eV_A, alone.forces_eV_A, atol=1e-10)
    assert abs(first.evaluate(atoms).energy_eV - second.evaluate(atoms).energy_eV) > 1e-3


def test_zernike_networks_train(images):
    """train_potential with descriptor zernike-nmax5 fits Li2S frames labelled by an AMP network: the force error
    falls from the start."""
    teacher = load_amp(REFERENCE_DIR / "li2s_small.amp")
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(14):
        atoms = images[3].copy()
        atoms.positions += rng.normal(scale=0.03, size=atoms.positions.shape)
        atoms.calc = teacher
        frames.append(ReferenceImage(atoms, atoms.get_potential_energy(), atoms.get_forces()))
    settings = TrainingSettings(descriptor="zernike-nmax5", hidden_layers=(5, 5), force_coefficient=1.0,
                                max_steps=60, validate_every=10, seed=2)
    result = train_potential(frames, settings, progress=False)
    assert isinstance(result.potential.descriptor, ZernikeDescriptor)
    history = result.history.validation_force_rmse_eV_A
    assert history[-1] < 0.7 * history[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nmax": {"Li": 3, "S": 4}}, "per-element dict"),
        ({"nmax": -1}, "expected an integer"),
        ({"coefficients": {"Li": {"Li": 3.0}, "S": {"Li": 3.0, "S": 16.0}}}, r"coefficients\['Li'\]"),
        ({"coefficients": {"Li": {"Li": "x", "S": 1}, "S": {"Li": 3.0, "S": 16.0}}}, "expected numbers"),
        ({"cutoff_A": 0.0}, "cutoff_A"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    parameters = {"elements": ("Li", "S"), "nmax": 4,
                  "coefficients": {"Li": {"Li": 3.0, "S": 16.0}, "S": {"Li": 3.0, "S": 16.0}}, **kwargs}
    with pytest.raises(DopwfInputError, match=message):
        ZernikeDescriptor(**parameters)
    with pytest.raises(DopwfInputError, match="zernike-nmaxN"):
        descriptor_from_set("zernike-12", ["Li", "S"])
