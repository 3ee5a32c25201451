"""Firetasks of a dopant study: reference AIMD (embedded), network training, ANN-MD + analysis, dielectric record.

Each validates its parameters, calls one library function, writes one document to the results database
(``env_chk(">>db_file<<")``) and passes what children need through the spec. Runs that must survive a restart
(AIMD, training, MD) live under ``env_chk(">>runs_dir<<")/<run_path>``, not in the launch directory: a
relaunched Firework finds its checkpoint there and continues.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path

from fireworks import FiretaskBase, FWAction, explicit_serialize
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows import __version__
from dopant_workflows.db import ResultsDB, insert

FRAMES_KEY = "aimd_frames"  # spec key children read: frame files pushed by AIMD Fireworks (both engines)
DEVICE_KEY = "dopwf_device"  # spec key set by the use_device powerup; wins over the worker's env device


def env_value(value, fw_spec):
    """atomate's env_chk: ">>name<<" reads the worker's env (my_fworker.yaml), anything else is returned as is."""
    from atomate.utils.utils import env_chk

    return env_chk(value, fw_spec)


def results_db(fw_spec) -> ResultsDB:
    """The results database of this worker (env db_file, like atomate's db_file)."""
    return ResultsDB.from_file(env_value(">>db_file<<", fw_spec))


def _run_dir(task: FiretaskBase, fw_spec) -> Path:
    base = env_value(">>runs_dir<<", fw_spec)
    path = Path(base) / task["run_path"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def device_of(fw_spec) -> str:
    """Where ANN-MD and embedded AIMD run: the Firework's own choice (use_device), else the worker's env."""
    return fw_spec.get(DEVICE_KEY) or env_value(">>device<<", fw_spec) or "cpu"


def as_structure(value) -> Structure:
    """Firetask parameters arrive deserialised (FireWorks rebuilds MSONable dicts) or as plain dicts."""
    return value if isinstance(value, Structure) else Structure.from_dict(value)


def fw_id_of(fw_spec) -> int | None:
    return fw_spec.get("_fw_id") if isinstance(fw_spec.get("_fw_id"), int) else None


@explicit_serialize
class RunEmbeddedAIMD(FiretaskBase):
    """Reference AIMD of the training cell with a universal potential (resumable); pushes its frames."""

    required_params = ["structure", "settings", "engine", "run_path"]

    def run_task(self, fw_spec):
        from dopant_workflows.engines.embedded import run_embedded_aimd
        from dopant_workflows.engines.schedule import AIMDSettings
        from dopant_workflows.engines.universal import parse_engine
        from dopant_workflows.schemas.training_set import describe_training_set

        run_dir = _run_dir(self, fw_spec)
        atoms = AseAtomsAdaptor.get_atoms(as_structure(self["structure"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = run_embedded_aimd(atoms, AIMDSettings(**self["settings"]), run_dir,
                                       engine=parse_engine(self["engine"]), device=device_of(fw_spec))
        document = describe_training_set(run_dir)
        insert(results_db(fw_spec), "training_sets", document.model_dump())
        if result.status != "completed":
            raise RuntimeError(f"reference AIMD failed: {result.failure_reason} (frames kept in {run_dir})")
        return FWAction(stored_data={"set_id": document.set_id, "n_frames": document.n_frames},
                        mod_spec=[{"_push": {FRAMES_KEY: str(result.frames_path)}}])


@explicit_serialize
class TrainNetwork(FiretaskBase):
    """Train the Behler-Parrinello network on every frame file the parents pushed; children get the model."""

    required_params = ["settings", "run_path", "study", "label"]

    def run_task(self, fw_spec):
        from dopant_workflows.ann.amp_io import save_amp
        from dopant_workflows.ann.dataset import load_images
        from dopant_workflows.ann.model_io import model_sha256, save_potential
        from dopant_workflows.ann.plots import plot_training_curve
        from dopant_workflows.ann.training import TrainingSettings, train_potential
        from dopant_workflows.fileio import file_sha256
        from dopant_workflows.schemas.tasks import ModelDocument

        frames = sorted(set(fw_spec.get(FRAMES_KEY, [])))
        if not frames:
            raise ValueError(f"{FRAMES_KEY}: no training frames were passed by the parent Fireworks")
        run_dir = _run_dir(self, fw_spec)
        settings = TrainingSettings(**{**self["settings"], "hidden_layers": tuple(self["settings"]["hidden_layers"])})
        images = load_images(frames, need_forces=settings.force_coefficient > 0)
        result = train_potential(images, settings, progress=True)
        model_path = save_potential(result.potential, run_dir / "model.json")
        save_amp(result.potential, run_dir / "model.amp")
        plot_training_curve(result.history, run_dir / "training_curve.png", result.best_step)
        sha = model_sha256(result.potential)
        document = {
            "model_sha256": sha, "study": self["study"], "label": self["label"], "model_path": str(model_path),
            "training_frames_sha256": [file_sha256(f) for f in frames],
            "energy_rmse_eV_atom": {k: m.energy_rmse_eV_atom for k, m in result.metrics.items()},
            "force_rmse_eV_A": {k: m.force_rmse_eV_A for k, m in result.metrics.items()},
            "n_images": {k: m.n_images for k, m in result.metrics.items()},
            "settings": {**asdict(settings), "hidden_layers": list(settings.hidden_layers)},
            "seed": settings.seed, "code_version": __version__, "fw_id": fw_id_of(fw_spec),
        }
        insert(results_db(fw_spec), "models", ModelDocument(**document).model_dump())
        return FWAction(stored_data={"model_sha256": sha, "test_force_rmse_eV_A": document["force_rmse_eV_A"]["test"]},
                        update_spec={"model_path": str(model_path), "model_sha256": sha})


@explicit_serialize
class RunANNMD(FiretaskBase):
    """ANN-MD of one substitution at one temperature with the parent's network, then its analysis."""

    required_params = ["structure", "temperature_K", "protocol", "seed", "run_path", "study", "substitution"]

    def run_task(self, fw_spec):
        from dopant_workflows.analysis.trajectory import analyze_trajectory
        from dopant_workflows.ann.calculator import BPNNCalculator
        from dopant_workflows.ann.model_io import load_potential
        from dopant_workflows.fileio import file_sha256
        from dopant_workflows.md.protocol import MDProtocol, run_md
        from dopant_workflows.schemas.tasks import MDTaskDocument

        model_path = fw_spec.get("model_path")
        if not model_path:
            raise ValueError("model_path: no trained network was passed by the parent Firework")
        potential = load_potential(model_path)
        run_dir = _run_dir(self, fw_spec)
        atoms = AseAtomsAdaptor.get_atoms(as_structure(self["structure"]))
        temperature = float(self["temperature_K"])
        calculator = BPNNCalculator(potential, device=device_of(fw_spec))
        md = run_md(atoms, calculator, MDProtocol(**self["protocol"]), temperature, run_dir, seed=int(self["seed"]),
                    provenance={"engine": "ann", "model_sha256": fw_spec.get("model_sha256")}, progress=True)
        summary = analyze_trajectory(md.trajectory_path, "Li", temperature, seed=int(self["seed"]),
                                     plots_dir=run_dir / "analysis")
        sub = self["substitution"]
        document = MDTaskDocument(
            task_id=f"{self['study']}-{sub['id']}-{temperature:g}K", study=self["study"], substitution_id=sub["id"],
            formula=sub["formula"], dopant=sub["dopant"], dopant_count=sub["dopant_count"],
            dopant_fraction=sub["dopant_fraction"], temperature_K=temperature, protocol=self["protocol"],
            seed=int(self["seed"]), diffusivity_cm2_s=summary["diffusivity_cm2_s"],
            diffusivity_std_cm2_s=summary["diffusivity_std_cm2_s"],
            diffusivity_components_cm2_s=summary["diffusivity_components_cm2_s"],
            conductivity_mS_cm=summary["conductivity_mS_cm"], conductivity_std_mS_cm=summary["conductivity_std_mS_cm"],
            rdf_first_peak_A=summary["rdf_first_peak_A"], n_carriers=summary["n_carriers"],
            volume_A3=summary["volume_A3"], composition=summary["composition"], n_frames=md.n_frames,
            mean_production_temperature_K=md.mean_production_temperature_K, thermostat_ok=md.thermostat_ok,
            core_repulsion_contact_fraction=md.core_repulsion_contact_fraction,
            trajectory_path=str(md.trajectory_path), trajectory_sha256=file_sha256(md.trajectory_path),
            model_sha256=fw_spec.get("model_sha256") or "", engine="ann", code_version=__version__,
            fw_id=fw_id_of(fw_spec), warnings=list(md.warnings) + summary["warnings"],
        )
        insert(results_db(fw_spec), "md_tasks", document.model_dump())
        return FWAction(stored_data={"task_id": document.task_id, "diffusivity_cm2_s": document.diffusivity_cm2_s})


@explicit_serialize
class RecordDielectric(FiretaskBase):
    """eps_r of a substitution from the study file (with its source), or a record of why it is missing."""

    required_params = ["study", "substitution_id", "formula", "eps_r", "source"]

    def run_task(self, fw_spec):
        from dopant_workflows.schemas.tasks import DielectricDocument

        document = DielectricDocument(substitution_id=self["substitution_id"], study=self["study"],
                                      formula=self["formula"], eps_r=self["eps_r"], source=self["source"],
                                      code_version=__version__, fw_id=fw_id_of(fw_spec))
        insert(results_db(fw_spec), "dielectric", document.model_dump())
        return FWAction(stored_data={"eps_r": document.eps_r, "source": document.source})
