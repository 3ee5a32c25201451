"""Validation against DFT (the paper's DFT-MD, section 3.2): VASP on clusters, CP2K anywhere; the pieces that differ
from the embedded engine's in-process runs. The comparison itself is
:func:`dopant_workflows.jobs.validation.validate_network`.

- Reference MD: VASP AIMD of the network's cell at a constant validation temperature (the segmented AIMD chain,
  TEBEG = TEEND = T, a seed per run through VASP's RANDOM_SEED), ``equilibration_ps + production_ps`` long.
  VASP starts from Maxwell-Boltzmann velocities at T, so the protocol's heating ramp is not run; equilibration
  and production are the ANN-MD's (same T, time step, duration and sampling), and only production is analysed.
- Relabelling: ``relabel_frames`` production frames of each ANN-MD run are single points in VASP (Fireworks
  added at run time); the network's error is taken against those labels.
- CP2K: the same reference MD (:func:`run_cp2k_reference_md`: CP2K's NVT AIMD, one Firework, resumable per
  segment) and the same analysis; its single points run inside the comparison's Firework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write
from ase.units import fs, kB
from pymatgen.core import Composition

from dopant_workflows.active_learning.deviation import evenly_spaced
from dopant_workflows.analysis.settings import AnalysisSettings
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.fileio import file_sha256
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.names import AIMD_FRAMES_FILE, AIMD_RUN_FILE, ANALYSIS_DIR, MD_TRAJECTORY_FILE
from dopant_workflows.schemas.tasks import MDRunDocument

#: same tolerance as ANN-MD's thermostat check (md.protocol.THERMOSTAT_TOLERANCE)
THERMOSTAT_TOLERANCE = 0.02


def reference_md_settings(protocol: MDProtocol, temperature_K: float, seed: int,
                          reference: AIMDSettings) -> AIMDSettings:
    """The VASP AIMD of one validation run: constant ``temperature_K``, the protocol's time step and sampling,
    equilibration + production steps, segments and walltime of the study's reference AIMD."""
    n_steps = protocol.steps(protocol.equilibration_ps) + protocol.steps(protocol.production_ps)
    return reference.model_copy(update={
        "n_steps": n_steps, "time_step_fs": protocol.time_step_fs, "temperature_start_K": float(temperature_K),
        "temperature_end_K": float(temperature_K), "sample_every": 1, "seed": int(seed)})


def unwrapped_positions(frames: Sequence[Atoms]) -> np.ndarray:
    """Cartesian positions (frames, atoms, 3) continuous in time: VASP writes them wrapped into the cell, and the
    MSD needs the real path. Consecutive MD steps move an atom far less than half a cell (minimum image)."""
    scaled = np.array([f.get_scaled_positions(wrap=False) for f in frames])
    steps = np.diff(scaled, axis=0)
    steps -= np.round(steps)  # an atom that crossed the cell boundary
    return np.concatenate([scaled[:1], scaled[:1] + np.cumsum(steps, axis=0)]) @ frames[0].cell.array


def _temperatures_K(unwrapped: np.ndarray, masses: np.ndarray, time_step_fs: float) -> np.ndarray:
    """Instantaneous kinetic temperatures from central differences of consecutive unwrapped positions (VASP's
    frames carry no velocities in ASE); one value per interior frame."""
    velocities = (unwrapped[2:] - unwrapped[:-2]) / (2 * time_step_fs * fs)  # A per ASE time unit
    kinetic = 0.5 * np.einsum("i,tij,tij->t", masses, velocities, velocities)
    dof = 3 * len(masses) - 3  # the centre of mass is fixed
    return 2 * kinetic / (dof * kB)


