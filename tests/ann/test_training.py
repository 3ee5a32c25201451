"""Training: a student network recovers a teacher of the same architecture; splits, checks, files."""

import dataclasses
import json

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from pydantic import ValidationError

from dopant_workflows.ann.dataset import ReferenceImage, load_images, pack_images, split_indices
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.model_io import (
    content_sha256,
    load_potential,
    model_sha256,
    potential_to_document,
    save_potential,
)
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.training import TrainingSettings, _initial_network, train_potential
from dopant_workflows.errors import DopwfInputError


@pytest.fixture(scope="module")
def teacher_images(amp_images):
    """Rattled Li2S cells labelled by a random (5, 5) tanh network: exactly representable by the student."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(40):
        atoms = amp_images[3].copy()
        atoms.positions += rng.normal(scale=0.15, size=atoms.positions.shape)
        frames.append(atoms)
    descriptor = GaussianDescriptor.default(["Li", "S"])
    packed = pack_images(descriptor, [ReferenceImage(a, 0.0, None) for a in frames])
    start = _initial_network(descriptor, packed, TrainingSettings(), rng)
    teacher = AtomicNeuralNetwork({el: ElementNetwork(tuple(2 * w for w in n.weights), n.fp_min, n.fp_max, 0.5, -3.0)
                                   for el, n in start.networks.items()}, "tanh")
    potential = BPNNPotential(descriptor, teacher)
    images = []
    for atoms in frames:
        result = potential.evaluate(atoms)
        atoms.calc = SinglePointCalculator(atoms, energy=result.energy_eV, forces=result.forces_eV_A)
        images.append(ReferenceImage(atoms, result.energy_eV, result.forces_eV_A))
    return images


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_student_learns_teacher(teacher_images, optimizer):
    settings = TrainingSettings(optimizer=optimizer, max_steps=60, validate_every=10, batch_size=8, patience=50, seed=1,
                                final_learning_rate=1e-2)
    result = train_potential(teacher_images, settings, progress=False)
    force_scale = np.std(np.concatenate([i.forces_eV_A for i in teacher_images]))
    first = result.history.validation_force_rmse_eV_A[0]
    assert result.metrics["train"].force_rmse_eV_A < 0.5 * force_scale
    assert min(result.history.validation_force_rmse_eV_A) < 0.8 * first  # it learned, not just started well
    assert result.best_step == result.history.step[int(np.argmin(result.history.validation_loss))]
    assert result.history.step[-1] <= settings.max_steps
    assert {len(v) for v in result.split.values()} == {29, 3, 8}
    assert result.potential.metadata["n_images"] == {"train": 29, "validation": 3, "test": 8}


def test_training_is_reproducible_with_a_seed(teacher_images):
    settings = TrainingSettings(max_steps=10, validate_every=5, seed=4)
    a = train_potential(teacher_images, settings, progress=False).potential
    b = train_potential(teacher_images, settings, progress=False).potential
    for el in a.network.networks:
        for wa, wb in zip(a.network.networks[el].weights, b.network.networks[el].weights, strict=True):
            assert np.array_equal(wa, wb)


def test_stored_jacobian_trains_like_recomputing_it(teacher_images):
    """The stored-Jacobian fast path is an implementation detail: same losses, same network."""
    settings = TrainingSettings(max_steps=20, validate_every=5, seed=3, force_coefficient=1.0)
    fast = train_potential(teacher_images, settings, progress=False)
    slow = train_potential(teacher_images, settings.model_copy(update={"jacobian_memory_GB": 0.0}), progress=False)
    assert fast.history.validation_loss == pytest.approx(slow.history.validation_loss, rel=1e-4)
    assert fast.metrics["test"].force_rmse_eV_A == pytest.approx(slow.metrics["test"].force_rmse_eV_A, rel=1e-4)


def test_overfit_penalty_shrinks_the_weights(teacher_images):
    """AMP's overfit term: same data and seed, smaller weights; the history records the data loss alone."""
    settings = TrainingSettings(max_steps=20, validate_every=10, seed=5, force_coefficient=1.0)

    def norm(result):
        return sum(float((w**2).sum()) for n in result.potential.network.networks.values() for w in n.weights)
    free = train_potential(teacher_images, settings, progress=False)
    penalised = train_potential(teacher_images, settings.model_copy(update={"overfit": 0.1}), progress=False)
    assert norm(penalised) < 0.9 * norm(free)
    assert penalised.history.validation_loss[0] != free.history.validation_loss[0]


