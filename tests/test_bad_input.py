"""The probes behind the documentation's word on bad input, in one table (docs/cli.md: exit status 2 is "bad input
(the message names the input and what was expected)"; README and docs: study files validated before any work,
unknown keys and keys given twice refused, a corrupted or edited model file refused by its checksum, `.amp` files
parsed, never executed, an unreadable store named with its `.last-good` copy, a second writer refused naming the
holder, an unreachable results database named before any work).

Each row is one bad input to the real `dopwf` console script, as a user runs it. Every row asserts: exit status 2;
one `dopwf <command>: error: ...` line naming the input and what was expected; no Python traceback; nothing
half-written (the output it asked for does not exist, the FireWorks configuration's files are byte for byte what
they were: no workflow in the store, no document in the results database).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dopant_workflows.fireworks.runner import LOCK_FILE
from tests.helpers import SMOKE, dopwf

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bench" / "data" / "lsips_demo_network.json"
AMP_MODEL = ROOT / "tests" / "data" / "amp_reference" / "li2s_small.amp"
MD = ["--temperature-K", "600", "--preset", "smoke"]


def _study(tmp: Path, text: str | None = None, **changes) -> None:
    """tmp/study.yaml: ``text``, or the smoke study with these top-level keys changed."""
    data = yaml.safe_load(SMOKE.read_text())
    data.update(changes)
    (tmp / "study.yaml").write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))


def _smoke_with(tmp: Path, section: str, key: str, value) -> None:
    data = yaml.safe_load(SMOKE.read_text())
    data[section][key] = value
    (tmp / "study.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _config(tmp: Path) -> None:
    done = dopwf(["init", "--dir", str(tmp / "cfg")], tmp)
    assert done.returncode == 0, done.stderr


def _edited_model(tmp: Path) -> None:
    """One weight changed, the stored checksum left as it was (a hand edit, or a bit flipped in transfer)."""
    document = json.loads(MODEL.read_text())
    weights = document["network"]["elements"]["Li"]["weights"][0]
    weights[0][0] += 1e-3
    (tmp / "model.json").write_text(json.dumps(document, indent=1))


def _truncated(source: Path, target: Path) -> None:
    text = source.read_text()
    target.write_text(text[: len(text) // 2])


def _evil_amp(tmp: Path) -> None:
    """An AMP file whose descriptor is code (AMP's own loader would eval it and create PWNED)."""
    (tmp / "evil.amp").write_text(
        f"dict(descriptor=\"__import__('os').system('touch {tmp / 'PWNED'}')\", model=\"dict()\")")


def _other_run_in(tmp: Path) -> None:
    """A run directory holding the checkpoint of another run (another seed)."""
    done = dopwf(["md", "LSiPS", "--model", str(MODEL), *MD, "--seed", "1", "--out", str(tmp / "md")], tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    for path in (tmp / "md").iterdir():
        if path.name != "checkpoint.npz":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _garbled(tmp: Path, name: str, good: str, bad: str) -> None:
    """A configuration whose file ``name`` was cut short by a writer killed halfway, its previous version beside it
    as ``.last-good`` (as dopwf keeps it)."""
    _config(tmp)
    path = tmp / "cfg" / name
    path.parent.mkdir(exist_ok=True)
    (path.parent / (path.name + ".last-good")).write_text(good)
    path.write_text(bad)


def _unreachable_results(tmp: Path) -> None:
    _config(tmp)
    (tmp / "cfg" / "db.json").write_text(json.dumps({"kind": "mongodb", "uri": "mongodb://127.0.0.1:9/results"}))


def _analysis_truncated(tmp: Path) -> None:
    (tmp / "a").mkdir()
    (tmp / "a" / "analysis.json").write_text('{"temperature_K": 600, "diffusivity_cm2_s": 1e-')
    (tmp / "b").mkdir()
    (tmp / "b" / "analysis.json").write_text(json.dumps({"temperature_K": 700}))


@dataclass(frozen=True)
class Probe:
    """``args`` and ``expected`` may hold {tmp}: the row's directory. ``absent``: paths (under {tmp}) that must not
    exist afterwards. ``hold_lock``: the test holds the embedded store's lock (another dopwf run) meanwhile."""

    args: tuple[str, ...]
    expected: tuple[str, ...]
    setup: Callable[[Path], object] | None = None
    absent: tuple[str, ...] = ()
    hold_lock: bool = False

    @property
    def command(self) -> str:
        return " ".join(self.args[:2]) if self.args[0] == "ann" else self.args[0]


PROBES = {
    # --- study files: `dopwf validate` reports every problem; `dopwf run` refuses the same before any work
    "study: not YAML": Probe(
        ("validate", "{tmp}/study.yaml"), ("study file {tmp}/study.yaml: 1 problem(s)", "not valid YAML", "line 2"),
        lambda tmp: _study(tmp, text="name: smoke\ntemperatures_K: [400, 500\n")),
    "study: misspelt key": Probe(
        ("validate", "{tmp}/study.yaml"),
        ("study file {tmp}/study.yaml: 1 problem(s)\n  ann.hiden_layers: unknown field",),
        lambda tmp: _smoke_with(tmp, "ann", "hiden_layers", [5, 5])),
    "study: key given twice": Probe(
        ("validate", "{tmp}/study.yaml"), ("key 'seed' given twice (first on line", "keep one"),
        lambda tmp: _study(tmp, text=SMOKE.read_text() + "seed: 4\n")),
    "study: every problem at once (the README's example)": Probe(
        ("validate", "{tmp}/study.yaml"),
        ("study file {tmp}/study.yaml: 3 problem(s)", "temperatures_K[1]: Input should be greater than 0",
         "engine: Input should be 'embedded', 'embedded:chgnet', 'embedded:sevenn', 'vasp' or 'cp2k'",
         "substitutions: counts: count 30 needs"),
        lambda tmp: _study(tmp, temperatures_K=[400, -500], engine="dft",
                           substitutions={"dopant": "Cl:S", "compensate": "Si:P", "supercell": [1, 1, 1],
                                          "counts": [30]})),
    "study: host file missing": Probe(
        ("validate", "{tmp}/study.yaml"),
        ("host: host 'missing.cif': neither a built-in host", "nor an existing structure file"),
        lambda tmp: _study(tmp, host="missing.cif")),
    "study: host file not a structure": Probe(
        ("validate", "{tmp}/study.yaml"),
        ("host: structure file '{tmp}/host.cif': could not be parsed as a periodic structure (expected CIF, POSCAR",),
        lambda tmp: ((tmp / "host.cif").write_text("data_x\nthis is not a crystal\n"), _study(tmp, host="host.cif"))),
    "run: negative temperature, nothing submitted": Probe(
        ("run", "{tmp}/study.yaml", "--config", "{tmp}/cfg", "--out", "{tmp}/report"),
        ("temperatures_K[0]: Input should be greater than 0",),
        lambda tmp: (_config(tmp), _study(tmp, temperatures_K=[-5, 500])), absent=("report", "cfg/runs")),
    # --- structure files given to a stage
    "md: structure file missing": Probe(
        ("md", "{tmp}/cell.cif", "--model", str(MODEL), *MD, "--out", "{tmp}/md"),
        ("host '{tmp}/cell.cif': neither a built-in host", "nor an existing structure file"), absent=("md",)),
    "md: structure file not a structure": Probe(
        ("md", "{tmp}/cell.cif", "--model", str(MODEL), *MD, "--out", "{tmp}/md"),
        ("structure file '{tmp}/cell.cif': could not be parsed as a periodic structure (expected CIF, POSCAR",),
        lambda tmp: (tmp / "cell.cif").write_text("not a crystal\n"), absent=("md",)),
    # --- model files
    "md: model edited, checksum stale": Probe(
        ("md", "LSiPS", "--model", "{tmp}/model.json", *MD, "--out", "{tmp}/md"),
        ("model '{tmp}/model.json': checksum mismatch", "file corrupted or edited"), _edited_model, absent=("md",)),
    "md: model truncated": Probe(
        ("md", "LSiPS", "--model", "{tmp}/model.json", *MD, "--out", "{tmp}/md"),
        ("model '{tmp}/model.json': not valid JSON", "truncated or not a model file"),
        lambda tmp: _truncated(MODEL, tmp / "model.json"), absent=("md",)),
    "md: .amp file holding code, never run": Probe(
        ("md", "LSiPS", "--model", "{tmp}/evil.amp", *MD, "--out", "{tmp}/md"),
        ("AMP model '{tmp}/evil.amp' (descriptor): refusing call __import__('os').system(...)",
         "only literals are read"), _evil_amp, absent=("md", "PWNED")),
    "ann eval: .amp file truncated": Probe(
        ("ann", "eval", "{tmp}/cut.amp", str(ROOT / "tests" / "data" / "amp_reference" / "li2s_images.extxyz"),
         "--out", "{tmp}/eval"),
        ("AMP model '{tmp}/cut.amp': not an AMP parameter file (syntax error at line",),
        lambda tmp: _truncated(AMP_MODEL, tmp / "cut.amp"), absent=("eval",)),
    "ann train: images file not images": Probe(
        ("ann", "train", "{tmp}/images.extxyz", "--out", "{tmp}/model"),
        ("images file '{tmp}/images.extxyz': could not be read by ASE",),
        lambda tmp: (tmp / "images.extxyz").write_text("12\nnot an extxyz header\nLi 0 0\n"), absent=("model",)),
    # --- outputs
    "md: --out parent missing": Probe(
        ("md", "LSiPS", "--model", str(MODEL), *MD, "--out", "{tmp}/no/such/dir"),
        ("argument --out: '{tmp}/no/such/dir': its parent directory '{tmp}/no/such' does not exist",),
        absent=("no",)),
    "md: --out holds another run's checkpoint": Probe(
        ("md", "LSiPS", "--model", str(MODEL), *MD, "--seed", "2", "--out", "{tmp}/md"),
        ("{tmp}/md: holds a checkpoint of a different run", "use a new directory"), _other_run_in,
        absent=("md/trajectory.extxyz", "md/md_log.csv", "md/md_run.json")),
    # --- numbers
    "analyze: temperature below 5 K": Probe(
        ("analyze", "{tmp}/t.extxyz", "--temperature-K", "3"),
        ("argument --temperature-K: '3': expected a temperature in K of at least 5 (is it in K?)",)),
    "arrhenius: analysis.json truncated": Probe(
        ("arrhenius", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/fit"),
        ("analysis '{tmp}/a/analysis.json': not valid JSON", "truncated?"), _analysis_truncated, absent=("fit",)),
    # --- FireWorks configuration and the embedded store
    "run: --config not a directory dopwf init wrote": Probe(
        ("run", str(SMOKE), "--config", "{tmp}/nowhere"),
        ("--config '{tmp}/nowhere': no FW_config.yaml there (run dopwf init --dir {tmp}/nowhere)",),
        absent=("nowhere",)),
    "init: a different configuration already there": Probe(
        ("init", "--dir", "{tmp}/cfg", "--mongodb-uri", "mongodb://db.example.org/results"),
        ("--dir '{tmp}/cfg': already holds a different FireWorks configuration", "use --force to overwrite it"),
        _config),
    "status: store file unreadable": Probe(
        ("status", "--config", "{tmp}/cfg"),
        ("LaunchPad store '{tmp}/cfg/launchpad_store.json': cannot be read",
         "nothing was changed; its previous version is kept as '{tmp}/cfg/launchpad_store.json.last-good'"),
        lambda tmp: _garbled(tmp, "launchpad_store.json", "{}", '{"dopant_workflows": {"fireworks": ')),
    "report: results file unreadable": Probe(
        ("report", "--config", "{tmp}/cfg", "--out", "{tmp}/report"),
        ("results file '{tmp}/cfg/results/md_tasks.json': cannot be read",
         "nothing was changed; its previous version is kept as '{tmp}/cfg/results/md_tasks.json.last-good'"),
        lambda tmp: _garbled(tmp, "results/md_tasks.json", "[]", '[{"task_id": "smoke-x", "study": "sm'),
        absent=("report",)),
    "run: the store's lock held by another run": Probe(
        ("run", str(SMOKE), "--config", "{tmp}/cfg"),
        ("{tmp}/cfg: another dopwf run is using this embedded store", "pid 4242: dopwf run, since 12:00:00"),
        _config, absent=("cfg/runs",), hold_lock=True),
    "run: results database unreachable": Probe(
        ("run", str(SMOKE), "--config", "{tmp}/cfg"),
        ("results database (mongodb: mongodb://127.0.0.1:9/results): cannot use collection",), _unreachable_results,
        absent=("cfg/runs",)),
}


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _assert_untouched(config: Path, before: dict[str, bytes]) -> None:
    """Every file of the configuration as it was (the store: no workflow; the results: no document). New files may
    only be the lock file and empty results collections (a reader opens every collection it queries)."""
    after = _files(config)
    for name, content in before.items():
        assert after.get(name) == content, f"{name} was changed"
    for name in sorted(set(after) - set(before)):
        assert name == LOCK_FILE or (name.startswith("results/") and json.loads(after[name]) == []), (
            f"{name} was written: {after[name][:200]!r}")


@pytest.mark.parametrize("probe", PROBES.values(), ids=PROBES.keys())
def test_bad_input_is_refused_by_name_and_writes_nothing(probe: Probe, tmp_path):
    if probe.setup is not None:
        probe.setup(tmp_path)
    config = tmp_path / "cfg"
    before = _files(config) if config.is_dir() else None
    args = [a.format(tmp=tmp_path) for a in probe.args]
    if probe.hold_lock:
        with open(config / LOCK_FILE, "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.write("pid 4242: dopwf run, since 12:00:00\n")
            held.flush()
            before = _files(config)
            done = dopwf(args, tmp_path, timeout=300)
    else:
        done = dopwf(args, tmp_path, timeout=300)
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "UserWarning" not in done.stderr, done.stderr[-3000:]  # the error alone, no parser noise before it
    assert f"dopwf {probe.command}: error: " in done.stderr, done.stderr[-3000:]
    for expected in probe.expected:
        assert expected.format(tmp=tmp_path) in done.stderr, (expected, done.stderr[-3000:])
    for path in probe.absent:
        assert not (tmp_path / path).exists(), f"{path} was written"
    if before is not None:
        _assert_untouched(config, before)
