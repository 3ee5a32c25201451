"""AMP 1.0.1 venv (shared/anchors/AMP.md): AMP's own Zernike numbers for tests/ann/test_zernike.py.

    .amp-venv/bin/python tools/amp_reference/make_amp_zernike_reference.py tests/data/amp_reference

Builds two AMP models with a Zernike descriptor (AMP's classes, random weights from get_random_weights scaled as in
make_amp_reference.py, fingerprint ranges from calculate_fingerprints_range), saves them with Amp.save, and records
AMP's fingerprints, energies and forces (Fortran modules, serial) on the images of make_images.py:

- ``lgps_zernike``: elements Ge Li P S, AMP's default coefficients (atomic numbers), nmax 5 (the paper's
  Zernike-12), (5, 5) tanh, on the two rattled LGPS cells;
- ``li2s_zernike``: elements Li S, per-centre integer coefficients, nmax 4 (9 functions), (4,) sigmoid, on the
  12-atom Li2S cell smaller than the cutoff (periodic images of every atom, itself included, are neighbours).

With each model, a central finite difference of AMP's own energy for every force component of the first image:
where AMP's fingerprint-derivative loop drops neighbours (``noffset.all() == 0``), AMP's forces are not the
gradient of its energy, and this records by how much.
"""

import json
import os
import sys
import tempfile

import numpy as np
from amp import Amp
from amp.descriptor.zernike import Zernike
from amp.model import calculate_fingerprints_range
from amp.utilities import hash_images
from ase.io import read

sys.path.insert(0, os.path.dirname(__file__))
from make_amp_reference import CUTOFF_A, _energies_forces, finite_difference_force, random_network  # noqa: E402


def _build(name, images, elements, gs, nmax, hiddenlayers, activation, seed, workdir):
    descriptor = Zernike(cutoff=CUTOFF_A, Gs=gs, nmax=nmax, elements=elements, fortran=True,
                         dblabel=os.path.join(workdir, name))
    hashed = hash_images(images)
    descriptor.calculate_fingerprints(hashed)
    fprange = calculate_fingerprints_range(descriptor, hashed)
    n_functions = len(descriptor.fingerprints[list(hashed)[0]][0][1])
    model = random_network(elements, hiddenlayers, activation, {el: n_functions for el in elements}, fprange, seed)
    calc = Amp(descriptor=descriptor, model=model, label=os.path.join(workdir, name),
               dblabel=os.path.join(workdir, name))
    fingerprints = [[list(map(float, fp)) for _, fp in descriptor.fingerprints[key]] for key in hashed]
    return calc, fingerprints, n_functions


def _finite_difference_forces(calc, atoms, delta=1e-4):
    """-dE/dR of AMP's energy, every component, by central differences."""
    return np.array([[finite_difference_force(calc, atoms, index, axis, delta) for axis in range(3)]
                     for index in range(len(atoms))])


def generate(outdir):
    images = read(os.path.join(outdir, "images.extxyz"), index=":")
    specs = [
        ("lgps_zernike", images[:2], ["Ge", "Li", "P", "S"], None, 5, (5, 5), "tanh", 11),
        ("li2s_zernike", images[3:4], ["Li", "S"], {"Li": {"Li": 3, "S": 16}, "S": {"Li": 1, "S": 10}}, 4, (4,),
         "sigmoid", 12),
    ]
    reference = {"amp_version": "1.0.1", "fortran": True, "cutoff_A": CUTOFF_A, "models": {}}
    with tempfile.TemporaryDirectory() as workdir:
        for name, imgs, elements, gs, nmax, hidden, activation, seed in specs:
            calc, fingerprints, n_functions = _build(name, imgs, elements, gs, nmax, hidden, activation, seed,
                                                     workdir)
            path = os.path.join(outdir, f"{name}.amp")
            if os.path.exists(path):
                os.remove(path)
            calc.save(path)
            fresh = Amp.load(path, label=os.path.join(workdir, name + "-loaded"))
            results = _energies_forces(fresh, imgs)
            first = imgs[0].copy()
            reference["models"][name] = {
                "file": f"{name}.amp", "nmax": nmax, "n_functions": n_functions,
                "image_labels": [a.info["label"] for a in imgs],
                "fingerprints": fingerprints, "results": results,
                "finite_difference_forces_eV_A": _finite_difference_forces(fresh, first).tolist(),
            }
            print(name, n_functions, [round(r["energy_eV"], 6) for r in results],
                  [round(r["seconds"], 2) for r in results], flush=True)
    with open(os.path.join(outdir, "zernike_reference.json"), "w") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    generate(sys.argv[1])
