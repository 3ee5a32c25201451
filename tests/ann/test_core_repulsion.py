"""The wall beneath the training data: zero where the network was trained, exact derivatives inside, kept by the
model file, the same on both backends, and it stops the collapse an untrained direction would allow."""

import dataclasses

import numpy as np
import pytest

from dopant_workflows.ann.calculator import BPNNCalculator
from dopant_workflows.ann.core_repulsion import NO_DATA, CoreRepulsion
from dopant_workflows.ann.model_io import load_potential, model_sha256, save_potential
from dopant_workflows.ann.neighbors import neighbor_pairs
from dopant_workflows.errors import DopwfInputError


@pytest.fixture(scope="module")
def walled(lgps_potential, amp_images):
    images = amp_images[:2]  # the LGPS images the AMP model describes
    core = CoreRepulsion.from_images(images, lgps_potential.elements, 6.5)
    return dataclasses.replace(lgps_potential, core_repulsion=core), images


def _squeezed(atoms, onset_A):
    """Move the closest Li towards its closest S to onset - 0.15 A (inside the wall)."""
    atoms = atoms.copy()
    symbols = np.array(atoms.get_chemical_symbols())
    li, s = np.flatnonzero(symbols == "Li"), np.flatnonzero(symbols == "S")
    d = atoms.get_all_distances(mic=True)[np.ix_(li, s)]
    i, j = np.unravel_index(d.argmin(), d.shape)
    vector = atoms.get_distance(li[i], s[j], mic=True, vector=True)
    atoms.positions[li[i]] += vector * (1 - (onset_A - 0.15) / np.linalg.norm(vector))
    return atoms


def test_onsets_are_the_closest_approach_in_the_data(walled):
    potential, images = walled
    core = potential.core_repulsion
    for atoms in images:
        symbols = np.array(atoms.get_chemical_symbols())
        d = atoms.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        assert d[np.ix_(symbols == "Li", symbols == "S")].min() >= core.onset_A["Li-S"] + 0.1 - 1e-12
    closest = min(a.get_all_distances(mic=True)[np.ix_(np.array(a.get_chemical_symbols()) == "P",
                                                        np.array(a.get_chemical_symbols()) == "S")].min()
                  for a in images)
    assert core.onset_A["P-S"] == pytest.approx(closest - 0.1, abs=1e-12)  # 0.1 A margin beyond the data
    assert core.source["P-S"] == "training data - 0.1 A"


def test_unseen_pairs_get_covalent_radii(amp_images):
    from ase import Atoms

    lonely = Atoms("LiS", positions=[[0, 0, 0], [2.3, 0, 0]], cell=[7, 7, 7], pbc=True)
    core = CoreRepulsion.from_images([lonely], ["Li", "S"], 6.5)
    assert core.source["Li-Li"] == NO_DATA and core.onset_A["Li-Li"] == pytest.approx(2 * 1.28)
    assert core.onset_A["Li-S"] == pytest.approx(2.2) and core.source["Li-S"].startswith("training data")


def test_pairs_never_bonded_in_the_data_are_walled_at_bonding_distance_not_at_their_closest_approach():
    """Two P a tetrahedron apart (3.6 A, as the PS4 centres of the LSiPS cells): their closest approach in the
    data says where the anions kept them, not where their cores meet; the wall starts at the bonding distance
    (covalent radii 1.07 + 1.07 A), so an ordinary 3.5 A P-P contact feels nothing. Bonded P-S keeps its data onset."""
    from ase import Atoms

    cell = Atoms("P2S", positions=[[0, 0, 0], [3.6, 0, 0], [1.8, 0.9, 0]], cell=[9, 9, 9], pbc=True)
    core = CoreRepulsion.from_images([cell], ["P", "S"], 6.5)
    assert core.onset_A["P-P"] == pytest.approx(2 * 1.07)
    assert core.source["P-P"] == "covalent radii (never bonded in the data: closest 3.60 A)"
    assert (core.onset_A["P-S"] == pytest.approx(np.hypot(1.8, 0.9) - 0.1)
            and core.source["P-S"] == "training data - 0.1 A")
    squeezed = cell.copy()
    squeezed.positions[1, 0] = 3.5  # 0.1 A closer than any P-P in the data: inside the old onset (3.5 A)
    assert core.evaluate(np.array([0, 0, 1]), ("P", "S"), neighbor_pairs(squeezed, 6.5))[0] == 0.0
    overlapping = Atoms("P2", positions=[[0, 0, 0], [2.0, 0, 0]], cell=[9, 9, 9], pbc=True)  # cores: the wall acts
    assert core.evaluate(np.array([0, 0]), ("P", "S"), neighbor_pairs(overlapping, 6.5))[0] > 0.0


