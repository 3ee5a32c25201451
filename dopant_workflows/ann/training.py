"""Training a Behler-Parrinello potential on reference energies and forces (AMP's loss, the paper's split).

Loss per batch of images (AMP's ``LossFunction``, averaged instead of summed over images):

    L = c_E mean_img ((E_pred - E_ref) / N)^2 + c_F mean_img (1 / 3N) sum_atoms,xyz (F_pred - F_ref)^2
        [+ overfit sum w^2]

with c_E = 1 and c_F = 0.04 by default (AMP's overfit penalty is off by default, as in AMP). Energies come from
the per-element networks; forces are F = -J^T dE/dG with J = dG/dR, and their weight gradients are written out
(:mod:`dopant_workflows.ann.force_training`: one JVP and two sweeps through the networks, not torch's double
backward); torch keeps the loss, the optimizers and the parameters. J is stored per pair (the columns each
pair moves) when it fits in ``jacobian_memory_GB`` (a step is then a contraction), else applied by the compiled
vector-Jacobian and Jacobian-vector kernels at every step (AMP keeps J on disk: 2.65 GB per 100 images).
Fingerprints are computed once. Early stopping keeps the weights with the lowest validation loss (data terms
only).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from dopant_workflows import __version__
from dopant_workflows.ann.core_repulsion import CoreRepulsion, closest_approach_A
from dopant_workflows.ann.dataset import PackedImages, ReferenceImage, extend_split, pack_images, split_indices
from dopant_workflows.ann.descriptor import AtomCentredDescriptor, descriptor_from_set
from dopant_workflows.ann.evaluation import ErrorMetrics, error_metrics
from dopant_workflows.ann.force_training import energies_and_forces
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.ann.torch_network import TorchNetworks
from dopant_workflows.errors import DopwfInputError

log = logging.getLogger(__name__)


@dataclass
class TrainingHistory:
    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    validation_energy_rmse_eV_atom: list[float] = field(default_factory=list)
    validation_force_rmse_eV_A: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingResult:
    potential: BPNNPotential
    settings: TrainingSettings
    split: dict[str, np.ndarray]
    metrics: dict[str, ErrorMetrics]
    history: TrainingHistory
    best_step: int
    stopped_early: bool
    wall_time_s: float


@dataclass(frozen=True)
class WarmStart:
    """A trained network to continue from (DP-GEN's ``training_init_model``): its weights and its input and
    output scaling are the starting point, and its split over the images it saw (the first ones) is kept, so
    that no image it trained on is a test image of its successor."""

    potential: BPNNPotential
    split: dict[str, np.ndarray]
    sha256: str | None = None  # the start network's identity, recorded in the new one's metadata

    def checked_descriptor(self, elements: list[str], settings: TrainingSettings) -> AtomCentredDescriptor:
        """Its descriptor, when it is the one ``settings`` asks for on these elements and its network has the
        asked topology; otherwise an error naming the difference."""
        descriptor, network = self.potential.descriptor, self.potential.network
        wanted = descriptor_from_set(settings.descriptor, elements, settings.cutoff_A)
        if descriptor.elements != wanted.elements:
            raise DopwfInputError(f"warm start: the network knows elements {list(descriptor.elements)}, the images "
                                  f"hold {elements}; train it anew")
        if descriptor != wanted:
            raise DopwfInputError(f"warm start: the network's descriptor is not the {settings.descriptor!r} "
                                  f"set with a {settings.cutoff_A} A cutoff")
        hidden = {el: tuple(w.shape[1] for w in n.weights[:-1]) for el, n in network.networks.items()}
        if set(hidden.values()) != {tuple(settings.hidden_layers)} or network.activation != settings.activation:
            raise DopwfInputError(f"warm start: the network has hidden layers {sorted(set(hidden.values()))} "
                                  f"({network.activation}), the settings ask for {list(settings.hidden_layers)} "
                                  f"({settings.activation})")
        return descriptor


def with_stored_jacobian(descriptor: AtomCentredDescriptor, parts: dict[str, PackedImages], settings: TrainingSettings,
                         names: tuple[str, ...] = ("train", "validation")) -> dict[str, PackedImages]:
    """Store the descriptor Jacobian of the parts that training evaluates at every step, when force training
    is on and it fits in ``settings.jacobian_memory_GB``; otherwise every step recomputes it (same numbers)."""
    if settings.force_coefficient == 0 or parts[names[0]].forces_eV_A is None:
        return parts
    need = sum(parts[n].jacobian_bytes(descriptor.jacobian_width) for n in names)
    if need > settings.jacobian_memory_GB * 1e9:
        log.info("descriptor Jacobian: %.2f GB > jacobian_memory_GB %.2f: recomputed at every step (slower, "
                 "same result)", need / 1e9, settings.jacobian_memory_GB)
        return parts
    log.info("descriptor Jacobian stored for %s: %.2f GB", " and ".join(names), need / 1e9)
    out = dict(parts)
    for n in names:
        p = parts[n]
        out[n] = replace(p, jacobian=descriptor.pair_jacobian(p.species, p.first, p.neighbor, p.vectors, p.pair_terms))
    return out


def _initial_network(descriptor: AtomCentredDescriptor, train_set: PackedImages, settings: TrainingSettings,
                     rng: np.random.Generator) -> AtomicNeuralNetwork:
    """AMP-style start: fprange over the training atoms, output scaling from the energy-per-atom range,
    Glorot-uniform weights."""
    per_atom = train_set.energies_eV / train_set.n_atoms_per_image
    e_min, e_max = float(per_atom.min()), float(per_atom.max())
    half_range = max((e_max - e_min) / 2.0, 1e-3)
    if settings.activation == "sigmoid":
        slope, intercept = 2.0 * half_range, e_min
    else:
        slope, intercept = half_range, (e_max + e_min) / 2.0
    networks = {}
    for e, el in enumerate(descriptor.elements):
        rows = train_set.species == e
        if not rows.any():
            raise DopwfInputError(f"training images: element {el} appears only in validation/test images")
        g = train_set.fingerprints[rows, : descriptor.n_functions[el]]
        sizes = [g.shape[1], *settings.hidden_layers, 1]
        weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = math.sqrt(6.0 / (n_in + n_out))
            w = rng.uniform(-bound, bound, size=(n_in + 1, n_out))
            w[-1] = 0.0
            weights.append(w)
        networks[el] = ElementNetwork(tuple(weights), g.min(axis=0), g.max(axis=0), slope, intercept)
    return AtomicNeuralNetwork(networks, settings.activation)


def _predict(model: TorchNetworks, descriptor: AtomCentredDescriptor, batch: PackedImages, forces: bool):
    """(energy per image, forces per atom or None), differentiable in the model's parameters; forces and their
    weight gradients by hand (:mod:`dopant_workflows.ann.force_training`)."""
    if forces:
        atomic, force_values = energies_and_forces(model, descriptor, batch)
    else:
        atomic, force_values = model(torch.from_numpy(batch.fingerprints), torch.from_numpy(batch.species)), None
    energies = torch.zeros(batch.n_images, dtype=torch.float64).index_add(
        0, torch.from_numpy(batch.image_of_atom), atomic)
    return energies, force_values


def _loss(model, descriptor, batch: PackedImages, settings: TrainingSettings):
    use_forces = settings.force_coefficient > 0 and batch.forces_eV_A is not None
    energies, forces = _predict(model, descriptor, batch, use_forces)
    n = torch.from_numpy(batch.n_atoms_per_image.astype(float))
    energy_term = (((energies - torch.from_numpy(batch.energies_eV)) / n) ** 2).mean()
    loss = settings.energy_coefficient * energy_term
    force_term = None
    if use_forces:
        squared = ((forces - torch.from_numpy(batch.forces_eV_A)) ** 2).sum(dim=1)
        per_image = torch.zeros(batch.n_images, dtype=torch.float64).index_add(
            0, torch.from_numpy(batch.image_of_atom), squared) / (3.0 * n)
        force_term = per_image.mean()
        loss = loss + settings.force_coefficient * force_term
    return loss, energy_term, force_term


def _training_loss(model: TorchNetworks, descriptor: AtomCentredDescriptor, batch: PackedImages,
                   settings: TrainingSettings) -> torch.Tensor:
    """What the optimizer minimises: the data terms plus AMP's ``overfit`` penalty on the weights (early stopping
    watches the data terms alone)."""
    loss, _, _ = _loss(model, descriptor, batch, settings)
    if settings.overfit == 0:
        return loss
    return loss + settings.overfit * sum((w**2).sum() for layers in model.weights for w in layers)


def _packed_errors(model: TorchNetworks, descriptor: AtomCentredDescriptor, packed: PackedImages,
                   batch_images: int = 256) -> ErrorMetrics:
    """AMP's RMSEs of the model on packed images, evaluated in batches."""
    energies, forces = [], []
    for start in range(0, packed.n_images, batch_images):
        batch = packed.subset(np.arange(start, min(start + batch_images, packed.n_images)))
        e, f = _predict(model, descriptor, batch, packed.forces_eV_A is not None)
        energies.append(e.detach().numpy())
        if f is not None:
            forces.append(f.detach().numpy())
    return error_metrics(packed.energies_eV, np.concatenate(energies), packed.n_atoms_per_image,
                         packed.forces_eV_A, np.concatenate(forces) if forces else None, packed.image_of_atom)


