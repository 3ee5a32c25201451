"""The active-learning stage, one round at a time (DP-GEN's train -> explore -> label cycle).

Round r: train a committee (different seeds: different splits and initial weights) on every frame so far;
explore with member 0 by ANN-MD of the cells the study will simulate, at its temperatures; compute the maximum
committee force deviation of every explored frame; if fewer than ``converged_fraction`` of them exceed
``trust_lo`` (or this is the last round), member 0 is the study's network; otherwise label the selected frames
with the reference engine for round r + 1. A sample of explored frames is labelled too, to measure the true error
(cheap with an embedded reference). ``selection: uniform`` labels frames evenly along every run instead and stops
when member 0's true force error is within ``converged_force_rmse_eV_A`` in every run (no committee needed).
Either way (``label_beyond_data``), explored frames in which member 0's core repulsion is active -- a pair closer
than any in its training data, extrapolation by definition -- are labelled on top, and a round that met one has not
converged.
With ``confirm_ps``, a round that converges is confirmed first by longer runs of every cell at the hottest
exploration temperature, judged the same way; if they fail, the round has not converged and their labelled frames
train the next (rare excursions into the core repulsion escape short exploration runs).
With ``warm_start``, round r's committee continues from round r - 1's (DP-GEN's init-model) instead of a fresh
random start. When the rounds end, the network the study uses is the best-measured round's (``hand_on: best``)
or the last round's (``hand_on: last``, DP-GEN). Everything lands in ``out_dir``: member-k/ (networks), explore/
(trajectories), labelled.extxyz, true_error.extxyz, round.json, deviation.png.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import iread, write
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.active_learning.deviation import evenly_spaced, max_force_deviation, select_frames
from dopant_workflows.active_learning.settings import ActiveLearningSettings
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.fileio import write_text_atomically
from dopant_workflows.jobs.labelling import label_frames
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.names import (
    DEVIATION_PLOT,
    LABELLED_FRAMES_FILE,
    MD_TRAJECTORY_FILE,
    MODEL_FILE,
    ROUND_FILE,
    TRAINING_FILE,
    TRUE_ERROR_FILE,
    derive_seed,
)
from dopant_workflows.schemas.active_learning import ActiveLearningDocument, confirmation_findings
from dopant_workflows.schemas.tasks import ModelDocument

log = logging.getLogger(__name__)


def train_committee(frame_files: Sequence[str | Path], settings: TrainingSettings, size: int, out_dir: str | Path,
                    study: str | None = None, label: str | None = None, warm_from: str | Path | None = None
                    ) -> list[ModelDocument]:
    """``size`` networks on the same frames, member k with seed ``settings.seed + k`` (its own split and start),
    or continuing from ``warm_from``/member-k when given. A member already trained in ``out_dir`` (model.json
    present, same settings, same start) is reused: an interrupted round resumes."""
    from dopant_workflows.ann.model_io import load_potential, model_sha256
    from dopant_workflows.fileio import file_sha256
    from dopant_workflows.jobs.training import train_network

    documents = []
    for k in range(size):
        member = settings.model_copy(update={"seed": settings.seed + k})
        directory = Path(out_dir) / f"member-{k}"
        start = Path(warm_from) / f"member-{k}" if warm_from is not None else None
        start_sha = (json.loads((start / TRAINING_FILE).read_text()).get("model_sha256")
                     if start and (start / TRAINING_FILE).is_file() else None)  # missing: train_network says so
        if (directory / MODEL_FILE).is_file() and (directory / TRAINING_FILE).is_file():
            report = json.loads((directory / TRAINING_FILE).read_text())
            if report.get("settings") == member.as_record() and (report.get("warm_start") or {}).get(
                    "model_sha256") == start_sha:
                log.info("committee member %d: already trained in %s", k, directory)
                metrics = report["metrics"]
                documents.append(ModelDocument(
                    model_sha256=model_sha256(load_potential(directory)), study=study, label=label,
                    model_path=str((directory / MODEL_FILE).resolve()),
                    training_frames_sha256=[file_sha256(f) for f in frame_files],
                    energy_rmse_eV_atom={p: m["energy_rmse_eV_atom"] for p, m in metrics.items()},
                    force_rmse_eV_A={p: m["force_rmse_eV_A"] for p, m in metrics.items()},
                    n_images={p: m["n_images"] for p, m in metrics.items()}, settings=member.as_record(),
                    seed=member.seed, best_step=report.get("best_step"), stopped_early=report.get("stopped_early"),
                    wall_time_s=report.get("wall_time_s")))
                continue
        log.info("committee member %d of %d (seed %d%s)", k + 1, size, member.seed,
                 f", continuing from {start}" if start else "")
        documents.append(train_network(frame_files, member, directory, study=study, label=label, replace=True,
                                       warm_start=start))
    return documents


def exploration_protocol(settings: ActiveLearningSettings) -> MDProtocol:
    """Short heating from 100 K, a brief equilibration, then ``explore_ps`` sampled every ``explore_interval_fs``."""
    return MDProtocol(preset="demo", heating_ps=0.3, equilibration_ps=0.1, production_ps=settings.explore_ps,
                      sample_interval_fs=settings.explore_interval_fs)


def explore(model_path: str | Path, cells: Sequence[tuple[str, Structure]], temperatures_K: Sequence[float],
            settings: ActiveLearningSettings, out_dir: str | Path, seed: int, device: str = "cpu"
            ) -> tuple[list[Atoms], list[dict]]:
    """ANN-MD of every cell at every temperature with the network; the production frames of all runs (a run that
    blows up keeps the frames it had: the committee will disagree on them) and a record per run."""
    from dopant_workflows.jobs.md import potential_calculator
    from dopant_workflows.md.protocol import MDBlowUp, run_md

    calculator, provenance = potential_calculator(model_path, device)
    protocol = exploration_protocol(settings)
    frames, records = [], []
    for name, cell in cells:
        for temperature in temperatures_K:
            run_dir = Path(out_dir) / f"{name}-{temperature:g}K"
            status, wall = "completed", None
            try:
                result = run_md(AseAtomsAdaptor.get_atoms(cell), calculator, protocol, float(temperature), run_dir,
                                seed=derive_seed(seed, name, float(temperature)), provenance=provenance,
                                progress=False)
                wall = result.core_repulsion_max_eV
            except MDBlowUp as exc:
                status = f"blew up: {exc}"
            trajectory = run_dir / MD_TRAJECTORY_FILE
            these = list(iread(str(trajectory), index=":")) if trajectory.is_file() else []
            frames += these
            records.append({"cell": name, "formula": cell.composition.formula.replace(" ", ""),
                            "temperature_K": float(temperature), "n_frames": len(these), "status": status,
                            "core_repulsion_max_eV": wall})
            log.info("explored %s at %g K: %d frames (%s)", name, temperature, len(these), status)
    return frames, records


def committee_deviations(frames: Sequence[Atoms], model_paths: Sequence[str | Path]) -> np.ndarray:
    """DP-GEN's maximum force deviation of every frame under the committee (one shared descriptor pass)."""
    from dopant_workflows.ann.committee import committee_evaluate
    from dopant_workflows.ann.model_io import load_potential

    potentials = [load_potential(p) for p in model_paths]
    deviations = np.empty(len(frames))
    for i, frame in enumerate(frames):
        forces = np.stack([r.forces_eV_A for r in committee_evaluate(potentials, frame)])
        deviations[i] = max_force_deviation(forces)
    return deviations


