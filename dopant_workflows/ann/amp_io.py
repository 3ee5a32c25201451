"""Read and write AMP 1.0.1 ``.amp`` model files without ``eval``.

An ``.amp`` file is Python source: ``dict(descriptor="<python source>", model="<python source>")`` where the
inner strings are ``dict(...)`` calls holding dicts, lists, tuples, numbers and ``array([...])`` calls. AMP
loads it with ``eval`` (arbitrary code execution on an untrusted file). We parse it with :mod:`ast` and accept
only those literal forms; anything else is refused with the offending construct named.

Supported: ``Gaussian`` (G2 and G4 functions) and ``Zernike`` descriptors with the ``Cosine`` cutoff and the
atom-centred ``NeuralNetwork`` model (tanh, sigmoid or linear). Other AMP kinds (Bispectrum, Polynomial cutoff,
G5, KernelRidge, TensorFlow, image-centred mode) are refused by name.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import numpy as np

from dopant_workflows.ann.calculator import BPNNCalculator
from dopant_workflows.ann.descriptor import AtomCentredDescriptor, GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.symmetry_functions import symmetry_functions_from_amp, symmetry_functions_to_amp
from dopant_workflows.ann.zernike import ZernikeDescriptor
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import write_text_atomically

log = logging.getLogger(__name__)

AMP_DESCRIPTOR = ".descriptor.gaussian.Gaussian"
AMP_ZERNIKE = ".descriptor.zernike.Zernike"
AMP_MODEL = ".model.neuralnetwork.NeuralNetwork"
AMP_VERSION = "2015.12"
_ARRAY_CALLS = {"array", "matrix", "np.array", "numpy.array", "np.matrix", "numpy.matrix"}
_NAMED_CONSTANTS = {"nan": float("nan"), "inf": float("inf"), "True": True, "False": False, "None": None}


def parse_amp_literal(text: str, source: str = "AMP file") -> Any:
    """Evaluate AMP's restricted Python-literal syntax safely (no names, attributes or calls beyond
    ``dict(...)``, ``OrderedDict([...])`` and ``array(...)``/``np.array(...)``)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise DopwfInputError(f"{source}: not an AMP parameter file (syntax error at line {exc.lineno})") from None
    return _literal(tree.body, source)


def _call_name(node: ast.Call) -> str:
    return ast.unparse(node.func)[:80]


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, source)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Dict):
        return {_literal(k, source): _literal(v, source) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.List):
        return [_literal(e, source) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, source) for e in node.elts)
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if name == "dict" and not node.args:
            return {kw.arg: _literal(kw.value, source) for kw in node.keywords}
        if name in ("OrderedDict", "collections.OrderedDict") and len(node.args) <= 1 and not node.keywords:
            pairs = _literal(node.args[0], source) if node.args else []
            return dict(pairs)
        if name in _ARRAY_CALLS and len(node.args) == 1:
            return np.array(_literal(node.args[0], source), dtype=float)
        raise DopwfInputError(f"{source}: refusing call {name}(...) at line {node.lineno}; only literals are read")
    raise DopwfInputError(
        f"{source}: refusing {type(node).__name__} at line {getattr(node, 'lineno', '?')}; only literals are read"
    )


def _require(condition: bool, source: str, message: str) -> None:
    if not condition:
        raise DopwfInputError(f"{source}: {message}")