def test_zero_on_the_training_images(walled, lgps_potential):
    potential, images = walled
    for atoms in images:
        plain, wall = lgps_potential.evaluate(atoms, stress=True), potential.evaluate(atoms, stress=True)
        assert wall.core_repulsion_eV == 0.0
        assert wall.energy_eV == plain.energy_eV
        np.testing.assert_array_equal(wall.forces_eV_A, plain.forces_eV_A)


def test_forces_and_stress_inside_the_wall_are_exact_derivatives(walled):
    potential, images = walled
    atoms = _squeezed(images[0], potential.core_repulsion.onset_A["Li-S"])
    result = potential.evaluate(atoms, stress=True)
    assert result.core_repulsion_eV > 0.05
    h = 1e-5
    for index in (0, int(np.argmax(np.abs(result.forces_eV_A).sum(axis=1)))):
        for k in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[index, k] += h
            minus.positions[index, k] -= h
            numeric = -(potential.evaluate(plus, forces=False).energy_eV
                        - potential.evaluate(minus, forces=False).energy_eV) / (2 * h)
            assert result.forces_eV_A[index, k] == pytest.approx(numeric, abs=1e-5)
    for k in range(3):  # uniaxial strain: stress_kk = dE/d(eps_kk) / V
        strains = []
        for eps in (h, -h):
            strained = atoms.copy()
            deformation = np.eye(3)
            deformation[k, k] += eps
            strained.set_cell(atoms.cell.array @ deformation, scale_atoms=True)
            strains.append(potential.evaluate(strained, forces=False).energy_eV)
        numeric = (strains[0] - strains[1]) / (2 * h) / atoms.get_volume()
        assert result.stress_eV_A3[k, k] == pytest.approx(numeric, abs=1e-6)


def test_model_file_keeps_the_wall_and_the_torch_backend_agrees(walled, tmp_path, lgps_potential):
    potential, images = walled
    path = save_potential(potential, tmp_path / "model.json")
    loaded = load_potential(path)
    assert loaded.core_repulsion == potential.core_repulsion
    assert model_sha256(loaded) == model_sha256(potential) != model_sha256(lgps_potential)
    atoms = _squeezed(images[0], potential.core_repulsion.onset_A["Li-S"])
    numba, torch_calc = BPNNCalculator(loaded), BPNNCalculator(loaded, backend="torch")
    a, b = atoms.copy(), atoms.copy()
    a.calc, b.calc = numba, torch_calc
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-9)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), atol=1e-8)
    assert numba.results["core_repulsion_energy"] > 0
    assert numba.results["core_repulsion_energy"] == pytest.approx(torch_calc.results["core_repulsion_energy"])


def test_bad_parameters_are_refused():
    with pytest.raises(DopwfInputError, match="strength_eV"):
        CoreRepulsion({"Li-Li": 2.0}, {"Li-Li": "training data"}, strength_eV=0.0)
    with pytest.raises(DopwfInputError, match="outside"):
        CoreRepulsion({"Li-Li": -1.0}, {"Li-Li": "training data"})


def test_active_learning_finds_the_frames_beyond_the_data(walled, tmp_path):
    """Frames with a pair inside the wall are found (their wall energy > 0) and chosen for labelling on top of
    frames chosen already, evenly and within the cap; a network without a wall reports nothing."""
    from dopant_workflows.jobs.active_learning import _beyond_data_choice, core_repulsion_energies

    potential, images = walled
    onset = potential.core_repulsion.onset_A["Li-S"]
    frames = [images[0], _squeezed(images[0], onset), images[1], _squeezed(images[1], onset)]
    save_potential(potential, tmp_path / "walled")
    walls = core_repulsion_energies(frames, tmp_path / "walled")
    assert walls[0] == 0 and walls[2] == 0 and walls[1] > 0 and walls[3] > 0
    assert _beyond_data_choice(walls, np.array([0, 1]), 10).tolist() == [3]  # frame 1 is labelled already
    assert _beyond_data_choice(walls, np.array([], dtype=int), 1).tolist() == [1]  # cap
    assert _beyond_data_choice(None, np.array([0]), 10).tolist() == []
    save_potential(dataclasses.replace(potential, core_repulsion=None), tmp_path / "plain")
    assert core_repulsion_energies(frames, tmp_path / "plain") is None
