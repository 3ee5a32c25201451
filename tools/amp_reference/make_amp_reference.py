"""Step 2 (AMP 1.0.1 venv, see shared/anchors/AMP.md): AMP's own numbers for our equivalence tests.

    .amp-venv/bin/python tools/amp_reference/make_amp_reference.py tests/data/amp_reference
    .amp-venv/bin/python tools/amp_reference/make_amp_reference.py --check MODEL.amp IMAGES.extxyz OUT.json

Builds three AMP models with AMP's own classes (random weights from AMP's get_random_weights, fingerprint
ranges from AMP's calculate_fingerprints_range), saves them with Amp.save (the .amp files the tests load),
and records AMP's fingerprints, energies and forces (Fortran modules, serial) on the images of step 1:

- ``lgps_default``: elements Ge Li P S, AMP's default Gaussian-56, (5, 5) tanh (the paper's network);
- ``lsips_custom``: elements Cl Li P S Si, a user-given set (G2 with offsets, G4 with two etas and zeta 2),
  (4,) sigmoid hidden layer;
- ``li2s_small``: elements Li S, default set (8 + 6 = 14), (5, 5) tanh, on a cell smaller than the cutoff.

``--check`` loads a .amp file written by ``dopant_workflows.ann.save_amp`` with AMP and writes AMP's
energies and forces, which proves AMP reads our files.
"""

import json
import os
import sys
import tempfile
import time

import numpy as np
from amp import Amp
from amp.descriptor.gaussian import Gaussian, make_default_symmetry_functions, make_symmetry_functions
from amp.model import calculate_fingerprints_range
from amp.model.neuralnetwork import NeuralNetwork, get_random_weights
from amp.utilities import hash_images
from ase.io import read

CUTOFF_A = 6.5


def _custom_gs(elements):
    gs = make_symmetry_functions(elements=elements, type="G2", etas=[0.5, 3.0], offsets=[0.0, 2.5])
    gs += make_symmetry_functions(elements=elements, type="G4", etas=[0.005, 0.05], zetas=[2.0], gammas=[1.0, -1.0])
    return {element: gs for element in elements}


def random_network(elements, hiddenlayers, activation, len_of_fps, fprange, seed):
    """AMP's NeuralNetwork with AMP's random weights (scaled up 3x, so the nonlinearity matters in the comparison)
    and random output scalings."""
    hidden = {element: hiddenlayers for element in elements}
    weights = get_random_weights(hidden, activation, len_of_fps=len_of_fps, seed=seed)
    rng = np.random.RandomState(seed)
    weights = {el: {layer: 3.0 * np.asarray(w) for layer, w in layers.items()} for el, layers in weights.items()}
    scalings = {el: {"slope": float(rng.uniform(0.5, 3.0)), "intercept": float(rng.uniform(-5.0, -1.0))}
                for el in elements}
    return NeuralNetwork(hiddenlayers=hidden, activation=activation, weights=weights, scalings=scalings,
                         fprange=fprange, mode="atom-centered")


def _build(name, images, elements, gs, hiddenlayers, activation, seed, workdir):
    descriptor = Gaussian(cutoff=CUTOFF_A, Gs=gs, elements=elements, fortran=True, dblabel=os.path.join(workdir, name))
    hashed = hash_images(images)
    descriptor.calculate_fingerprints(hashed)
    fprange = calculate_fingerprints_range(descriptor, hashed)
    model = random_network(elements, hiddenlayers, activation, {el: len(gs[el]) for el in elements}, fprange, seed)
    calc = Amp(descriptor=descriptor, model=model, label=os.path.join(workdir, name),
               dblabel=os.path.join(workdir, name))
    fingerprints = [[list(map(float, fp)) for _, fp in descriptor.fingerprints[key]] for key in hashed]
    return calc, fingerprints


def _energies_forces(calc, images):
    out = []
    for atoms in images:
        atoms = atoms.copy()
        atoms.calc = calc
        t0 = time.perf_counter()
        energy = float(atoms.get_potential_energy())
        forces = atoms.get_forces().tolist()
        out.append({"label": atoms.info.get("label"), "energy_eV": energy, "forces_eV_A": forces,
                    "seconds": time.perf_counter() - t0})
    return out


def finite_difference_force(calc, atoms, index, axis, delta=1e-4):
    """-dE/dx of ``calc``'s energy for one coordinate, by central differences."""
    energies = []
    for sign in (1, -1):
        moved = atoms.copy()
        moved.positions[index, axis] += sign * delta
        moved.calc = calc
        energies.append(moved.get_potential_energy())
    return -(energies[0] - energies[1]) / (2 * delta)


def _finite_difference_check(calc, atoms, delta=1e-4):
    """Max |F_AMP - (-dE/dx)| over a few coordinates: shows AMP's forces are exact gradients."""
    atoms = atoms.copy()
    atoms.calc = calc
    forces = atoms.get_forces()
    return max(abs(forces[index, axis] - finite_difference_force(calc, atoms, index, axis, delta))
               for index, axis in [(0, 0), (7, 1), (len(atoms) - 1, 2)])


def generate(outdir):
    images = read(os.path.join(outdir, "images.extxyz"), index=":")
    lgps, lsips, li2s = images[:2], images[2:3], images[3:4]
    specs = [
        ("lgps_default", lgps, ["Ge", "Li", "P", "S"], None, (5, 5), "tanh", 1),
        ("lsips_custom", lsips, ["Cl", "Li", "P", "S", "Si"], "custom", (4,), "sigmoid", 2),
        ("li2s_small", li2s, ["Li", "S"], None, (5, 5), "tanh", 3),
    ]
    reference = {"amp_version": "1.0.1", "fortran": True, "cutoff_A": CUTOFF_A, "models": {}}
    with tempfile.TemporaryDirectory() as workdir:
        for name, imgs, elements, gs_kind, hidden, activation, seed in specs:
            gs = _custom_gs(elements) if gs_kind == "custom" else make_default_symmetry_functions(elements)
            calc, fingerprints = _build(name, imgs, elements, gs, hidden, activation, seed, workdir)
            path = os.path.join(outdir, f"{name}.amp")
            if os.path.exists(path):
                os.remove(path)
            calc.save(path)
            fresh = Amp.load(path, label=os.path.join(workdir, name + "-loaded"))  # numbers from the saved file
            results = _energies_forces(fresh, imgs)
            reference["models"][name] = {
                "file": f"{name}.amp",
                "image_labels": [a.info["label"] for a in imgs],
                "n_symmetry_functions": {el: len(gs[el]) for el in elements},
                "fingerprints": fingerprints,
                "results": results,
                "finite_difference_max_error_eV_A": _finite_difference_check(fresh, imgs[0]),
            }
            print(name, [round(r["energy_eV"], 6) for r in results], [round(r["seconds"], 2) for r in results])
    with open(os.path.join(outdir, "reference.json"), "w") as f:
        json.dump(reference, f)


def check(model_path, images_path, out_path):
    images = read(images_path, index=":")
    with tempfile.TemporaryDirectory() as workdir:
        calc = Amp.load(model_path, label=os.path.join(workdir, "check"))
        results = _energies_forces(calc, images)
    with open(out_path, "w") as f:
        json.dump({"model": os.path.basename(model_path), "results": results}, f)
    print("AMP loaded", model_path, [round(r["energy_eV"], 6) for r in results])


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(*sys.argv[2:5])
    else:
        generate(sys.argv[1])
