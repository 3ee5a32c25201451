"""Names shared across layers: run-directory files, FireWorks spec keys, and the seed every random step derives.

Files and spec keys are read by one stage and written by another (often on another machine, by another version):
they are spelled here once. Pure: no FireWorks, no engines.
"""

from __future__ import annotations

import hashlib
import json

# ---------------------------------------------------------------- run-directory files
AIMD_FRAMES_FILE = "frames.extxyz"  # reference AIMD frames (both engines): energy, forces, stress per frame
AIMD_RUN_FILE = "run.json"  # embedded reference AIMD: status, provenance, timing
CHECKPOINT_FILE = "checkpoint.npz"  # exact-resume state of an MD or AIMD run (numbers only)
MD_TRAJECTORY_FILE = "trajectory.extxyz"  # MD production frames, unwrapped (ANN-MD, exploration, VASP reference MD)
MD_LOG_FILE = "md_log.csv"  # ANN-MD log of all stages
MD_RUN_FILE = "md_run.json"  # ANN-MD status and summary
MD_TRACES_PLOT = "md_traces.png"
ANALYSIS_DIR = "analysis"  # inside an MD run directory: analysis.json, msd.png, rdf.png
ANALYSIS_FILE = "analysis.json"
MODEL_FILE = "model.json"  # our checksummed network (with its core repulsion)
AMP_MODEL_FILE = "model.amp"  # the network alone, readable by AMP
TRAINING_FILE = "training.json"  # training settings, split, history and errors
# frames with their reference labels, ready for training: an active-learning round's (in its run directory), a VASP
# single point's (in its launch directory)
LABELLED_FRAMES_FILE = "labelled.extxyz"
TRUE_ERROR_FILE = "true_error.extxyz"  # active learning: explored frames labelled at random (the true error)
ROUND_FILE = "round.json"  # active learning: the round's document, read by the rounds after it
DEVIATION_PLOT = "deviation.png"
VALIDATION_FILE = "validation.json"  # a network's validation document
VALIDATION_PLOT = "validation.png"

# ---------------------------------------------------------------- FireWorks spec keys
FRAMES_KEY = "aimd_frames"  # frame files pushed by reference-AIMD Fireworks (both engines), read by training
MODEL_PATH_KEY = "model_path"  # trained network, passed by the training Firework to its MD children
MODEL_SHA_KEY = "model_sha256"
# a study's networks (training.networks): each network Firework pushes {"index", "model_path", "model_sha256"} into
# NETWORKS_KEY for the Fireworks that spread runs over them (precision check, validation), and hands its children
# its index and the ensemble's key (network 0's sha256); network 0 hands the replicas the frames it was trained on
NETWORKS_KEY = "networks"
NETWORK_INDEX_KEY = "network_index"
ENSEMBLE_SHA_KEY = "ensemble_sha256"
TRAINING_FRAMES_KEY = "network_training_frames"
PREVIOUS_SEGMENT_KEY = "previous_segment_dir"  # VASP AIMD: the segment a continuation starts from
VALIDATION_RUNS_KEY = "validation_runs"  # records pushed by validation MD Fireworks, read by the validation Firework
MD_RECORDS_KEY = "md_records"  # production MD results pushed by the MD Fireworks, read by the precision check
VASP_LABELS_KEY = "vasp_labels"  # VASP single points pushed to the comparison or active-learning round that asked
DIELECTRIC_KEY = "dielectric"  # VASP DFPT results pushed for children
DEVICE_KEY = "dopwf_device"  # set by the use_device powerup; wins over the worker's env device
FAKE_VASP_KEY = "_fake_vasp_dir"  # set by the use_fake_vasp powerup: replay this reference run instead of VASP


def study_substitution_id(study: str, substitution_id: str) -> str:
    """The key of a study's per-substitution documents (dielectric, conductivity, Anderson-Stuart): one
    substitution in two studies is two documents. Study names cannot hold '/', so the key is unambiguous."""
    return f"{study}/{substitution_id}"


def derive_seed(*parts) -> int:
    """A 31-bit seed from what a run is (e.g. study seed, substitution id, temperature), not from where it sits in
    a list: reordering a study's counts or temperatures gives every run the seed it had before."""
    text = json.dumps([float(p) if isinstance(p, float) else p for p in parts], sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def network_seed(study_seed: int, label: str, index: int) -> int:
    """The training seed of network ``index`` >= 1 of a network's ensemble (split, initial weights, minibatches);
    network 0 is the one trained (or handed on by active learning) with the study's own training seed."""
    return derive_seed(study_seed, "network", label, int(index))


def network_of_run(arrangement: int, temperature_index: int, n_networks: int) -> int:
    """Which of ``n_networks`` networks runs a composition's first-round MD of one arrangement at one temperature:
    round robin over both, so every temperature with as many runs as networks sees each network once and every
    arrangement runs on each network at some temperature (their spreads stay separable)."""
    return (int(arrangement) + int(temperature_index)) % max(1, int(n_networks))


def validation_seed(study_seed: int, label: str, role: str, temperature_K: float, k: int) -> int:
    """Validation run k of ``role`` at one temperature: reference and ANN runs get different seeds (independent
    trajectories), and run k's seed is the same whether a study asked for k + 1 runs at once or added it after an
    inconclusive check."""
    return derive_seed(study_seed, "validation", label, role, float(temperature_K), k)


def md_seed(study_seed: int, substitution_id: str, temperature_K: float, replica: int = 0) -> int:
    """The seed of one production run: replica 0 is the first round's run (its seed as before replicas existed),
    replicas 1, 2, ... the runs precision adds."""
    if replica == 0:
        return derive_seed(study_seed, substitution_id, float(temperature_K))
    return derive_seed(study_seed, substitution_id, float(temperature_K), int(replica))


def run_tag(*parts) -> str:
    """Short hash of what a run depends on: a changed setting gets a new run directory, never a stale one."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:8]