def train_potential(images: list[ReferenceImage], settings: TrainingSettings = TrainingSettings(),
                    descriptor: AtomCentredDescriptor | None = None, progress: bool = True,
                    start: WarmStart | None = None) -> TrainingResult:
    """Split, fingerprint, fit with early stopping on validation, report errors on all three parts. From AMP's
    random start, or from ``start`` (its images first in ``images``, unchanged)."""
    t0 = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    elements = sorted({s for image in images for s in image.atoms.get_chemical_symbols()})
    if start is not None:
        descriptor = start.checked_descriptor(elements, settings)
        split = extend_split(start.split, len(images), settings.test_fraction, settings.validation_fraction, rng)
    else:
        descriptor = descriptor or descriptor_from_set(settings.descriptor, elements, settings.cutoff_A)
        split = split_indices(len(images), settings.test_fraction, settings.validation_fraction, rng)
    log.info("%d images (%d train, %d validation, %d test), elements %s, %s symmetry functions",
             len(images), len(split["train"]), len(split["validation"]), len(split["test"]), elements,
             descriptor.n_functions)
    packed = pack_images(descriptor, images, progress=progress)
    parts = {part: packed.subset(idx) for part, idx in split.items()}
    network = start.potential.network if start is not None else _initial_network(descriptor, parts["train"],
                                                                                  settings, rng)
    model = TorchNetworks(network, descriptor.elements)
    del packed  # the three parts hold everything from here on: do not keep two copies of the pair data
    parts = with_stored_jacobian(descriptor, parts, settings)
    train, validation = parts["train"], parts["validation"]
    history = TrainingHistory()
    best = {"loss": math.inf, "state": None, "step": 0}
    checks_without_improvement = 0

    def validate(step: int, train_loss: float) -> bool:
        nonlocal checks_without_improvement
        with torch.enable_grad():
            loss, e_term, f_term = _loss(model, descriptor, validation, settings)
        loss = float(loss.detach())
        history.step.append(step)
        history.train_loss.append(train_loss)
        history.validation_loss.append(loss)
        history.validation_energy_rmse_eV_atom.append(math.sqrt(float(e_term.detach())))
        history.validation_force_rmse_eV_A.append(math.sqrt(float(f_term.detach())) if f_term is not None else math.nan)
        if loss < best["loss"]:
            best.update(loss=loss, state={k: v.clone() for k, v in model.state_dict().items()}, step=step)
            checks_without_improvement = 0
        else:
            checks_without_improvement += 1
        return checks_without_improvement >= settings.patience

    stopped = False
    if start is not None:  # the start network is a candidate too: training that only worsens it keeps it
        validate(0, math.nan)
    bar = tqdm(total=settings.max_steps, desc=f"training ({settings.optimizer})", unit="step", disable=not progress)
    if settings.optimizer == "lbfgs":
        optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=settings.validate_every,
                                      history_size=50, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                      tolerance_change=1e-15)
        step = 0
        while step < settings.max_steps and not stopped:
            optimizer.param_groups[0]["max_iter"] = min(settings.validate_every, settings.max_steps - step)

            def closure():
                optimizer.zero_grad()
                loss = _training_loss(model, descriptor, train, settings)
                loss.backward()
                return loss
            loss = float(optimizer.step(closure).detach())
            done = optimizer.state[optimizer._params[0]].get("n_iter", step + settings.validate_every)
            bar.update(done - step)
            step = max(done, step + 1)
            stopped = validate(step, loss)
            bar.set_postfix(val_E=f"{history.validation_energy_rmse_eV_atom[-1]:.2e}",
                            val_F=f"{history.validation_force_rmse_eV_A[-1]:.3f}")
            if not math.isfinite(loss):
                raise RuntimeError("training diverged (non-finite loss); lower the learning rate or check the data")
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
        decay = (settings.final_learning_rate / settings.learning_rate) ** (1.0 / max(settings.max_steps - 1, 1))
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay)
        order_rng = np.random.default_rng(settings.seed + 1)
        for epoch in range(1, settings.max_steps + 1):
            losses = []
            for batch_ids in np.array_split(order_rng.permutation(train.n_images),
                                            max(1, train.n_images // settings.batch_size)):
                optimizer.zero_grad()
                loss = _training_loss(model, descriptor, train.subset(np.sort(batch_ids)), settings)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
            scheduler.step()
            bar.update(1)
            stopped = validate(epoch, float(np.mean(losses)))
            bar.set_postfix(val_E=f"{history.validation_energy_rmse_eV_atom[-1]:.2e}",
                            val_F=f"{history.validation_force_rmse_eV_A[-1]:.3f}")
            if stopped:
                break
    bar.close()
    model.load_state_dict(best["state"])
    network = model.to_network()
    metrics = {part: _packed_errors(model, descriptor, parts[part]) for part in split}
    wall = time.perf_counter() - t0
    metadata: dict[str, Any] = {
        "code": f"dopant_workflows {__version__}",
        "training": settings.as_record(),
        "n_images": {part: int(len(idx)) for part, idx in split.items()},
        "best_step": int(best["step"]),
        "stopped_early": bool(stopped),
        "wall_time_s": round(wall, 2),
        "errors": {part: asdict(m) for part, m in metrics.items()},
    }
    if start is not None:
        metadata["warm_start_sha256"] = start.sha256
    core = None
    if settings.core_repulsion:  # from the pair lists already packed (train, validation and test: all the data)
        n = len(descriptor.elements)
        closest = np.minimum.reduce([closest_approach_A(p.species, p.centers, p.neighbor, p.vectors, n)
                                     for p in parts.values()])
        core = CoreRepulsion.from_closest_approach(closest, descriptor.elements)
    potential = BPNNPotential(descriptor, network, metadata, core)
    force = metrics["test"].force_rmse_eV_A
    log.info("best step %d; test energy RMSE %.4g eV/atom, force RMSE %s eV/A", best["step"],
             metrics["test"].energy_rmse_eV_atom, "-" if force is None else f"{force:.4f}")
    return TrainingResult(potential, settings, split, metrics, history, int(best["step"]), bool(stopped), wall)
