"""Benchmark: fingerprints + training to early stopping on N images of 50 atoms, wall time and peak memory.

    .venv/bin/python bench/ann_training.py [--images 10000] [--optimizer adam] [--max-epochs 40]

Images: the ordered 50-atom LGPS host rattled with amplitudes 0.02-0.25 A (wide sampling, like the paper's
AIMD with large temperature fluctuations), labelled by a fixed random (5, 5) tanh network on the default
Gaussian-56 descriptor: the labels are synthetic, the work per image (neighbours, fingerprints, force training
through the descriptor Jacobian) is exactly that of real data. Target: 10,000 images in <= 30 min and <= 8 GB
on 2 cores (measured figures: bench/results/ann_training.md). AMP's recorded figures (shared/anchors/AMP.md,
same kind of machine) are printed for scale; with --amp-images K (needs .amp-venv) AMP fingerprints K images in
this run for a measured ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.io import read, write

from dopant_workflows.ann.dataset import ReferenceImage, pack_images
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.training import TrainingSettings, _initial_network, train_potential

ROOT = Path(__file__).resolve().parents[1]
AMP_PYTHON = ROOT / ".amp-venv" / "bin" / "python"
AMP_FINGERPRINT_S_PER_IMAGE = 7.39  # recorded: fingerprints + derivatives, one 50-atom image
AMP_LOSS_GRADIENT_S_PER_100 = 5.31  # recorded: one force-training loss + gradient over 100 images

AMP_FINGERPRINTER = r"""
import sys, tempfile, time
from ase.io import read
from amp.descriptor.gaussian import Gaussian
from amp.utilities import hash_images
images = hash_images(read(sys.argv[1], index=":"))
with tempfile.TemporaryDirectory() as d:
    g = Gaussian(cutoff=6.5, fortran=True, dblabel=d + "/fp")
    t0 = time.perf_counter()
    g.calculate_fingerprints(images, calculate_derivatives=True)
    print((time.perf_counter() - t0) / len(images))
"""


def make_images(n_images: int, seed: int = 0) -> list[ReferenceImage]:
    base = read(ROOT / "tests" / "data" / "amp_reference" / "images.extxyz", index=0)
    rng = np.random.default_rng(seed)
    frames = []
    for amplitude in rng.uniform(0.02, 0.25, size=n_images):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=amplitude, size=atoms.positions.shape)
        frames.append(atoms)
    descriptor = GaussianDescriptor.default(["Ge", "Li", "P", "S"])
    sample = pack_images(descriptor, [ReferenceImage(a, 0.0, None) for a in frames[:200]])
    start = _initial_network(descriptor, sample, TrainingSettings(), rng)
    teacher = BPNNPotential(descriptor, AtomicNeuralNetwork(
        {el: ElementNetwork(tuple(1.5 * w for w in n.weights), n.fp_min, n.fp_max, 0.3, -4.0)
         for el, n in start.networks.items()}, "tanh"))
    images = []
    for atoms in frames:
        result = teacher.evaluate(atoms)
        images.append(ReferenceImage(atoms, result.energy_eV, result.forces_eV_A))
    return images


def amp_fingerprint_seconds(images: list[ReferenceImage], k: int) -> float | None:
    if k <= 0 or not AMP_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.extxyz"
        write(path, [image.atoms for image in images[:k]])
        out = subprocess.run([str(AMP_PYTHON), "-c", AMP_FINGERPRINTER, str(path)], capture_output=True, text=True,
                             check=True)
    return float(out.stdout.strip().splitlines()[-1])


def step_seconds(images: list[ReferenceImage], repeats: int = 5) -> dict[str, float]:
    """One force-training loss + gradient over ``images``: recomputing the descriptor Jacobian (two passes over
    triplets) vs contracting the stored one; plus the one-off cost of storing it."""
    from dopant_workflows.ann import training
    from dopant_workflows.ann.torch_network import TorchNetworks

    settings = TrainingSettings(force_coefficient=1.0)
    descriptor = GaussianDescriptor.default(["Ge", "Li", "P", "S"])
    packed = pack_images(descriptor, images)
    model = TorchNetworks(_initial_network(descriptor, packed, settings, np.random.default_rng(0)), descriptor.elements)
    t0 = time.perf_counter()
    stored = training.with_stored_jacobian(descriptor, {"train": packed}, settings, names=("train",))["train"]
    out = {"store_jacobian_s": time.perf_counter() - t0, "jacobian_GB": stored.jacobian.nbytes / 1e9}
    for name, batch in (("recomputed", packed), ("stored", stored)):
        times = []
        for _ in range(repeats + 1):  # the first call compiles
            model.zero_grad()
            t0 = time.perf_counter()
            loss, _, _ = training._loss(model, descriptor, batch, settings)
            loss.backward()
            times.append(time.perf_counter() - t0)
        out[f"{name}_step_s"] = float(np.median(times[1:]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--optimizer", default="adam", choices=["adam", "lbfgs"])
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--amp-images", type=int, default=0)
    parser.add_argument("--step-images", type=int, default=200,
                        help="images for the per-step comparison of recomputed vs stored Jacobian")
    args = parser.parse_args()

    t0 = time.perf_counter()
    images = make_images(args.images)
    labelling_s = time.perf_counter() - t0
    steps = step_seconds(images[: args.step_images])
    print(f"force-training step on {args.step_images} images: recomputed Jacobian {steps['recomputed_step_s']:.3f} s, "
          f"stored {steps['stored_step_s']:.3f} s -> {steps['recomputed_step_s'] / steps['stored_step_s']:.1f}x "
          f"(storing it: {steps['store_jacobian_s']:.1f} s once, {steps['jacobian_GB']:.2f} GB)")
    settings = TrainingSettings(optimizer=args.optimizer, max_steps=args.max_epochs, batch_size=args.batch_size,
                                patience=args.patience, learning_rate=5e-3, validate_every=10)
    t0 = time.perf_counter()
    result = train_potential(images, settings, progress=True)
    train_s = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    amp_fp = amp_fingerprint_seconds(images, args.amp_images)
    test = result.metrics["test"]
    report = {
        "images": args.images, "atoms_per_image": 50, "optimizer": args.optimizer,
        "labelling_s (not part of training)": round(labelling_s, 1),
        "fingerprints_plus_training_s": round(train_s, 1),
        "epochs_run": result.history.step[-1], "best_epoch": result.best_step, "stopped_early": result.stopped_early,
        "peak_memory_GB": round(peak_gb, 2),
        "test_energy_rmse_eV_atom": test.energy_rmse_eV_atom, "test_force_rmse_eV_A": test.force_rmse_eV_A,
    }
    print(json.dumps(report, indent=1))
    amp_per_image = amp_fp if amp_fp is not None else AMP_FINGERPRINT_S_PER_IMAGE
    amp_estimate = args.images * amp_per_image + result.history.step[-1] * (
        AMP_LOSS_GRADIENT_S_PER_100 * 0.72 * args.images / 100)
    label = "measured now" if amp_fp is not None else "recorded"
    print(f"AMP for scale ({label} fingerprinting {amp_per_image:.2f} s/image; recorded 5.31 s per loss+gradient "
          f"per 100 images, same number of passes): ~{amp_estimate / 3600:.1f} h "
          f"-> ratio ~{amp_estimate / train_s:.0f}x")


if __name__ == "__main__":
    main()
