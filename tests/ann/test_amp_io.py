"""AMP file import/export: safe parsing, round trips, refusals that name the problem."""

from collections import OrderedDict

import numpy as np
import pytest

from dopant_workflows.ann.amp_io import amp_text, load_amp, load_amp_potential, parse_amp_literal, save_amp
from dopant_workflows.errors import DopwfInputError

from .conftest import REFERENCE_DIR


def _amp_eval(text):
    """What AMP's own string2dict does (eval with array/matrix/OrderedDict in scope): safe here, our own text."""
    namespace = {"array": np.array, "matrix": np.matrix, "OrderedDict": OrderedDict, "dict": dict}
    return eval(text, {"__builtins__": {}}, namespace)  # noqa: S307 - test-only, on text we generated


@pytest.mark.parametrize("model", ["lgps_default", "lsips_custom", "li2s_small"])
def test_save_amp_round_trip_gives_identical_numbers(model, tmp_path, amp_images):
    calc = load_amp(REFERENCE_DIR / f"{model}.amp")
    path = save_amp(calc, tmp_path / "copy.amp")
    again = load_amp(path)
    atoms = amp_images[2] if model == "lsips_custom" else amp_images[3] if model == "li2s_small" else amp_images[0]
    for c in (calc, again):
        atoms = atoms.copy()
        atoms.calc = c
        c.result = (atoms.get_potential_energy(), atoms.get_forces())
    assert again.result[0] == calc.result[0]
    assert np.array_equal(again.result[1], calc.result[1])


def test_saved_file_has_amps_layout(tmp_path, lgps_potential):
    # AMP reads a file by eval-ing the outer dict, then each inner string, then calling
    # Gaussian(**descriptor) and NeuralNetwork(**model): the keys must be exactly those constructors' arguments.
    text = amp_text(lgps_potential)
    outer = _amp_eval(text)
    descriptor, model = _amp_eval(outer["descriptor"]), _amp_eval(outer["model"])
    assert set(descriptor) == {"Gs", "cutoff", "elements", "importname", "mode", "version"}
    assert set(model) == {"activation", "fprange", "hiddenlayers", "importname", "mode", "scalings", "version",
                          "weights"}
    assert descriptor["importname"] == ".descriptor.gaussian.Gaussian"
    assert model["importname"] == ".model.neuralnetwork.NeuralNetwork"
    assert isinstance(model["weights"]["Li"][1], np.ndarray) and model["weights"]["Li"][1].shape == (57, 5)
    assert model["hiddenlayers"]["Li"] == (5, 5)
    original = (REFERENCE_DIR / "lgps_default.amp").read_text()
    amp_outer = _amp_eval(original)
    assert set(_amp_eval(amp_outer["model"])) == set(model)
    assert set(_amp_eval(amp_outer["descriptor"])) == set(descriptor)


def test_parser_refuses_code(tmp_path):
    with pytest.raises(DopwfInputError, match=r"refusing call __import__\('os'\).system"):
        parse_amp_literal("__import__('os').system('echo pwned')")
    with pytest.raises(DopwfInputError, match="refusing"):
        parse_amp_literal("dict(a=open('/etc/passwd').read())")
    with pytest.raises(DopwfInputError, match="refusing"):
        parse_amp_literal("[x for x in ()]")
    malicious = tmp_path / "evil.amp"
    malicious.write_text('dict(descriptor="__import__(\'os\').getcwd()", model="dict()")')
    with pytest.raises(DopwfInputError, match="evil.amp.*refusing call __import__"):
        load_amp(malicious)


def test_parser_reads_amp_literals():
    value = parse_amp_literal("dict(a=array([[1.0, -2.5]]), b=OrderedDict([('x', (1, 2))]), c=-inf, d=None)")
    assert value["a"].tolist() == [[1.0, -2.5]] and value["b"] == {"x": (1, 2)}
    assert value["c"] == -np.inf and value["d"] is None


def test_truncated_file_is_refused(tmp_path):
    text = (REFERENCE_DIR / "lgps_default.amp").read_text()
    broken = tmp_path / "broken.amp"
    broken.write_text(text[: len(text) // 2])
    with pytest.raises(DopwfInputError, match="broken.amp.*syntax error"):
        load_amp(broken)


def _rewritten(tmp_path, old, new):
    text = (REFERENCE_DIR / "li2s_small.amp").read_text().replace(old, new)
    path = tmp_path / "variant.amp"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("'.descriptor.gaussian.Gaussian'", "'.descriptor.bispectrum.Bispectrum'", "Bispectrum' is not supported"),
        ("'Cosine'", "'Polynomial'", "Polynomial' is not supported; only Cosine"),
        ("'.model.neuralnetwork.NeuralNetwork'", "'.model.kernelridge.KernelRidge'", "KernelRidge' is not supported"),
        ("'type': 'G4'", "'type': 'G5'", "type 'G5' is not supported"),
        ("activation='tanh'", "activation='relu'", "activation 'relu'"),
    ],
)
def test_unsupported_amp_kinds_are_named(tmp_path, old, new, message):
    with pytest.raises(DopwfInputError, match=message):
        load_amp(_rewritten(tmp_path, old, new))


def test_untrained_model_is_refused(tmp_path):
    text = (REFERENCE_DIR / "li2s_small.amp").read_text()
    start = text.index("weights={")
    path = tmp_path / "untrained.amp"
    path.write_text(text[:start] + 'weights=None)\\n")\n')
    with pytest.raises(DopwfInputError, match="no weights: it was never trained"):
        load_amp(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(DopwfInputError, match="not found"):
        load_amp_potential(tmp_path / "absent.amp")
    binary = tmp_path / "model.amp"
    binary.write_bytes(b"\x80\x04\x95 pickle")
    with pytest.raises(DopwfInputError, match="not a text file|syntax error"):
        load_amp_potential(binary)


def test_amp_reads_our_files(amp_images):
    """saved_by_dopant_workflows.amp was written by save_amp from a model we trained; AMP 1.0.1 loaded it
    (tools/amp_reference/make_amp_reference.py --check) and computed these numbers."""
    import json

    path = REFERENCE_DIR / "saved_by_dopant_workflows.amp"
    amp_results = json.loads((REFERENCE_DIR / "saved_by_dopant_workflows.amp_results.json").read_text())["results"]
    calc = load_amp(path)
    atoms = amp_images[3].copy()
    atoms.calc = calc
    # measured: |dE| 1.9e-13 eV, |dF| 1.2e-12 eV/A
    assert abs(atoms.get_potential_energy() - amp_results[0]["energy_eV"]) < 1e-12
    assert np.abs(atoms.get_forces() - np.array(amp_results[0]["forces_eV_A"])).max() < 1e-10
    # our writer still produces exactly the text AMP read
    assert amp_text(calc.potential) == path.read_text()