def test_early_stopping_stops(teacher_images):
    settings = TrainingSettings(optimizer="adam", learning_rate=0.5, max_steps=200, patience=2, batch_size=4, seed=2)
    result = train_potential(teacher_images, settings, progress=False)
    assert result.stopped_early and result.history.step[-1] < 200


def test_split_follows_the_paper():
    split = split_indices(1000, 0.2, 0.1, np.random.default_rng(0))
    assert (len(split["train"]), len(split["validation"]), len(split["test"])) == (720, 80, 200)
    assert len(np.unique(np.concatenate(list(split.values())))) == 1000
    with pytest.raises(DopwfInputError, match="at least 3"):
        split_indices(2, 0.2, 0.1, np.random.default_rng(0))


def test_model_file_round_trip_and_checksum(tmp_path, teacher_images):
    result = train_potential(teacher_images, TrainingSettings(max_steps=5, validate_every=5), progress=False)
    path = save_potential(result.potential, tmp_path / "model")
    loaded = load_potential(tmp_path / "model")
    atoms = teacher_images[0].atoms
    assert loaded.evaluate(atoms).energy_eV == result.potential.evaluate(atoms).energy_eV
    assert loaded.metadata["training"]["hidden_layers"] == [5, 5]
    # the wall comes from every image (train, validation, test), the same as from the structures themselves
    from dopant_workflows.ann.core_repulsion import CoreRepulsion

    expected = CoreRepulsion.from_images([image.atoms for image in teacher_images], ["Li", "S"], 6.5)
    assert loaded.core_repulsion.onset_A == pytest.approx(expected.onset_A, abs=1e-12)
    assert loaded.core_repulsion.source == expected.source
    document = json.loads(path.read_text())
    document["network"]["elements"]["Li"]["slope_eV"] += 1e-9
    path.write_text(json.dumps(document))
    with pytest.raises(DopwfInputError, match="checksum mismatch"):
        load_potential(path)
    path.write_text(path.read_text()[:100])
    with pytest.raises(DopwfInputError, match="not valid JSON"):
        load_potential(path)


def test_identity_covers_content_not_metadata(tmp_path, teacher_images):
    """The same network trained twice is one network and one models document, whatever its wall time says; a
    changed weight is another network."""
    from dopant_workflows.db import ResultsDB, insert
    from dopant_workflows.jobs.training import train_network

    frames = tmp_path / "frames.extxyz"
    write(str(frames), [i.atoms for i in teacher_images], format="extxyz")
    settings = TrainingSettings(max_steps=5, validate_every=5)
    documents = [train_network([frames], settings, tmp_path / name, progress=False) for name in ("a", "b")]
    files = [json.loads((tmp_path / name / "model.json").read_text()) for name in ("a", "b")]
    assert files[0]["network"] == files[1]["network"]
    assert documents[0].model_sha256 == documents[1].model_sha256 == model_sha256(load_potential(tmp_path / "b"))
    (tmp_path / "db.json").write_text(json.dumps({"kind": "json", "directory": str(tmp_path / "results")}))
    db = ResultsDB.from_file(tmp_path / "db.json")
    for document in documents:
        insert(db, "models", document.model_dump())
    assert len(json.loads((tmp_path / "results" / "models.json").read_text())) == 1
    files[0]["network"]["elements"]["Li"]["slope_eV"] += 1e-9
    assert content_sha256(files[0]) != documents[0].model_sha256
    potential = load_potential(tmp_path / "a")
    elsewhere = dataclasses.replace(potential, metadata={**potential.metadata, "wall_time_s": -1.0, "host": "x"})
    assert model_sha256(elsewhere) == model_sha256(potential)
    assert potential_to_document(elsewhere)["sha256"] != files[0]["sha256"]  # the file checksum sees everything


def test_image_files_are_checked(tmp_path, teacher_images):
    atoms = teacher_images[0].atoms.copy()
    write(tmp_path / "no_calc.extxyz", atoms)  # positions only
    with pytest.raises(DopwfInputError, match="frame 0: has no energy"):
        load_images(tmp_path / "no_calc.extxyz")
    atoms.calc = SinglePointCalculator(atoms, energy=-10.0)
    write(tmp_path / "no_forces.extxyz", atoms)
    with pytest.raises(DopwfInputError, match="has no forces, but force training"):
        load_images(tmp_path / "no_forces.extxyz")
    assert len(load_images(tmp_path / "no_forces.extxyz", need_forces=False)) == 1
    atoms.calc = SinglePointCalculator(atoms, energy=float("nan"), forces=np.zeros((len(atoms), 3)))
    write(tmp_path / "nan.extxyz", atoms)
    with pytest.raises(DopwfInputError, match="NaN or inf"):
        load_images(tmp_path / "nan.extxyz")
    molecule = atoms.copy()
    molecule.pbc = False
    molecule.calc = SinglePointCalculator(molecule, energy=-1.0, forces=np.zeros((len(atoms), 3)))
    write(tmp_path / "molecule.extxyz", molecule)
    with pytest.raises(DopwfInputError, match="periodic"):
        load_images(tmp_path / "molecule.extxyz")
    with pytest.raises(DopwfInputError, match="not found"):
        load_images(tmp_path / "absent.extxyz")