def potential_from_amp_parameters(descriptor: dict, model: dict, source: str) -> BPNNPotential:
    """Our potential from AMP's parsed descriptor and model parameter dictionaries."""
    descriptor_kind = descriptor.get("importname")
    _require(descriptor_kind in (AMP_DESCRIPTOR, AMP_ZERNIKE), source,
             f"descriptor {descriptor_kind!r} is not supported; AMP's Gaussian ({AMP_DESCRIPTOR}) and Zernike "
             f"({AMP_ZERNIKE}) descriptors are")
    cutoff = descriptor.get("cutoff") or {}
    _require(isinstance(cutoff, dict) and cutoff.get("name") == "Cosine", source,
             f"cutoff {cutoff.get('name') if isinstance(cutoff, dict) else cutoff!r} is not supported; only Cosine is")
    _require(descriptor.get("mode", "atom-centered") == "atom-centered", source, "only atom-centered mode is supported")
    kind = model.get("importname")
    _require(kind == AMP_MODEL, source,
             f"model {kind!r} is not supported; only AMP's NeuralNetwork ({AMP_MODEL}) is")
    _require(model.get("mode", "atom-centered") == "atom-centered", source,
             f"model mode {model.get('mode')!r} is not supported; only atom-centered is")
    for key in ("weights", "scalings", "fprange"):
        _require(isinstance(model.get(key), dict) and model[key], source,
                 f"model has no {key}: it was never trained (AMP fills them during fit)")
    gs = descriptor.get("Gs")
    elements = sorted(descriptor.get("elements") or model["fprange"].keys())
    rc = float(cutoff["kwargs"]["Rc"])
    if descriptor_kind == AMP_ZERNIKE:
        desc = _zernike_from_amp(descriptor, elements, rc, source)
    else:
        _require(gs is not None, source, "descriptor has no symmetry functions (Gs)")
        if isinstance(gs, list):
            gs = {el: gs for el in elements}
        desc = GaussianDescriptor(tuple(elements), symmetry_functions_from_amp(gs), rc)
    networks = {}
    for element in elements:
        try:
            layers = model["weights"][element]
            weights = tuple(np.asarray(layers[n], dtype=float) for n in sorted(layers))
            fprange = np.asarray(model["fprange"][element], dtype=float).reshape(-1, 2)
            scaling = model["scalings"][element]
            networks[element] = ElementNetwork(weights, fprange[:, 0].copy(), fprange[:, 1].copy(),
                                               float(scaling["slope"]), float(scaling["intercept"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DopwfInputError(f"{source}: network of {element} is incomplete or malformed ({exc})") from None
    network = AtomicNeuralNetwork(networks, str(model.get("activation", "tanh")))
    return BPNNPotential(desc, network, {"imported_from": "amp-1.0.1", "source_file": source})


def _zernike_from_amp(descriptor: dict, elements: list[str], cutoff_A: float, source: str) -> ZernikeDescriptor:
    """AMP's Zernike parameters: ``nmax`` (one integer) and ``Gs`` ({centre: {neighbour: weight}}; AMP's default,
    the atomic numbers, where the file has none: AMP fills them on its first fingerprint)."""
    nmax = descriptor.get("nmax")
    _require(not isinstance(nmax, dict), source,
             f"Zernike nmax {nmax!r}: a per-element nmax is not supported (AMP 1.0.1 cannot fingerprint with one)")
    gs = descriptor.get("Gs")
    if gs is None:
        return ZernikeDescriptor.default(elements, nmax, cutoff_A)
    return ZernikeDescriptor(tuple(elements), nmax, gs, cutoff_A)


def load_amp_potential(path: str | Path) -> BPNNPotential:
    """Parse an AMP 1.0.1 ``.amp`` file into our potential (no eval)."""
    path = Path(path)
    source = f"AMP model {str(path)!r}"
    if not path.is_file():
        raise DopwfInputError(f"{source}: not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DopwfInputError(f"{source}: not a text file; AMP models are Python-literal text") from None
    outer = parse_amp_literal(text, source)
    _require(isinstance(outer, dict) and {"descriptor", "model"} <= set(outer), source,
             "expected dict(descriptor=..., model=...) as written by Amp.save")
    descriptor, model = (parse_amp_literal(outer[key], f"{source} ({key})") if isinstance(outer[key], str)
                         else outer[key] for key in ("descriptor", "model"))
    _require(isinstance(descriptor, dict) and isinstance(model, dict), source, "descriptor and model must be dicts")
    return potential_from_amp_parameters(descriptor, model, source)


def load_amp(path: str | Path, device: str = "cpu") -> BPNNCalculator:
    """An ASE calculator reproducing the AMP 1.0.1 model saved in ``path`` (``Amp.save``)."""
    return BPNNCalculator(load_amp_potential(path), device=device)


def _amp_parameters_text(entries: dict[str, Any]) -> str:
    """ASE ``Parameters.tostring`` layout: dict(key=repr(value), ...) with sorted keys."""
    return "dict(" + ",\n     ".join(f"{key}={entries[key]!r}" for key in sorted(entries)) + ")\n"


class _Array:
    """repr() as AMP writes numpy arrays, so AMP's eval (with ``array`` in scope) rebuilds them."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def __repr__(self) -> str:
        return "array(" + repr(self.values.tolist()) + ")"


def amp_text(potential: BPNNPotential) -> str:
    """The ``.amp`` file text AMP 1.0.1 writes for an equivalent model."""
    desc, net = potential.descriptor, potential.network
    descriptor = _amp_descriptor_parameters(desc)
    model = {
        "activation": net.activation,
        "fprange": {el: np.stack([n.fp_min, n.fp_max], axis=1).tolist() for el, n in net.networks.items()},
        "hiddenlayers": {el: n.hidden_layers for el, n in net.networks.items()},
        "importname": AMP_MODEL,
        "mode": "atom-centered",
        "scalings": {el: {"slope": n.slope_eV, "intercept": n.intercept_eV} for el, n in net.networks.items()},
        "version": AMP_VERSION,
        "weights": {el: {i + 1: _Array(w) for i, w in enumerate(n.weights)} for el, n in net.networks.items()},
    }
    return _amp_parameters_text({"descriptor": _amp_parameters_text(descriptor), "model": _amp_parameters_text(model)})


def _amp_descriptor_parameters(desc: AtomCentredDescriptor) -> dict[str, Any]:
    if isinstance(desc, ZernikeDescriptor):
        return desc.as_amp_parameters()
    return {"Gs": symmetry_functions_to_amp(desc.functions),
            "cutoff": {"name": "Cosine", "kwargs": {"Rc": float(desc.cutoff_A)}}, "elements": list(desc.elements),
            "importname": AMP_DESCRIPTOR, "mode": "atom-centered", "version": AMP_VERSION}


def save_amp(calc: BPNNCalculator | BPNNPotential, path: str | Path) -> Path:
    """Write a model as an AMP 1.0.1 ``.amp`` file (``Amp.load`` reads it); atomic replace, never half-written.

    AMP has no core repulsion: the file holds the network only, which equals the full model wherever atoms are
    no closer than in the training data (where the wall is zero)."""
    potential = calc.potential if isinstance(calc, BPNNCalculator) else calc
    if potential.core_repulsion is not None:
        log.debug("%s: AMP format holds the network only (the core repulsion stays in model.json)", path)
    return write_text_atomically(path, amp_text(potential))
