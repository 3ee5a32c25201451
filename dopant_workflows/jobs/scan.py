"""Model selection (the paper's Table 1 and Fig. 3): descriptor sets x topologies trained on the same frames with
the same split, their validation and test errors, and optionally their errors on other labelled frames (ANN-MD
frames relabelled by the reference: the error where a network is used)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.errors import DopwfInputError, settings_problems
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.names import MODEL_FILE, TRAINING_FILE

log = logging.getLogger(__name__)

COLUMNS = ["descriptor", "functions per element", "hidden layers", "weights", "F RMSE train (eV/A)",
           "F RMSE validation (eV/A)", "F RMSE test (eV/A)", "E RMSE test (meV/atom)", "F RMSE eval (eV/A)",
           "train time (min)"]


@dataclass(frozen=True)
class ScanResult:
    rows: list[dict]
    table: str


def parse_topology(text: str) -> tuple[int, ...]:
    """'5,5' -> (5, 5); a clear error naming the entry otherwise."""
    try:
        layers = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        layers = ()
    if not layers or any(n <= 0 for n in layers):
        raise DopwfInputError(f"topology {text!r}: expected positive nodes per layer separated by commas, e.g. 5,5")
    return layers


def grid_settings(grid: Sequence[tuple[str, str]], common: dict) -> list[TrainingSettings]:
    """Every grid point's settings, all problems reported at once before anything is trained."""
    settings, problems = [], []
    for descriptor, topology in grid:
        try:
            settings.append(TrainingSettings(**common, descriptor=descriptor, hidden_layers=parse_topology(topology)))
        except DopwfInputError as exc:
            problems.append(str(exc))
        except ValidationError as exc:
            problems.append(f"{descriptor} {topology}: {settings_problems('TrainingSettings', exc)}")
    if problems:
        raise DopwfInputError("scan grid: " + "; ".join(problems))
    return settings


def _n_weights(model_path: Path) -> int:
    from dopant_workflows.ann.model_io import load_potential

    network = load_potential(model_path).network
    return sum(w.size for net in network.networks.values() for w in net.weights)


def scan_grid(images: Sequence[str | Path], grid: Sequence[tuple[str, str]], common: dict, out_dir: str | Path,
              eval_images: Sequence[str | Path] = (), replace: bool = False) -> ScanResult:
    from dopant_workflows.ann.dataset import load_images
    from dopant_workflows.ann.evaluation import evaluate_potential
    from dopant_workflows.ann.model_io import load_potential
    from dopant_workflows.jobs.training import train_network

    settings = grid_settings(grid, common)
    out = Path(out_dir)
    evaluation_set = load_images([str(p) for p in eval_images]) if eval_images else []
    rows = []
    for number, point in enumerate(settings, 1):
        name = f"{point.descriptor}-{'x'.join(map(str, point.hidden_layers))}"
        directory = out / name
        report_file = directory / TRAINING_FILE
        done = report_file.is_file() and json.loads(report_file.read_text()).get("settings") == point.as_record()
        if not done or replace:
            log.info("scan %d of %d: %s", number, len(settings), name)
            train_network(images, point, directory, replace=True)
        report = json.loads(report_file.read_text())
        metrics = report["metrics"]
        potential = load_potential(directory / MODEL_FILE)
        evaluated = evaluate_potential(potential, evaluation_set).metrics if evaluation_set else None
        rows.append({
            "descriptor": point.descriptor, "functions_per_element": max(potential.descriptor.n_functions.values()),
            "hidden_layers": list(point.hidden_layers), "weights": _n_weights(directory / MODEL_FILE),
            "force_rmse_eV_A": {p: m["force_rmse_eV_A"] for p, m in metrics.items()},
            "energy_rmse_eV_atom": {p: m["energy_rmse_eV_atom"] for p, m in metrics.items()},
            "eval_force_rmse_eV_A": evaluated.force_rmse_eV_A if evaluated else None,
            "eval_energy_rmse_eV_atom": evaluated.energy_rmse_eV_atom if evaluated else None,
            "wall_time_s": report["wall_time_s"], "model_path": str((directory / MODEL_FILE).resolve()),
        })
    table_rows = [[r["descriptor"], str(r["functions_per_element"]), ",".join(map(str, r["hidden_layers"])),
                   str(r["weights"]), *(f"{r['force_rmse_eV_A'][p]:.4f}" for p in ("train", "validation", "test")),
                   f"{1000 * r['energy_rmse_eV_atom']['test']:.2f}",
                   "—" if r["eval_force_rmse_eV_A"] is None else f"{r['eval_force_rmse_eV_A']:.4f}",
                   f"{r['wall_time_s'] / 60:.1f}"] for r in rows]
    from dopant_workflows.report import markdown

    table = markdown(COLUMNS, table_rows)
    write_text_atomically(out / "scan.json", json.dumps({"images": [str(p) for p in images],
                                                          "eval_images": [str(p) for p in eval_images],
                                                          "common": common, "rows": rows}, indent=1))
    buffer = io.StringIO()
    csv.writer(buffer).writerows([COLUMNS, *table_rows])
    write_text_atomically(out / "scan.csv", buffer.getvalue())
    _plot(rows, out / "scan.png")
    return ScanResult(rows, table)


def _plot(rows: list[dict], path: Path) -> None:
    """Fig. 3: force error against network size, one line per descriptor set (test, and eval where given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dopant_workflows.analysis.plots import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for descriptor in sorted({r["descriptor"] for r in rows}):
        mine = sorted((r for r in rows if r["descriptor"] == descriptor), key=lambda r: r["weights"])
        line = ax.plot([r["weights"] for r in mine], [r["force_rmse_eV_A"]["test"] for r in mine], "o-",
                       label=f"{descriptor}: test")[0]
        if any(r["eval_force_rmse_eV_A"] is not None for r in mine):
            ax.plot([r["weights"] for r in mine], [r["eval_force_rmse_eV_A"] for r in mine], "s--",
                    color=line.get_color(), label=f"{descriptor}: eval frames")
        for r in mine:
            ax.annotate(",".join(map(str, r["hidden_layers"])), (r["weights"], r["force_rmse_eV_A"]["test"]),
                        fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.set_xscale("log")
    ax.set_xlabel("network weights (all elements)")
    ax.set_ylabel("force RMSE (eV/Å)")
    ax.legend(fontsize=8)
    save_figure(fig, path)