def test_bad_settings_are_named():
    with pytest.raises(ValidationError, match="optimizer\n  Input should be 'lbfgs' or 'adam'"):
        TrainingSettings(optimizer="sgd")
    with pytest.raises(ValidationError, match="hidden_layers"):
        TrainingSettings(hidden_layers=(5, 0))
    with pytest.raises(ValidationError, match="not both 0"):
        TrainingSettings(energy_coefficient=0, force_coefficient=0)


def test_warm_start_continues_from_the_parent_and_keeps_its_split(teacher_images):
    """DP-GEN's init-model: the child starts as the parent (its first validation check is the parent's error on the
    child's validation images), the parent's images keep their parts, the new ones are split by the fractions."""
    from dopant_workflows.ann.training import WarmStart

    settings = TrainingSettings(max_steps=20, validate_every=5, seed=3)
    parent = train_potential(teacher_images[:30], settings, progress=False)
    child = train_potential(teacher_images, settings, progress=False,
                            start=WarmStart(parent.potential, parent.split, "parent-sha"))
    for part in ("train", "validation", "test"):
        assert set(parent.split[part]) <= set(child.split[part])
    new = {part: [i for i in child.split[part] if i >= 30] for part in child.split}
    assert {part: len(v) for part, v in new.items()} == {"test": 2, "validation": 1, "train": 7}
    validation = [teacher_images[i] for i in child.split["validation"]]
    errors = np.concatenate([parent.potential.evaluate(i.atoms).forces_eV_A - i.forces_eV_A for i in validation])
    assert child.history.step[0] == 0
    # J in float32
    assert child.history.validation_force_rmse_eV_A[0] == pytest.approx(np.sqrt((errors**2).mean()), rel=1e-6)
    assert min(child.history.validation_loss) == child.history.validation_loss[
        child.history.step.index(child.best_step)] <= child.history.validation_loss[0]
    assert child.potential.metadata["warm_start_sha256"] == "parent-sha"


def test_warm_start_refuses_another_topology_or_fewer_images(teacher_images):
    from dopant_workflows.ann.training import WarmStart

    parent = train_potential(teacher_images[:30], TrainingSettings(max_steps=5, validate_every=5), progress=False)
    start = WarmStart(parent.potential, parent.split)
    with pytest.raises(DopwfInputError, match=r"hidden layers \[\(5, 5\)\].*\[3\]"):
        train_potential(teacher_images, TrainingSettings(max_steps=5, hidden_layers=(3,)), progress=False, start=start)
    with pytest.raises(DopwfInputError, match="descriptor is not the .gaussian-g2. set"):
        train_potential(teacher_images, TrainingSettings(max_steps=5, descriptor="gaussian-g2"), progress=False,
                        start=start)
    with pytest.raises(DopwfInputError, match="fewer than the 30"):
        train_potential(teacher_images[:20], TrainingSettings(max_steps=5), progress=False, start=start)


def test_train_network_warm_start_needs_the_parents_frames_first(tmp_path, teacher_images):
    from dopant_workflows.jobs.training import train_network

    first, added = tmp_path / "first.extxyz", tmp_path / "added.extxyz"
    write(str(first), [i.atoms for i in teacher_images[:30]], format="extxyz")
    write(str(added), [i.atoms for i in teacher_images[30:]], format="extxyz")
    settings = TrainingSettings(max_steps=5, validate_every=5)
    parent = train_network([first], settings, tmp_path / "parent", progress=False)
    child = train_network([first, added], settings, tmp_path / "child", progress=False,
                          warm_start=tmp_path / "parent")
    report = json.loads((tmp_path / "child" / "training.json").read_text())
    assert report["warm_start"]["model_sha256"] == parent.model_sha256
    assert sum(child.n_images.values()) == 40
    with pytest.raises(DopwfInputError, match="other frames than the first 1"):
        train_network([added, first], settings, tmp_path / "swapped", progress=False, warm_start=tmp_path / "parent")
    with pytest.raises(DopwfInputError, match="expected a trained network's directory"):
        train_network([first], settings, tmp_path / "none", progress=False, warm_start=tmp_path / "missing")
