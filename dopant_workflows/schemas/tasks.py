"""Documents written by the study's Firetasks (one per run), the input of the builders."""

from __future__ import annotations

from pydantic import Field, computed_field

from dopant_workflows.names import study_substitution_id
from dopant_workflows.schemas.base import Document


class ModelDocument(Document):
    """A trained network (the model file lives on disk; this document points at it)."""

    model_sha256: str = Field(description="stable key: sha256 of the network's content (descriptor, weights, core "
                                          "repulsion; not its metadata): the same network trained twice is one")
    study: str | None = Field(None, description="the study it was (last) trained for (none: dopwf ann train)")
    label: str | None = Field(None, description="'shared' or the substitution id it was trained for")
    model_path: str
    training_frames_sha256: list[str] = Field(description="sha256 of every frame file trained on")
    energy_rmse_eV_atom: dict[str, float] = Field(description="train / validation / test")
    force_rmse_eV_A: dict[str, float | None]
    n_images: dict[str, int]
    settings: dict = Field(description="the training stage's settings (TrainingSettings)")
    seed: int
    best_step: int | None = Field(None, description="optimizer step whose weights were kept (early stopping)")
    stopped_early: bool | None = None
    wall_time_s: float | None = None
    fw_id: int | None = None


class MDRunDocument(Document):
    """One MD run of the paper's protocol at one temperature, analysed (``dopwf md``, and inside every MD task)."""

    formula: str
    temperature_K: float
    protocol: dict = Field(description="MD protocol (durations in ps/fs)")
    seed: int
    engine: str = Field(description="potential that drove the MD: 'ann' (a trained network) or 'embedded:<model>'")
    model_sha256: str | None = Field(None, description="the network's sha256 (engine 'ann')")
    run_dir: str
    n_frames: int
    mean_production_temperature_K: float
    thermostat_ok: bool
    steps_per_s: float | None = Field(None, description="MD throughput of the last (or only) leg of the run")
    core_repulsion_contact_fraction: float | None = Field(
        None, description="production samples in which the network's wall beneath its data was active")
    core_repulsion_max_eV: float | None = Field(None, description="largest wall energy in production")
    species: str = Field("Li", description="the diffusing species analysed")
    diffusivity_cm2_s: float
    diffusivity_std_cm2_s: float | None
    diffusivity_components_cm2_s: dict[str, float]
    conductivity_mS_cm: float | None
    conductivity_std_mS_cm: float | None
    rdf_first_peak_A: float | None
    n_carriers: int
    volume_A3: float
    composition: dict[str, int]
    fit_window_fs: list[float] | None = Field(None, description="lags of the MSD fit (fs): from where the MSD per "
                                                                "ion reaches 0.5 a^2 (or 10 % of the run) to half")
    n_eff: float | None = Field(None, description="He et al.'s N_eff: total MSD of the mobile ions at the fit's end "
                                                  "over a^2 (a = 3 A); D's relative error ~ 3.43/sqrt(N_eff) + 0.04")
    trajectory_path: str
    trajectory_sha256: str
    warnings: list[str] = Field(default_factory=list)


class MDTaskDocument(MDRunDocument):
    """One ANN-MD run of one substitution of a study at one temperature: the builders' input."""

    task_id: str = Field(description="stable key: study-substitution_id-temperature")
    study: str
    substitution_id: str
    dopant: str
    dopant_count: int
    dopant_fraction: float = Field(description="dopant atoms / all atoms")
    dopant_oxidation_state: float | None = Field(None, description="negative: the dopant is an anion")
    composition_id: str | None = Field(None, description="what the builders pool over arrangements (the formula); "
                                                         "None in documents from before arrangements: the formula")
    arrangement: int | None = Field(None, description="0 = the composition's lowest-Ewald arrangement")
    group: str | None = Field(None, description="the substitution group, e.g. 'Cl:S + vacancy:Li'")
    replica: int = Field(0, description="0: the first round's run; 1, 2, ...: runs added for precision")
    network: int = Field(0, description="which of the study's networks ran it (training.networks; 0: the network "
                                        "trained first or handed on by active learning)")
    ensemble_sha256: str | None = Field(None, description="the key of the networks trained together (network 0's "
                                                          "sha256); None: model_sha256")
    fw_id: int | None = None

    @classmethod
    def from_run(cls, run: MDRunDocument, study: str, substitution: dict, fw_id: int | None = None,
                 replica: int = 0, network: int = 0, ensemble_sha256: str | None = None) -> MDTaskDocument:
        """The run's document with the study and substitution it belongs to (``Substitution.meta``)."""
        suffix = f"-r{replica}" if replica else ""
        return cls(**{**run.model_dump(), "formula": substitution["formula"]},
                   task_id=f"{study}-{substitution['id']}-{run.temperature_K:g}K{suffix}", study=study, replica=replica,
                   substitution_id=substitution["id"], dopant=substitution["dopant"],
                   dopant_count=substitution["dopant_count"], dopant_fraction=substitution["dopant_fraction"],
                   dopant_oxidation_state=substitution.get("dopant_oxidation_state"),
                   composition_id=substitution.get("composition_id") or substitution["formula"],
                   arrangement=substitution.get("arrangement"), group=substitution.get("group"), fw_id=fw_id,
                   network=network, ensemble_sha256=ensemble_sha256)


class DielectricDocument(Document):
    """eps_r of one substitution with where it came from; eps_r None means missing, and why."""

    substitution_id: str
    study: str
    formula: str
    composition_id: str | None = Field(None, description="the composition whose Anderson-Stuart barrier uses it "
                                                         "(its formula); None: the formula")
    eps_r: float | None = Field(description="relative permittivity, electronic + ionic, dimensionless")
    source: str = Field(description="provenance (e.g. 'Rao et al. 2020, DFPT'), or why eps_r is missing")
    epsilon_electronic: list[list[float]] | None = None
    epsilon_ionic: list[list[float]] | None = None
    engine: str | None = Field(None, description="the engine that computed it (vasp, cp2k); None: read from the study "
                                                 "file (its source says whose value it is)")
    holds: str | None = Field(None, description="what was computed: 'electronic + ionic' (static eps_r) or "
                                                "'electronic' (eps_r then missing); None: a value from the study file")
    eps_electronic: float | None = Field(None, description="trace/3 of epsilon_electronic (clamped ions)")
    eps_ionic: float | None = Field(None, description="trace/3 of epsilon_ionic")
    run_dir: str | None = None
    fw_id: int | None = None

    @computed_field(description="key: '<study>/<substitution_id>'")
    @property
    def dielectric_id(self) -> str:
        return study_substitution_id(self.study, self.substitution_id)


class PrecisionDocument(Document):
    """A composition's precision check (adaptive production): the latest round's verdict."""

    study: str
    composition_id: str
    round: int = Field(description="1: the check after the first production round")
    status: str = Field(description="precision (target met), budget (not met; nothing more allowed), or more (runs "
                                    "added; the next round's check follows them)")
    activation_energy_std_eV: float | None
    target_std_eV: float
    production_ps_used: float
    budget_ps: float
    n_runs: int
    added: list[dict] = Field(default_factory=list, description="the runs this round added: substitution_id, "
                                                                "temperature_K, replica, network")
    reason: str
    fw_id: int | None = None

    @computed_field(description="key: '<study>/<composition_id>'")
    @property
    def precision_id(self) -> str:
        return study_substitution_id(self.study, self.composition_id)