def run_cp2k_reference_md(structure, protocol: MDProtocol, temperature_K: float, seed: int, reference: AIMDSettings,
                          cp2k: Cp2kSettings, run_dir: str | Path, analysis: AnalysisSettings = AnalysisSettings()
                          ) -> dict:
    """One CP2K validation reference run (AIMD at constant ``temperature_K`` in ``run_dir``/aimd, as
    :func:`reference_md_settings` sets it), analysed like VASP's; a run CP2K could not finish is a failed record
    with its reason, not an error (as an embedded run that blows up)."""
    import json

    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.cp2k.md import run_cp2k_aimd

    settings = reference_md_settings(protocol, temperature_K, seed, reference)
    aimd = run_cp2k_aimd(AseAtomsAdaptor.get_atoms(structure), settings, cp2k, Path(run_dir) / "aimd")
    run = json.loads((aimd / AIMD_RUN_FILE).read_text())
    if run.get("status") != "completed":
        return {"role": "reference", "temperature_K": float(temperature_K), "seed": int(seed), "run_dir": str(run_dir),
                "status": "failed", "failure_reason": f"CP2K AIMD: {run.get('failure_reason') or run.get('status')}"}
    return analyze_reference_md([aimd / AIMD_FRAMES_FILE], protocol, temperature_K, seed, run_dir, analysis,
                                engine="cp2k")


def analyze_reference_md(frame_files: Sequence[str | Path], protocol: MDProtocol, temperature_K: float, seed: int,
                         run_dir: str | Path, analysis: AnalysisSettings = AnalysisSettings(), engine: str = "vasp"
                         ) -> dict:
    """The validation record of one DFT reference run (as ``validation_run`` gives for the embedded engine):
    the segments' frames in step order, production only, sampled as ANN-MD samples, analysed for D."""
    from dopant_workflows.jobs.md import analyze_md_trajectory

    run_dir = Path(run_dir)
    record = {"role": "reference", "temperature_K": float(temperature_K), "seed": int(seed), "run_dir": str(run_dir)}
    frames = [frame for path in frame_files for frame in read(str(path), index=":")]
    if not frames:
        raise DopwfInputError(f"validation reference MD at {temperature_K:g} K: no frames in {list(frame_files)}")
    # in segment order: a segment stopped early by its walltime leaves its last steps unrun, and the next one goes
    # on from its CONTCAR, so the frames are one continuous trajectory whose step labels skip; time is their order
    frames.sort(key=lambda f: (f.info.get("segment", 0), f.info["step"]))
    keys = [(f.info.get("segment", 0), f.info["step"]) for f in frames]
    if len(set(keys)) != len(keys):
        raise DopwfInputError(f"validation reference MD at {temperature_K:g} K: step numbers repeat across "
                              f"{list(frame_files)} (a segment pushed twice from different runs?)")
    n_equilibration = protocol.steps(protocol.equilibration_ps)
    production = frames[n_equilibration:]
    expected = protocol.steps(protocol.production_ps)
    warnings_ = []
    if len(production) < expected:
        warnings_.append(f"{len(production)} of {expected} production steps ran (a segment stopped before "
                         "its last step): D is from a shorter run")
    if len(production) > 2:
        unwrapped = unwrapped_positions(production)
        for frame, positions in zip(production, unwrapped, strict=True):
            frame.positions = positions
        temperatures = _temperatures_K(unwrapped, production[0].get_masses(), protocol.time_step_fs)
    else:
        temperatures = np.array([])
    mean_t = float(temperatures.mean()) if temperatures.size else float("nan")
    ok = bool(temperatures.size) and abs(mean_t - temperature_K) <= THERMOSTAT_TOLERANCE * temperature_K
    if not ok:
        warnings_.append(f"mean production temperature {mean_t:.1f} K is not within 2 % of {temperature_K:g} K")
    sampled = production[protocol.sample_every - 1::protocol.sample_every]
    run_dir.mkdir(parents=True, exist_ok=True)
    trajectory = run_dir / MD_TRAJECTORY_FILE  # the reference run's production frames, as ANN-MD writes its own
    for frame in sampled:
        frame.info["temperature_K"] = float(temperature_K)
    write(trajectory, sampled, format="extxyz")
    summary = analyze_md_trajectory(trajectory, temperature_K, analysis, run_dir / ANALYSIS_DIR, seed=seed,
                                    time_step_fs=protocol.sample_every * protocol.time_step_fs)
    formula = Composition(frames[0].get_chemical_formula()).formula.replace(" ", "")
    document = MDRunDocument(
        formula=formula, temperature_K=float(temperature_K), protocol=protocol.model_dump(), seed=int(seed),
        engine=engine, run_dir=str(run_dir.resolve()), n_frames=len(sampled), mean_production_temperature_K=mean_t,
        thermostat_ok=ok, species=analysis.species, diffusivity_cm2_s=summary["diffusivity_cm2_s"],
        diffusivity_std_cm2_s=summary["diffusivity_std_cm2_s"],
        diffusivity_components_cm2_s=summary["diffusivity_components_cm2_s"],
        conductivity_mS_cm=summary["conductivity_mS_cm"], conductivity_std_mS_cm=summary["conductivity_std_mS_cm"],
        rdf_first_peak_A=summary["rdf_first_peak_A"], n_carriers=summary["n_carriers"],
        volume_A3=summary["volume_A3"], composition=summary["composition"], trajectory_path=str(trajectory),
        trajectory_sha256=file_sha256(trajectory), warnings=warnings_ + summary["warnings"])
    record.update(status="completed", document=document.model_dump(mode="json"))
    return record


