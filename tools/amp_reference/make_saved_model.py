"""Step 3 (main venv): models trained by dopant_workflows and written with save_amp, for AMP to read back.

    .venv/bin/python tools/amp_reference/make_saved_model.py tests/data/amp_reference
    .amp-venv/bin/python tools/amp_reference/make_amp_reference.py --check \
        tests/data/amp_reference/saved_by_dopant_workflows.amp tests/data/amp_reference/images.extxyz \
        tests/data/amp_reference/saved_by_dopant_workflows.amp_results.json
    .amp-venv/bin/python tools/amp_reference/make_amp_reference.py --check \
        tests/data/amp_reference/saved_by_dopant_workflows_zernike.amp tests/data/amp_reference/li2s_images.extxyz \
        tests/data/amp_reference/saved_by_dopant_workflows_zernike.amp_results.json

The second command is AMP 1.0.1 itself loading our file (Amp.load) and computing energies and forces on the
reference images; the tests compare those numbers with ours. Model: (3,) tanh on the default Li-S set,
trained for a few L-BFGS steps on rattled Li2S labelled by the li2s_small AMP model (numbers, not quality,
matter here); the same with AMP's Zernike descriptor (nmax 5) in saved_by_dopant_workflows_zernike.amp.
"""

import sys
from pathlib import Path

import numpy as np
from ase.io import read

from dopant_workflows.ann.amp_io import load_amp, save_amp
from dopant_workflows.ann.dataset import ReferenceImage
from dopant_workflows.ann.training import TrainingSettings, train_potential


def main(outdir: str) -> None:
    outdir = Path(outdir)
    teacher = load_amp(outdir / "li2s_small.amp")
    base = read(outdir / "images.extxyz", index=3)
    rng = np.random.default_rng(11)
    images = []
    for _ in range(12):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.01, size=atoms.positions.shape)
        atoms.calc = teacher
        images.append(ReferenceImage(atoms, atoms.get_potential_energy(), atoms.get_forces()))
    for descriptor, name in (("gaussian", "saved_by_dopant_workflows"),
                             ("zernike-nmax5", "saved_by_dopant_workflows_zernike")):
        if descriptor == "gaussian" and (outdir / f"{name}.amp").exists():
            continue  # the Gaussian file of 2026-11 stays: AMP's numbers for it are committed
        settings = TrainingSettings(descriptor=descriptor, hidden_layers=(3,), max_steps=5, validate_every=5, seed=11)
        result = train_potential(images, settings, progress=False)
        save_amp(result.potential, outdir / f"{name}.amp")


if __name__ == "__main__":
    main(sys.argv[1])