def core_repulsion_energies(frames: Sequence[Atoms], model_path: str | Path) -> np.ndarray | None:
    """The network's wall energy in every frame (eV; > 0: a pair closer than any in its training data), None for
    a network without a wall."""
    from dopant_workflows.ann.model_io import load_potential

    potential = load_potential(model_path)
    if potential.core_repulsion is None:
        return None
    return np.array([potential.evaluate(frame, forces=False).core_repulsion_eV for frame in frames])


def _count_beyond(walls: np.ndarray | None) -> int | None:
    """Frames with the wall active (None: not checked)."""
    return None if walls is None else int((walls > 0).sum())


def _beyond_data_choice(walls: np.ndarray | None, already: np.ndarray, cap: int) -> np.ndarray:
    """Frames with the wall active that are not chosen already, evenly spread over them, at most ``cap``."""
    if walls is None:
        return np.array([], dtype=int)
    touched = np.setdiff1d(np.flatnonzero(walls > 0), already)
    return touched[evenly_spaced(len(touched), cap)] if len(touched) else np.array([], dtype=int)


class LabelsNeeded(Exception):
    """Raised by a labeller that cannot label here and now (VASP: single points run as their own Fireworks): the
    round is called again with the labels once they exist."""

    def __init__(self, frames: Sequence[Atoms]):
        super().__init__(f"{len(frames)} frames need reference labels")
        self.frames = list(frames)


