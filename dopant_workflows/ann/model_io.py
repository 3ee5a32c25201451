"""Our model file: one JSON document (descriptor, weights, element list, training metadata) with a sha256.

JSON keeps every float exactly (shortest repr round-trips), is readable by anything, and cannot execute code.
The file's checksum (``sha256``) covers the canonical JSON of everything except itself: a truncated, edited or
corrupted file is refused instead of giving subtly wrong forces. The network's identity (:func:`model_sha256`, the
key of the ``models`` collection and of every document that names a network) covers its content only — format,
descriptor, weights, core repulsion — not the metadata (wall time, host, paths): the same network trained twice is
one network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from dopant_workflows.ann.core_repulsion import CoreRepulsion
from dopant_workflows.ann.descriptor import AtomCentredDescriptor, GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.symmetry_functions import symmetry_functions_from_amp, symmetry_functions_to_amp
from dopant_workflows.ann.zernike import ZernikeDescriptor
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.names import MODEL_FILE

FORMAT = "dopant_workflows.bpnn"
FORMAT_VERSION = 1


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def potential_to_document(potential: BPNNPotential) -> dict[str, Any]:
    desc, net = potential.descriptor, potential.network
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "descriptor": _descriptor_document(desc),
        "network": {
            "activation": net.activation,
            "elements": {
                el: {
                    "hidden_layers": list(n.hidden_layers),
                    "weights": [w.tolist() for w in n.weights],
                    "fp_min": n.fp_min.tolist(),
                    "fp_max": n.fp_max.tolist(),
                    "slope_eV": n.slope_eV,
                    "intercept_eV": n.intercept_eV,
                }
                for el, n in sorted(net.networks.items())
            },
        },
        "metadata": {k: v for k, v in potential.metadata.items() if k != "sha256"},
    }
    if potential.core_repulsion is not None:
        document["core_repulsion"] = potential.core_repulsion.as_dict()
    document["sha256"] = hashlib.sha256(_canonical(document)).hexdigest()
    return document


def _descriptor_document(desc: AtomCentredDescriptor) -> dict[str, Any]:
    common = {"cutoff_function": "cosine", "cutoff_A": float(desc.cutoff_A), "elements": list(desc.elements)}
    if isinstance(desc, ZernikeDescriptor):
        return {"kind": "zernike", **common, "nmax": desc.nmax,
                "coefficients": {a: dict(row) for a, row in desc.coefficients.items()}}
    return {"kind": "gaussian", **common, "symmetry_functions": symmetry_functions_to_amp(desc.functions)}


def _descriptor_from_document(d: dict[str, Any]) -> AtomCentredDescriptor:
    kind = d.get("kind", "gaussian")
    if kind == "zernike":
        return ZernikeDescriptor(tuple(d["elements"]), d["nmax"], d["coefficients"], float(d["cutoff_A"]))
    if kind != "gaussian":
        raise ValueError(f"descriptor kind {kind!r} (expected gaussian or zernike)")
    return GaussianDescriptor(tuple(d["elements"]), symmetry_functions_from_amp(d["symmetry_functions"]),
                              float(d["cutoff_A"]))


def potential_from_document(document: dict[str, Any], source: str = "model") -> BPNNPotential:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DopwfInputError(f"{source}: not a {FORMAT} model file")
    if document.get("format_version") != FORMAT_VERSION:
        raise DopwfInputError(
            f"{source}: format_version {document.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    stored = document.get("sha256")
    body = {k: v for k, v in document.items() if k != "sha256"}
    actual = hashlib.sha256(_canonical(body)).hexdigest()
    if stored != actual:
        raise DopwfInputError(f"{source}: checksum mismatch (stored {stored}, computed {actual}): "
                              "file corrupted or edited")
    try:
        d, n = document["descriptor"], document["network"]
        descriptor = _descriptor_from_document(d)
        networks = {
            el: ElementNetwork(tuple(np.asarray(w, dtype=float) for w in spec["weights"]),
                               np.asarray(spec["fp_min"], dtype=float), np.asarray(spec["fp_max"], dtype=float),
                               float(spec["slope_eV"]), float(spec["intercept_eV"]))
            for el, spec in n["elements"].items()
        }
        network = AtomicNeuralNetwork(networks, n["activation"])
        core = CoreRepulsion.from_dict(document["core_repulsion"]) if "core_repulsion" in document else None
    except (KeyError, TypeError, ValueError) as exc:
        raise DopwfInputError(f"{source}: malformed model ({type(exc).__name__}: {exc})") from None
    return BPNNPotential(descriptor, network, {**document.get("metadata", {}), "sha256": stored}, core)


def save_potential(potential: BPNNPotential, path: str | Path) -> Path:
    """Write ``path`` (a file, or a directory that receives model.json) atomically; returns the file path."""
    path = Path(path)
    if path.is_dir() or path.suffix == "":
        path.mkdir(parents=True, exist_ok=True)
        path = path / MODEL_FILE
    return write_text_atomically(path, json.dumps(potential_to_document(potential), indent=1, allow_nan=False))


def load_potential(path: str | Path) -> BPNNPotential:
    """Load our model file (or a directory holding model.json), or an AMP ``.amp`` file."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if path.suffix == ".amp":
        from dopant_workflows.ann.amp_io import load_amp_potential

        return load_amp_potential(path)
    source = f"model {str(path)!r}"
    if not path.is_file():
        raise DopwfInputError(f"{source}: not found")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DopwfInputError(f"{source}: not valid JSON ({exc}); truncated or not a model file") from None
    return potential_from_document(document, source)


def content_sha256(document: dict[str, Any]) -> str:
    """sha256 of a model document's content: everything but ``metadata`` and the file checksum."""
    return hashlib.sha256(_canonical({k: v for k, v in document.items()
                                      if k not in ("metadata", "sha256")})).hexdigest()


def model_sha256(potential: BPNNPotential) -> str:
    """The network's identity: equal for equal weights, descriptor and core repulsion, whatever the metadata."""
    return content_sha256(potential_to_document(potential))