def frames_to_relabel(ann_runs: Sequence[Mapping], n_frames: int) -> list[Atoms]:
    """``n_frames`` production frames spread evenly over each completed ANN-MD run, each tagged with the run's
    temperature and where it came from (what the VASP single points are run on)."""
    selected = []
    for run in ann_runs:
        if run.get("role") != "ann" or run.get("status") != "completed":
            continue
        path = run["document"]["trajectory_path"]
        frames = read(str(path), index=":")
        for index in evenly_spaced(len(frames), n_frames):
            atoms = frames[index].copy()
            atoms.calc = None
            atoms.info = {"temperature_K": float(run["temperature_K"]), "source": str(path), "frame": int(index),
                          **({"model_sha256": run["document"]["model_sha256"]}
                             if run["document"].get("model_sha256") else {})}
            selected.append(atoms)
    return selected


def labelled_errors(labelled: Sequence[Atoms], network) -> dict:
    """{temperature: RelabelErrors} of ``network`` (an ASE calculator, evaluated as MD used it; or {model_sha256:
    calculator} of several, each frame compared with the network whose MD it came from, its ``model_sha256`` info)
    against the reference energies and forces the ``labelled`` frames carry."""
    from dopant_workflows.jobs.validation import errors_of

    by_temperature: dict[float, list[tuple]] = {}
    for frame in labelled:
        atoms = frame.copy()
        atoms.calc = network_for(frame, network)
        by_temperature.setdefault(float(frame.info["temperature_K"]), []).append(
            (atoms.get_potential_energy(), atoms.get_forces(), frame.get_potential_energy(), frame.get_forces(),
             len(atoms)))
    return {t: errors_of(pairs) for t, pairs in by_temperature.items()}


def network_for(frame: Atoms, networks):
    """The calculator of the network whose MD made ``frame`` (``networks``: one calculator, or {model_sha256:
    calculator}); a frame whose network is not among them is refused, not compared with another network."""
    if not isinstance(networks, Mapping):
        return networks
    sha = frame.info.get("model_sha256")
    if sha is None and len(networks) == 1:
        return next(iter(networks.values()))
    if sha not in networks:
        raise ValueError(f"frame {frame.info.get('source')}#{frame.info.get('frame')}: made by network "
                         f"{str(sha)[:12]}, which is not among the networks validated "
                         f"({', '.join(s[:12] for s in networks)})")
    return networks[sha]