def given_labels(labels: Sequence[Atoms] | None):
    """A labeller that hands out ``labels`` computed elsewhere (in the order the frames were asked for), or raises
    :class:`LabelsNeeded` while there are none; a label whose geometry is not the frame's is refused."""

    def labeller(frames: Sequence[Atoms]) -> list[Atoms]:
        if not frames:
            return []
        if labels is None:
            raise LabelsNeeded(frames)
        if len(labels) != len(frames):
            raise ValueError(f"{len(labels)} labelled frames for {len(frames)} requested")
        for n, (frame, labelled) in enumerate(zip(frames, labels, strict=True)):
            if not np.allclose(frame.positions, labelled.positions, atol=1e-5):
                raise ValueError(f"labelled frame {n} is not the explored frame it should label")
        return list(labels)

    return labeller


def _force_rmse(network_path: str | Path, labelled: Sequence[Atoms]) -> tuple[float | None, list[float]]:
    """Member 0 against the reference: overall RMSE and per-frame RMSE."""
    from dopant_workflows.ann.model_io import load_potential

    if not labelled:
        return None, []
    potential = load_potential(network_path)
    per_frame = [float(np.sqrt(((potential.evaluate(a, forces=True).forces_eV_A - a.get_forces()) ** 2).mean()))
                 for a in labelled]
    return float(np.sqrt(np.mean(np.square(per_frame)))), per_frame


def _uniform_choice(explored: Sequence[dict], max_labels: int) -> np.ndarray:
    """Frames evenly spread along every exploration run, the same number from each (a run that blew up gives
    what it has): indices into the concatenated frames."""
    per_run = max(1, max_labels // max(1, len(explored)))
    chosen, start = [], 0
    for record in explored:
        chosen += [start + i for i in evenly_spaced(record["n_frames"], per_run)]
        start += record["n_frames"]
    return np.asarray(chosen, dtype=int)


def _per_run_errors(explored: list[dict], chosen: np.ndarray, per_frame: Sequence[float]) -> list[dict]:
    """Each exploration record with its labelled frames and the network's force RMSE on them."""
    bounds = np.cumsum([0, *[r["n_frames"] for r in explored]])
    out = []
    for k, record in enumerate(explored):
        mine = [e for i, e in zip(chosen, per_frame, strict=True) if bounds[k] <= i < bounds[k + 1]]
        rmse = float(np.sqrt(np.mean(np.square(mine)))) if mine else None
        out.append({**record, "n_labelled": len(mine), "force_rmse_eV_A": rmse})
    return out


def _deviation_choice(deviations: np.ndarray, settings: ActiveLearningSettings, n_beyond: int | None, last: bool
                      ) -> tuple[object, np.ndarray, bool, bool, str | None]:
    """DP-GEN's decision before labelling: (selection, frames to label, converged, final, note)."""
    selection = select_frames(deviations, settings.trust_lo_eV_A, settings.trust_hi_eV_A,
                              settings.max_labels_per_round)
    converged = selection.fraction_above_lo < settings.converged_fraction and not n_beyond
    final = converged or last
    chosen, note = selection.chosen, None
    if not final and len(chosen) == 0 and len(selection.failed):
        # nothing inside the trust window, everything beyond it: DP-GEN would stall; the least-deviating frames
        # above trust_hi are the closest to the data, and an embedded reference labels any geometry
        order = selection.failed[np.argsort(deviations[selection.failed])]
        chosen = np.sort(order[: settings.max_labels_per_round])
        note = (f"no frame in [{settings.trust_lo_eV_A}, {settings.trust_hi_eV_A}) eV/A; labelled the "
                f"{len(chosen)} least-deviating frames above trust_hi instead")
    return selection, chosen, converged, final, note


def _uniform_verdict(explored: list[dict], chosen: np.ndarray, per_frame: list[float], rmse: float | None,
                     settings: ActiveLearningSettings, n_beyond: int | None, last: bool
                     ) -> tuple[list[dict], dict, bool, bool]:
    """The uniform selection's decision after labelling (its labels are an unbiased sample of the explored
    frames: they are the true error): (runs with their errors, true_error, converged, final)."""
    explored = _per_run_errors(explored, chosen, per_frame)
    worst = max((r["force_rmse_eV_A"] for r in explored if r["force_rmse_eV_A"] is not None), default=None)
    converged = bool(explored) and all(r["status"] == "completed" for r in explored) and (
        worst is not None and worst <= settings.converged_force_rmse_eV_A) and not n_beyond
    true_error = {"random_force_rmse_eV_A": rmse, "random_n_frames": len(per_frame), "random_deviation_eV_A": [],
                  "random_per_frame_rmse_eV_A": per_frame, "worst_run_force_rmse_eV_A": worst,
                  "selected_force_rmse_eV_A": None, "selected_n_frames": 0, "selected_deviation_eV_A": [],
                  "selected_per_frame_rmse_eV_A": []}
    return explored, true_error, converged, converged or last


def _confirmation_runs(model_paths: Sequence[str | Path], cells: Sequence[tuple[str, Structure]],
                       temperatures_K: Sequence[float], settings: ActiveLearningSettings, out_dir: Path, seed: int,
                       round_number: int, device: str) -> tuple[list[Atoms], list[dict], np.ndarray | None]:
    """``confirm_ps`` of ANN-MD of every cell at the hottest exploration temperature (the frames, a record per
    run, and the wall energy of every frame when ``label_beyond_data``)."""
    longer = settings.model_copy(update={"explore_ps": settings.confirm_ps})
    frames, runs = explore(model_paths[0], cells, [max(temperatures_K)], longer, out_dir,
                           derive_seed(seed, "confirm", round_number), device)
    walls = core_repulsion_energies(frames, model_paths[0]) if settings.label_beyond_data and frames else None
    return frames, runs, walls


def _confirmation_record(runs: list[dict], walls: np.ndarray | None, passed: bool, settings: ActiveLearningSettings,
                         temperature_K: float, n_labelled: int, **measured) -> dict:
    """What the confirmation ran and found (the document's ``confirmation``)."""
    return {"temperature_K": float(temperature_K), "ps_per_run": settings.confirm_ps, "runs": runs,
            "n_frames": sum(r["n_frames"] for r in runs),
            "n_beyond_data": _count_beyond(walls),
            "beyond_data_max_eV": None if walls is None or not len(walls) else float(walls.max()),
            "n_labelled": n_labelled, "passed": passed, **measured}


def _deviation_histogram(deviations: np.ndarray | None, settings: ActiveLearningSettings) -> dict | None:
    if deviations is None:
        return None
    finite = deviations[np.isfinite(deviations)]
    top = max(settings.trust_hi_eV_A * 2, float(finite.max()) if len(finite) else 0.0)
    counts, edges = np.histogram(np.clip(finite, 0, top), bins=40, range=(0, top))
    return {"bin_edges_eV_A": edges.tolist(), "counts": counts.tolist()}


def round_score(document: ActiveLearningDocument) -> tuple:
    """Smaller is better: the round's network judged where it was used. A converged round first; then, uniform:
    a blown-up run, the worst run's true force RMSE, the frames beyond the data; deviation: the fraction above
    trust_lo, the true error on random explored frames."""
    inf = float("inf")
    error = document.true_error
    if document.selection == "uniform":
        worst = error.get("worst_run_force_rmse_eV_A")
        return (not document.converged, any(r.get("status") != "completed" for r in document.explored),
                inf if worst is None else worst, document.n_beyond_data or 0)
    random = error.get("random_force_rmse_eV_A")
    return (not document.converged, inf if document.fraction_above_lo is None else document.fraction_above_lo,
            inf if random is None else random)


def earlier_rounds(out_dir: str | Path, round_number: int) -> list[ActiveLearningDocument]:
    """The documents of rounds 1 .. round_number - 1 of this chain (siblings ``round<k>/round.json``)."""
    documents = []
    for k in range(1, round_number):
        path = Path(out_dir).parent / f"round{k}" / ROUND_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: round {k} of this active-learning chain left no document")
        documents.append(ActiveLearningDocument(**json.loads(path.read_text())))
    return documents


def hand_on(document: ActiveLearningDocument, earlier: Sequence[ActiveLearningDocument], rule: str
            ) -> ActiveLearningDocument:
    """The final round's document naming the network the study uses (``rule``: best or last)."""
    chosen = document if rule == "last" else min([*earlier, document], key=lambda d: (round_score(d), -d.round))
    return document.model_copy(update={"handed_on_round": chosen.round, "handed_on_sha256": chosen.committee_sha256[0],
                                       "handed_on_model_path": chosen.model_path,
                                       "handed_on_training_frame_files": list(chosen.training_frame_files)})


def _log_round(document: ActiveLearningDocument) -> None:
    d, error = document, document.true_error
    status = "; converged" if d.converged else ("; last round" if d.final else "")
    confirmation = d.confirmation
    if confirmation is not None:
        found = confirmation_findings(confirmation)
        status += (f"; confirmed by {len(confirmation['runs'])} runs of {confirmation['ps_per_run']:g} ps at "
                   f"{confirmation['temperature_K']:g} K: {'passed' if confirmation['passed'] else 'FAILED'}"
                   + (f" ({', '.join(found)})" if found else ""))
    if d.final:
        status += f"; the study uses round {d.handed_on_round}'s network"
    if d.n_beyond_data:
        status = (f"; {d.n_beyond_data} explored frames beyond the data (wall up to {d.beyond_data_max_eV:.3f} eV), "
                  f"{d.n_labelled_beyond_data} of them labelled{status}")
    rmse = error.get("random_force_rmse_eV_A")
    rmse = "-" if rmse is None else f"{rmse:.3f}"
    if d.selection == "uniform":
        worst = error.get("worst_run_force_rmse_eV_A")
        log.info("active learning round %d: %d frames explored in %d runs, %d labelled; force RMSE %s eV/A "
                 "(worst run %s)%s", d.round, d.n_explored, len(d.explored), d.n_labelled, rmse,
                 "-" if worst is None else f"{worst:.3f}", status)
    else:
        log.info("active learning round %d: %d frames explored, %.1f %% above trust_lo (%d candidates, %d beyond "
                 "trust_hi), %d labelled; true force RMSE on random explored frames %s eV/A%s", d.round,
                 d.n_explored, 100 * d.fraction_above_lo, d.n_candidates, d.n_failed, d.n_labelled, rmse, status)


def _uniform_confirmation(model_paths: Sequence[str | Path], cells: Sequence[tuple[str, Structure]],
                          temperatures_K: Sequence[float], settings: ActiveLearningSettings, out: Path, seed: int,
                          round_number: int, device: str, labeller, last: bool) -> tuple[dict, list[Atoms], int]:
    """A converged uniform round's confirmation: the longer runs, frames labelled evenly along each (their true
    error) and, unless the round is the last, the frames beyond the data on top. Returns the record, the labelled
    frames (the next round's if it failed) and how many of them lie beyond the data."""
    frames, runs, walls = _confirmation_runs(model_paths, cells, temperatures_K, settings, out / "confirm", seed,
                                             round_number, device)
    chosen = _uniform_choice(runs, settings.max_labels_per_round)
    beyond = np.array([], dtype=int) if last else _beyond_data_choice(walls, chosen, settings.max_labels_per_round)
    labelled = labeller([frames[i] for i in np.concatenate([chosen, beyond]).astype(int)]) if len(frames) else []
    _, per_frame = _force_rmse(model_paths[0], labelled[:len(chosen)])
    # no frames at all: no run has an error, so the verdict is a failure
    runs, error, passed, _ = _uniform_verdict(runs, chosen, per_frame, None, settings, _count_beyond(walls), last)
    record = _confirmation_record(runs, walls, passed, settings, max(temperatures_K), 0 if passed else len(labelled),
                                  worst_run_force_rmse_eV_A=error["worst_run_force_rmse_eV_A"])
    return record, labelled, len(beyond)


def run_round(round_number: int, frame_files: Sequence[str | Path], cells: Sequence[tuple[str, Structure]],
              temperatures_K: Sequence[float], training: TrainingSettings, settings: ActiveLearningSettings,
              engine: str, out_dir: str | Path, *, study: str | None = None, label_name: str | None = None,
              seed: int = 0, device: str = "cpu", fw_id: int | None = None, labeller=None
              ) -> tuple[ActiveLearningDocument, list[ModelDocument]]:
    """One round (see the module docstring); returns its document and the committee's model documents.

    ``labeller`` (frames -> labelled frames): the embedded engine by default; :func:`given_labels` for labels
    computed elsewhere (VASP), which also skips the random true-error sample (a reference that costs a single
    point per frame labels only what trains). Everything before labelling is kept in ``out_dir`` (trained
    members, finished exploration runs), so a round called again with its labels redoes none of it."""
    from dopant_workflows.active_learning.plots import plot_deviations, plot_uniform_round

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    uniform = settings.selection == "uniform"
    timing = {}
    t0 = time.perf_counter()
    warm_from = out.parent / f"round{round_number - 1}" if settings.warm_start and round_number > 1 else None
    if warm_from is not None and settings.warm_start_max_steps is not None:
        training = training.model_copy(update={"max_steps": settings.warm_start_max_steps})
    committee = train_committee(frame_files, training, settings.committee_size, out, study, label_name, warm_from)
    timing["train"] = time.perf_counter() - t0
    paths = [m.model_path for m in committee]

    t0 = time.perf_counter()
    frames, explored = explore(paths[0], cells, temperatures_K, settings, out / "explore",
                               derive_seed(seed, "explore", round_number), device)
    timing["explore"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    deviations = committee_deviations(frames, paths) if len(paths) >= 2 else None
    walls = core_repulsion_energies(frames, paths[0]) if settings.label_beyond_data and frames else None
    n_beyond = _count_beyond(walls)
    timing["deviation"] = time.perf_counter() - t0
    last = round_number >= settings.max_rounds

    # the selection's own frames (uniform: always labelled, they measure the error that decides convergence)
    if uniform:
        selection = select_frames(deviations, settings.trust_lo_eV_A, settings.trust_hi_eV_A,
                                  settings.max_labels_per_round) if deviations is not None else None
        chosen, note, known_final = _uniform_choice(explored, settings.max_labels_per_round), None, last
        to_label = chosen
    else:
        selection, chosen, converged, final, note = _deviation_choice(deviations, settings, n_beyond, last)
        to_label, known_final = (np.array([], dtype=int) if final else chosen), final
    # frames beyond the data on top, unless this round is known to be final (its labels would train nothing);
    # they come after the selection's own so that the uniform error sample stays unbiased
    beyond = np.array([], dtype=int) if known_final else _beyond_data_choice(walls, chosen,
                                                                             settings.max_labels_per_round)
    to_label = np.concatenate([to_label, beyond]).astype(int)
    pool, pool_deviations, confirmation = frames, deviations, None  # what the labelled frames are drawn from
    if not uniform and converged and settings.confirm_ps is not None:
        # the committee agreed: a longer, hotter look before handing on; if it disagrees there, its frames train
        # the next round instead (decided before labelling: a VASP round labels once)
        t0 = time.perf_counter()
        c_frames, c_runs, c_walls = _confirmation_runs(paths, cells, temperatures_K, settings, out / "confirm",
                                                        seed, round_number, device)
        c_deviations = committee_deviations(c_frames, paths)
        c_selection, c_chosen, c_converged, _, _ = _deviation_choice(c_deviations, settings, _count_beyond(c_walls),
                                                                     last)
        passed = c_converged and all(r["status"] == "completed" for r in c_runs)
        if not passed:  # the last round labels nothing: its labels would train nothing
            converged, final = False, last
            none = np.array([], dtype=int)
            chosen = none if final else c_chosen
            beyond = none if final else _beyond_data_choice(c_walls, c_chosen, settings.max_labels_per_round)
            to_label = np.concatenate([chosen, beyond]).astype(int)
            pool, pool_deviations = c_frames, c_deviations
        confirmation = _confirmation_record(c_runs, c_walls, passed, settings, max(temperatures_K),
                                            len(to_label) if not passed else 0,
                                            fraction_above_lo=c_selection.fraction_above_lo)
        timing["confirm"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    measure_true_error = labeller is None
    labeller = labeller or (lambda chosen_frames: label_frames(chosen_frames, engine, device))
    labelled = labeller([pool[i] for i in to_label]) if len(to_label) else []
    rng = np.random.default_rng(derive_seed(seed, "true error", round_number))
    n_random = 0 if uniform or not measure_true_error else min(settings.true_error_frames, len(frames))
    sample = np.sort(rng.choice(len(frames), size=n_random, replace=False)) if n_random else np.array([], dtype=int)
    reference_sample = labeller([frames[i] for i in sample]) if len(sample) else []
    if reference_sample:
        write(str(out / TRUE_ERROR_FILE), reference_sample, format="extxyz")
    timing["label"] = time.perf_counter() - t0
    n_own, n_labelled_beyond = len(labelled) - len(beyond), len(beyond)
    selected_rmse, selected_per_frame = _force_rmse(paths[0], labelled[:n_own])
    beyond_rmse, _ = _force_rmse(paths[0], labelled[n_own:])

    def deviation_of(indices, of=deviations):
        return of[indices].tolist() if of is not None and len(indices) else []

    if uniform:
        explored, true_error, converged, final = _uniform_verdict(explored, chosen, selected_per_frame, selected_rmse,
                                                                  settings, n_beyond, last)
        true_error["random_deviation_eV_A"] = deviation_of(chosen)
        if converged and settings.confirm_ps is not None:
            t0 = time.perf_counter()
            confirmation, more, n_more_beyond = _uniform_confirmation(paths, cells, temperatures_K, settings, out,
                                                                      seed, round_number, device, labeller, last)
            if not confirmation["passed"]:
                converged, final = False, last
                labelled, n_labelled_beyond = [*labelled, *more], n_labelled_beyond + n_more_beyond
            timing["confirm"] = time.perf_counter() - t0
    else:
        random_rmse, random_per_frame = _force_rmse(paths[0], reference_sample)
        true_error = {
            "random_force_rmse_eV_A": random_rmse, "random_n_frames": len(reference_sample),
            "random_deviation_eV_A": deviation_of(sample), "random_per_frame_rmse_eV_A": random_per_frame,
            "selected_force_rmse_eV_A": selected_rmse, "selected_n_frames": n_own,
            "selected_deviation_eV_A": deviation_of(chosen, pool_deviations) if n_own else [],
            "selected_per_frame_rmse_eV_A": selected_per_frame,
        }
    true_error["beyond_data_force_rmse_eV_A"] = beyond_rmse
    labelled_path = None
    if labelled:  # the next round's new training frames (a failed confirmation's included)
        labelled_path = out / LABELLED_FRAMES_FILE
        write(str(labelled_path), labelled, format="extxyz")
    document = ActiveLearningDocument(
        al_id="-".join(str(p) for p in (study, label_name, f"round{round_number}") if p), study=study,
        label=label_name, round=round_number, reference_engine=engine, selection=settings.selection,
        committee_sha256=[m.model_sha256 for m in committee], model_path=paths[0],
        training_frame_files=[str(f) for f in frame_files], n_training_images=sum(committee[0].n_images.values()),
        test_force_rmse_eV_A=[m.force_rmse_eV_A.get("test") for m in committee], explored=explored,
        n_explored=len(frames), n_accurate=len(selection.accurate) if selection else None,
        n_candidates=len(selection.candidates) if selection else None,
        n_failed=len(selection.failed) if selection else None,
        fraction_above_lo=selection.fraction_above_lo if selection else None,
        deviation_histogram=_deviation_histogram(deviations, settings), n_selected=len(chosen),
        n_labelled=len(labelled), n_beyond_data=n_beyond,
        beyond_data_max_eV=None if walls is None or not len(walls) else float(walls.max()),
        n_labelled_beyond_data=n_labelled_beyond,
        labelled_frames_path=str(labelled_path.resolve()) if labelled_path else None, selection_note=note,
        true_error=true_error, converged=converged, final=final, confirmation=confirmation,
        settings=settings.as_record(),
        wall_time_s={k: round(v, 1) for k, v in timing.items()}, fw_id=fw_id)
    title = f"{label_name or ''} round {round_number}"
    if uniform:
        worst = true_error["worst_run_force_rmse_eV_A"]
        plot = plot_uniform_round(explored, selected_per_frame, deviation_of(chosen), settings, out / DEVIATION_PLOT,
                                  f"{title}: worst run {'-' if worst is None else f'{worst:.3f}'} eV/Å")
    else:
        plot = plot_deviations(deviations, settings, true_error, out / DEVIATION_PLOT,
                               f"{title}: {100 * selection.fraction_above_lo:.1f} % above trust_lo")
    document = document.model_copy(update={"plot_path": str(plot.resolve())})
    if final:
        document = hand_on(document, earlier_rounds(out, round_number), settings.hand_on)
    write_text_atomically(out / ROUND_FILE, json.dumps(document.model_dump(mode="json"), indent=1))
    _log_round(document)
    return document, committee
