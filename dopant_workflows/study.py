"""The study file: one YAML document describing a dopant screening study, validated by pydantic.

``validate_study_file`` reports *every* problem at once, each with its field path (``substitutions.counts[1]``):
first the schema (types, ranges, unknown keys), then the physics that needs the host (rules, counts, supercell).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from dopant_workflows.active_learning.settings import ActiveLearningSettings
from dopant_workflows.analysis.settings import AnalysisSettings
from dopant_workflows.ann.settings import TrainingSettings
from dopant_workflows.engines.cp2k.settings import Cp2kSettings
from dopant_workflows.engines.dielectric import DielectricCalculation
from dopant_workflows.engines.labels import LabelSettings
from dopant_workflows.engines.schedule import AIMDSettings
from dopant_workflows.errors import DopwfInputError, distinct_temperatures, duplicates, validation_problems
from dopant_workflows.md.settings import MDProtocol
from dopant_workflows.names import derive_seed, md_seed, validation_seed
from dopant_workflows.settings_base import StrictSettings
from dopant_workflows.validation.settings import ValidationSettings

log = logging.getLogger(__name__)

PositiveFloat = Annotated[float, Field(gt=0)]

#: arrangements per composition unless a group says otherwise: two replicas show whether where the dopants sit
#: matters beyond the MD's own error (issue 31), at twice the MD of one
DEFAULT_ARRANGEMENTS = 2


class SubstitutionSettings(StrictSettings):
    """One substitution group: which dopant goes where, compensated how, in which supercell, at which counts, in
    how many arrangements. A study holds one group or several (``substitutions:`` a mapping or a list)."""

    dopant: str = Field(description="NEW:OLD, dopant element on sites of a host element, e.g. Cl:S")
    compensate: str | None = Field(
        None, description="NEW:OLD charge compensation applied per dopant, e.g. Si:P, or vacancy:Li (one Li removed "
                          "per unit of charge the dopants add); null for isovalent dopants")
    supercell: list[int] | list[list[int]] = Field(description="3 multipliers (e.g. [3, 1, 1]) or a 3x3 matrix")
    counts: list[int] = Field(min_length=1, description="dopant atoms per supercell, one composition each")
    arrangements: int = Field(
        DEFAULT_ARRANGEMENTS, ge=1,
        description="lowest-Ewald symmetry-distinct arrangements of each composition (dopants and their compensation "
                    "placed together), simulated as replicas and pooled for D(T) and Ea; fewer where fewer exist")
    oxidation_states: dict[str, float] | None = Field(
        None, description="element -> oxidation state; default: pymatgen's guess for the host"
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_max_per_count(cls, data: Any) -> Any:
        renamed = cls.renamed_legacy(data)
        if renamed is not data:
            log.warning("study file: substitutions.max_per_count is read as arrangements (the lowest-Ewald "
                        "arrangements of each composition, pooled); please rename it")
        return renamed

    @staticmethod
    def renamed_legacy(data: Any) -> Any:
        """``max_per_count`` (its name before arrangements were pooled replicas) as ``arrangements``."""
        if not isinstance(data, dict) or "max_per_count" not in data:
            return data
        if "arrangements" in data:
            raise ValueError("max_per_count and arrangements: give arrangements only (max_per_count is its earlier "
                             "name)")
        data = dict(data)
        data["arrangements"] = data.pop("max_per_count")
        return data

    @field_validator("dopant")
    @classmethod
    def _dopant_rule(cls, value: str) -> str:
        return cls._parse_rule(value, vacancy=False)

    @field_validator("compensate")
    @classmethod
    def _compensation_rule(cls, value: str | None) -> str | None:
        return None if value is None else cls._parse_rule(value, vacancy=True)

    @staticmethod
    def _parse_rule(value: str, vacancy: bool) -> str:
        from dopant_workflows.structures.substitutions import SpeciesSwap

        try:
            return str(SpeciesSwap.parse(value, vacancy=vacancy))
        except DopwfInputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("counts")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        issues = []
        negative = [c for c in value if c < 0]
        if negative:
            issues.append(f"counts must be non-negative, got {negative}")
        repeated = duplicates(value)
        if repeated:
            issues.append(f"duplicate counts {repeated}")
        if issues:
            raise ValueError("; ".join(issues))
        return value

    # before the union's own validation: a bad supercell is one line (check_supercell's), not one per union branch
    @field_validator("supercell", mode="before")
    @classmethod
    def _supercell(cls, value: Any) -> Any:
        from dopant_workflows.structures.substitutions import check_supercell

        try:
            check_supercell(value)
        except DopwfInputError as exc:
            raise ValueError(str(exc)) from None
        return value

    def request(self) -> dict[str, Any]:
        """The keyword arguments after the host of ``structures.substitutions``' ``plan_substitutions`` and
        ``enumerate_substitutions``: the one place that spells the settings out for them."""
        return {"dopant": self.dopant, "compensation": self.compensate, "supercell": self.supercell,
                "counts": self.counts, "max_per_count": self.arrangements, "oxidation_states": self.oxidation_states}

    @property
    def label(self) -> str:
        """The group's name in tables and figures: its rules, e.g. ``Cl:S + vacancy:Li``."""
        return self.dopant + (f" + {self.compensate}" if self.compensate else "")


def _as_groups(value: Any) -> Any:
    """``substitutions:`` as a list of groups; the single mapping of earlier study files is one group."""
    return [value] if isinstance(value, dict) else value


class SimulatedCellSampling(StrictSettings):
    """Reference MD of every cell the study will simulate, at fixed temperatures, added to the training frames:
    the shared network then sees the doped supercells' own environments (a dopant next to its neighbours), not
    only the training cell's."""

    temperatures_K: list[PositiveFloat] = Field(min_length=1, description="one reference run per cell and temperature")
    n_steps: int = Field(500, gt=0, description="MD steps per run (time step: reference_aimd.time_step_fs)")
    sample_every: int = Field(10, gt=0, description="keep every n-th step as a training image")
    arrangements: int = Field(1, ge=1, description="reference MD of each composition's first N arrangements "
                                                   "(the others share their environments; active learning explores "
                                                   "every cell)")

    @field_validator("temperatures_K")
    @classmethod
    def _distinct(cls, value: list[float] | None) -> list[float] | None:
        return distinct_temperatures(value)


class TrainingPlan(StrictSettings):
    """Which cell(s) the reference AIMD and the network are made for (the stages' settings: ``reference_aimd``,
    ``ann``)."""

    mode: Literal["shared", "per_group", "per_substitution"] = Field(
        "shared", description="shared: one AIMD + network for all substitutions (the paper); per_group: one per "
                              "substitution group (its data and active learning cover the group's cells); "
                              "per_substitution: one per cell, trained on that cell")
    cell: str | None = Field(None, description="training cell (built-in host or file); default: the study host")
    simulated_cells: SimulatedCellSampling | None = Field(
        None, description="shared mode: reference MD of the simulated cells added to the training data (off if absent)")
    networks: int = Field(
        1, ge=1, le=8, description="networks trained on the same final training set with different seeds (split, "
                                   "initial weights); each composition's MD runs are spread over them and pooled, so "
                                   "sigma(Ea) and the ranking carry the training's own spread; validation covers "
                                   "them all")

    @model_validator(mode="after")
    def _shared_mode_only(self) -> TrainingPlan:
        given = [name for name in ("cell", "simulated_cells") if getattr(self, name) is not None]
        if self.mode == "per_substitution" and given:
            raise ValueError(f"{' and '.join(given)}: shared and per_group modes only (per_substitution trains each "
                             "substitution's network on its own cell), so it would be ignored; drop it or use mode: "
                             "shared")
        return self


#: study files written before the stage settings existed: training.<old key> -> reference_aimd.<new key>
LEGACY_AIMD_KEYS = {"aimd_steps": "n_steps", "aimd_time_step_fs": "time_step_fs", "aimd_sample_every": "sample_every"}

#: reference data should reach this factor above the hottest MD temperature (Study.advice; the LSiPS evidence:
#: bench/results/demo_runs/README.md)
HOT_REFERENCE_FACTOR = 1.2


#: a composition's production budget unless the study names one: this many times its first round
PRECISION_BUDGET_FACTOR = 4


class PrecisionSettings(StrictSettings):
    """Adaptive production: after each round, every composition whose sigma(Ea) is above the target gets more
    runs (FireWorks detours) until it meets the target or spends its budget."""

    activation_energy_std_eV: float = Field(0.02, gt=0, description="target standard deviation of each "
                                                                     "composition's Ea (eV)")
    max_production_ps_per_composition: float | None = Field(
        None, gt=0, description=f"production ps a composition may spend over all its runs, its first round "
                                f"included; default: {PRECISION_BUDGET_FACTOR}x its first round")
    max_rounds: int = Field(4, ge=1, description="rounds of added runs at most, per composition")


class DielectricEntry(StrictSettings):
    """A dielectric constant for one composition, with where it came from (never a silent default)."""

    formula: str = Field(description="composition of the substitution, e.g. Li60Si7P11S71Cl1")
    eps_r: float = Field(ge=1.0, description="relative permittivity (electronic + ionic), dimensionless")
    source: str = Field(min_length=3, description='provenance, e.g. "Rao et al. 2020, DFPT"')


class Study(StrictSettings):
    """A whole dopant screening study: what to simulate, and each stage's settings model."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64,
                      description="identifier used in ids and paths")
    host: str = Field(description="built-in host name (LGPS, Li20Si3P3S23Cl) or a structure file path")
    substitutions: Annotated[list[SubstitutionSettings], BeforeValidator(_as_groups)] = Field(
        min_length=1, description="substitution groups (a mapping is one group): dopant, compensation, supercell, "
                                  "counts and arrangements each")
    temperatures_K: list[PositiveFloat] = Field(
        min_length=2, description="ANN-MD temperatures; an Arrhenius fit needs at least two")
    engine: Literal["embedded", "embedded:chgnet", "embedded:sevenn", "vasp", "cp2k"] = Field(
        "embedded", description="reference engine: embedded (= embedded:chgnet, CHGNet 0.3.0) and embedded:sevenn "
                                "(SevenNet-0) stand in for DFT; vasp (VASP through custodian, on a cluster) and cp2k "
                                "(CP2K through custodian, DFT that runs anywhere) are DFT")
    cp2k: Cp2kSettings | None = Field(
        None, description="engine cp2k: CP2K's level of theory, grids, SCF and threads for the reference AIMD, the "
                          "active-learning and validation labels and the validation MD (default: CP2K's defaults)")
    training: TrainingPlan = Field(default_factory=TrainingPlan, description="which cells the reference data and "
                                                                              "the network are made for")
    reference_aimd: AIMDSettings = Field(default_factory=AIMDSettings, description="reference AIMD stage")
    ann: TrainingSettings = Field(default_factory=TrainingSettings, description="network training stage")
    protocol: MDProtocol = Field(default_factory=lambda: MDProtocol(preset="demo"), description="ANN-MD stage")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="diffusion analysis stage")
    active_learning: ActiveLearningSettings = Field(
        default_factory=ActiveLearningSettings, description="committee exploration, labelling and retraining")
    labels: LabelSettings | None = Field(
        None, description="label the training frames with another engine than the one exploring (cp2k: DFT labels "
                          "of CHGNet-proposed frames); off if absent")
    validation: ValidationSettings = Field(default_factory=ValidationSettings,
                                           description="reference MD vs ANN-MD of every network (on by default)")
    precision: PrecisionSettings | None = Field(
        None, description="adaptive production until each composition's sigma(Ea) meets a target (off if absent)")
    dielectric: list[DielectricEntry] = Field(
        default_factory=list, description="eps_r with its source per substituted composition (embedded engines; "
                                          "vasp computes it by DFPT)")
    dielectric_calculation: DielectricCalculation | None = Field(
        None, description="compute each composition's eps_r with CP2K (linear response + finite displacements) "
                          "instead of reading it from dielectric:; off if absent")
    seed: int = Field(0, description="master seed; every random step derives its own from it")

    @model_validator(mode="before")
    @classmethod
    def _demo_protocol(cls, data: Any) -> Any:
        """A study's MD durations default to the demo preset (MDProtocol's own default is the paper's)."""
        if isinstance(data, dict) and isinstance(data.get("protocol"), dict) and "preset" not in data["protocol"]:
            data = {**data, "protocol": {"preset": "demo", **data["protocol"]}}
        validation = data.get("validation") if isinstance(data, dict) else None
        if isinstance(validation, dict) and isinstance(validation.get("protocol"), dict) and (
                "preset" not in validation["protocol"]):
            data = {**data, "validation": {**validation, "protocol": {"preset": "demo", **validation["protocol"]}}}
        return data

    @model_validator(mode="before")
    @classmethod
    def _legacy_training_keys(cls, data: Any) -> Any:
        """training.aimd_* (before the reference_aimd section existed) are read into reference_aimd, with a warning."""
        if not isinstance(data, dict) or not isinstance(data.get("training"), dict):
            return data
        training = dict(data["training"])
        moved = {new: training.pop(old) for old, new in LEGACY_AIMD_KEYS.items() if old in training}
        if "aimd_temperatures_K" in training:
            temperatures = training.pop("aimd_temperatures_K")
            if isinstance(temperatures, (list, tuple)) and len(temperatures) == 2:
                moved["temperature_start_K"], moved["temperature_end_K"] = temperatures
            else:
                training["aimd_temperatures_K"] = temperatures  # reported as an unknown field
        if not moved:
            return data
        aimd = data.get("reference_aimd")
        aimd = {**moved, **aimd} if isinstance(aimd, dict) else (moved if aimd is None else aimd)
        log.warning("study file: training.aimd_* are read as reference_aimd.%s; please move them there",
                    ", reference_aimd.".join(moved))
        return {**data, "training": training, "reference_aimd": aimd}

    @field_validator("temperatures_K")
    @classmethod
    def _temperatures(cls, value: list[float] | None) -> list[float] | None:
        return distinct_temperatures(value)

    @field_validator("substitutions")
    @classmethod
    def _distinct_groups(cls, value: list[SubstitutionSettings]) -> list[SubstitutionSettings]:
        keys = [(g.dopant, g.compensate, str(g.supercell)) for g in value]
        repeated = sorted({f"{d}{f' + {c}' if c else ''} in {cell}" for d, c, cell in keys
                           if keys.count((d, c, cell)) > 1})
        if repeated:
            raise ValueError(f"groups given twice: {'; '.join(repeated)} (merge their counts into one group)")
        return value

    @model_validator(mode="after")
    def _cp2k_settings_where_cp2k_runs(self) -> Study:
        if self.cp2k is not None and self.engine != "cp2k":
            raise ValueError(f"cp2k: these settings are for engine cp2k, and this study's engine is {self.engine}; "
                             "CP2K labels of another engine's frames take labels.cp2k, computed dielectric "
                             "constants dielectric_calculation.cp2k")
        return self

    def reference_cp2k(self) -> Cp2kSettings | None:
        """CP2K's level of theory as the study's reference engine (its ``cp2k`` section or CP2K's defaults); None
        for any other engine."""
        return (self.cp2k or Cp2kSettings()) if self.engine == "cp2k" else None

    def cp2k_settings_in_use(self) -> list[Cp2kSettings]:
        """Every CP2K level of theory the study runs: as its engine, its labels, its dielectric calculation."""
        return [s for s in (self.reference_cp2k(),
                            self.labels.cp2k if self.labels is not None else None,
                            self.dielectric_cp2k_settings() if self.dielectric_calculation is not None else None) if s]

    def labelling(self) -> LabelSettings | None:
        """Who labels what active learning chooses when it is not the exploring engine's own in-process
        calculator: the ``labels`` engine, or CP2K itself for engine cp2k (None: the engine labels in-process, or
        VASP single points as Fireworks)."""
        cp2k = self.reference_cp2k()
        return LabelSettings(engine="cp2k", cp2k=cp2k) if cp2k is not None else self.labels

    @model_validator(mode="after")
    def _labels_fit_the_study(self) -> Study:
        if self.labels is None:
            return self
        if self.engine in ("vasp", "cp2k"):
            raise ValueError(f"labels: with engine {self.engine} every label is a {self.engine.upper()} single point "
                             "already; remove labels")
        if self.validation.enabled:
            raise ValueError(
                f"labels: validation compares ANN-MD with reference MD of the exploring engine ({self.engine}), not "
                f"of {self.labels.engine}, whose MD is beyond this study; set validation: {{enabled: false}}: the "
                f"network is then checked by active learning's true error ({self.labels.engine} labels of frames "
                "from its own ANN-MD)")
        return self

    @model_validator(mode="after")
    def _dielectric_unique(self) -> Study:
        formulas = [entry.formula for entry in self.dielectric]
        repeated = duplicates(formulas)
        if repeated:
            raise ValueError(f"dielectric: more than one eps_r for {repeated}")
        if self.dielectric and self.engine == "vasp":
            raise ValueError("dielectric: with engine vasp every cell's eps_r comes from its own DFPT run and these "
                             "entries would be ignored; remove them (or use an embedded engine, which reads them)")
        if self.dielectric_calculation is not None and self.engine == "vasp":
            raise ValueError("dielectric_calculation: with engine vasp every cell's eps_r comes from its own DFPT run; "
                             "remove dielectric_calculation")
        if self.dielectric_calculation is not None and self.dielectric:
            raise ValueError("dielectric and dielectric_calculation both given: each composition's eps_r would have "
                             "two sources; keep one")
        return self

    def dielectric_cp2k_settings(self) -> Cp2kSettings:
        """CP2K's level of theory for the dielectric runs: dielectric_calculation.cp2k, else the labels' CP2K
        settings, else CP2K's defaults."""
        calculation = self.dielectric_calculation
        if calculation is not None and calculation.cp2k is not None:
            return calculation.cp2k
        reference = self.reference_cp2k()
        if reference is not None:
            return reference
        return self.labels.cp2k if self.labels is not None else Cp2kSettings()

    @model_validator(mode="after")
    def _protocols_give_a_diffusivity(self) -> Study:
        for where, protocol in (("protocol", self.protocol), ("validation.protocol", self.validation.protocol)):
            problem = protocol.diffusion_problem() if protocol is not None else None
            if problem:
                raise ValueError(f"{where}: {problem}")
        aimd = self.reference_aimd
        frames = aimd.n_steps // aimd.sample_every
        if frames < 3:
            raise ValueError(f"reference_aimd: {aimd.n_steps} steps sampled every {aimd.sample_every} give "
                             f"{frames} training frames; training needs at least 3 (train, validation, test)")
        return self

    @model_validator(mode="after")
    def _confirmation_labels_in_the_round(self) -> Study:
        # last of the checks: a VASP study's own refusals (dielectric entries, ...) come first
        al = self.active_learning
        if al.enabled and al.confirm_ps is not None and al.selection == "uniform" and self.engine == "vasp":
            raise ValueError("active_learning.confirm_ps with selection uniform labels the confirmation runs after "
                             "the round's own labels, in the round; VASP labels come as Fireworks, once per round: "
                             "use selection: deviation (decided before labelling) or leave confirm_ps out")
        return self

    def simulated_cell_settings(self, substitution_id: str, temperature_K: float) -> AIMDSettings:
        """Reference MD of one simulated cell at one temperature (the reference AIMD's engine and time step)."""
        sampling = self.training.simulated_cells
        return self.reference_aimd.model_copy(update={
            "n_steps": sampling.n_steps, "sample_every": sampling.sample_every, "temperature_start_K": temperature_K,
            "temperature_end_K": temperature_K, "seed": derive_seed(self.seed, "simulated cell", substitution_id,
                                                                    float(temperature_K))})

    def active_learning_temperatures(self) -> list[float]:
        return list(self.active_learning.temperatures_K or self.temperatures_K)

    def aimd_settings(self) -> AIMDSettings:
        """The reference AIMD's settings, seeded from the study's seed unless the file sets reference_aimd.seed."""
        if "seed" in self.reference_aimd.model_fields_set:
            return self.reference_aimd
        return self.reference_aimd.model_copy(update={"seed": self.seed})

    def validation_temperatures(self) -> list[float]:
        """Where every network is compared with its reference: the validation section's, else the study's."""
        return list(self.validation.temperatures_K or self.temperatures_K)

    def validation_protocol(self) -> MDProtocol:
        return self.validation.protocol or self.protocol

    def training_temperature_range(self) -> tuple[float, float] | None:
        """The reference AIMD's temperature range (embedded engines; VASP runs the same schedule)."""
        aimd = self.reference_aimd
        return (min(aimd.temperature_start_K, aimd.temperature_end_K),
                max(aimd.temperature_start_K, aimd.temperature_end_K))

    def enumerate_substitutions(self) -> list:
        """The study's substitution cells (structures.substitutions.Substitution), as its workflow simulates them."""
        from dataclasses import replace

        from dopant_workflows.structures.hosts import load_host
        from dopant_workflows.structures.substitutions import enumerate_substitutions

        host, cells, seen = load_host(self.host), [], set()
        for group in self.substitutions:
            for sub in enumerate_substitutions(host, **group.request()):
                if sub.id not in seen:  # one cell in two groups (e.g. the undoped host at count 0) is simulated once
                    seen.add(sub.id)
                    cells.append(replace(sub, group=group.label))
        return cells

    def md_temperatures(self) -> list[float]:
        """Every temperature a network of this study runs MD at: production, validation, exploration."""
        temperatures = set(self.temperatures_K)
        if self.validation.enabled:
            temperatures.update(self.validation_temperatures())
        if self.active_learning.enabled:
            temperatures.update(self.active_learning_temperatures())
        return sorted(temperatures)

    def hottest_reference_data_K(self) -> float:
        """The hottest temperature of the reference MD that gives the training frames."""
        cells = self.training.simulated_cells
        return max([self.training_temperature_range()[1], *(cells.temperatures_K if cells is not None else [])])

    def advice(self) -> list[str]:
        """Choices the measurements advise against. Not errors: the study runs as written, and each note says why.

        Reference data no hotter than the MD: the core repulsion sets in 0.1 A inside the closest approach of each
        bonded pair in the training frames, and MD at the hottest temperature for as long as production reaches
        closer than reference MD at that temperature did in the few picoseconds that gave the frames (extreme
        values: more samples, closer contacts). Hotter reference data put the data's edge deeper: on the LSiPS
        demo, data up to 1200 K (supercells at 1100 K) leave 9 explored frames beyond the data in the first
        active-learning round where data up to 1000 K (800 K) left 193 and 471, and the rounds converge in 3
        instead of 4 (bench/results/demo_runs/README.md)."""
        notes = []
        hottest_md, hottest_data = max(self.md_temperatures()), self.hottest_reference_data_K()
        if self.ann.core_repulsion and hottest_data < HOT_REFERENCE_FACTOR * hottest_md:
            notes.append(
                f"reference data reach {hottest_data:g} K, less than {HOT_REFERENCE_FACTOR:g} x the hottest MD "
                f"temperature ({hottest_md:g} K): production runs there tend to bring atoms closer than the training "
                f"frames did, onto the core repulsion (the validation then fails on the wall); raise "
                f"reference_aimd.temperature_end_K (or training.simulated_cells.temperatures_K) to "
                f">= {HOT_REFERENCE_FACTOR * hottest_md:g} K")
        if self.validation.enabled and self.validation.max_seeds is not None and not self.validation_adds_runs:
            notes.append(f"validation.max_seeds adds reference MD runs of the embedded engines only; with engine "
                         f"{self.engine} each would be an AIMD run (hours), so the validation keeps its "
                         f"{self.validation.seeds} runs per temperature: raise validation.seeds to get more")
        return notes

    @property
    def validation_adds_runs(self) -> bool:
        """Whether an inconclusive activation-energy check may add reference runs (validation.max_seeds): only
        an embedded engine's MD is added (embedded, embedded:chgnet, embedded:sevenn); an AIMD reference run would
        take hours (``advice`` says so)."""
        return bool(self.validation.max_seeds) and self.engine.startswith("embedded")

    def validation_resolution(self) -> str | None:
        """What the validation's activation-energy check can resolve, from the settings alone (said before anything
        runs): the check passes |Ea_ANN - Ea_ref| <= threshold once the difference is known to
        ``activation_energy_sigma_eV``; at that precision even a network that reproduces its reference exactly
        fails it by chance (2 Phi(-threshold / sigma)). None without validation."""
        from dopant_workflows.validation.compare import exact_network_fail_probability

        settings = self.validation
        if not settings.enabled:
            return None
        thresholds = settings.thresholds
        limit, threshold = thresholds.activation_energy_sigma_eV, thresholds.activation_energy_eV
        runs = f"{settings.seeds}" + (f" (up to {settings.max_seeds})" if self.validation_adds_runs and (
            settings.max_seeds > settings.seeds) else "")
        temperatures = "/".join(f"{t:g}" for t in self.validation_temperatures())
        return (f"Ea of the network's MD against the reference's at {temperatures} K, {runs} reference runs per "
                f"temperature: judged |difference| <= {threshold:g} eV once it is known to +- {limit:g} eV. At that "
                f"precision a network that reproduces its reference exactly fails the check in "
                f"{100 * exact_network_fail_probability(limit, threshold):.0f} % of runs (at +- {limit / 2:g} eV in "
                f"{100 * exact_network_fail_probability(limit / 2, threshold):.0f} %): an Ea failure within ~2 sigma "
                f"of the threshold is a draw, not proof; D per temperature, forces and the wall are judged beside it")

    def validation_seed(self, label: str, role: str, temperature_K: float, k: int) -> int:
        """Reference and ANN runs get different seeds: the comparison is between independent trajectories."""
        return validation_seed(self.seed, label, role, temperature_K, k)

    def md_seed(self, substitution_id: str, temperature_K: float, replica: int = 0) -> int:
        """The seed of one ANN-MD run: from what the run is, not from its position in the study."""
        return md_seed(self.seed, substitution_id, temperature_K, replica)

    def precision_budget_ps(self, first_round_runs: int) -> float:
        """Production picoseconds a composition may spend in all (its first round included)."""
        given = self.precision.max_production_ps_per_composition
        return given if given is not None else PRECISION_BUDGET_FACTOR * first_round_runs * self.protocol.production_ps


class StudyValidationError(DopwfInputError):
    """All problems of a study file; ``problems`` is a list of (field path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"study file {source}: {len(problems)} problem(s)\n{lines}")


def _physics_problems(raw: dict[str, Any], schema_problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Checks that need the structures, run on the parts of the file that passed the schema."""
    bad = {path.split(".")[0].split("[")[0] for path, _ in schema_problems}
    return _training_cell_problems(raw, bad) + _host_problems(raw, bad)


def _training_cell_problems(raw: dict[str, Any], bad: set[str]) -> list[tuple[str, str]]:
    from dopant_workflows.structures.hosts import load_cell

    training = raw.get("training")
    cell = training.get("cell") if isinstance(training, dict) else None
    if "training" in bad or not isinstance(cell, str):
        return []
    try:
        load_cell(cell)
    except DopwfInputError as exc:
        return [("training.cell", str(exc))]
    return []


def _host_problems(raw: dict[str, Any], bad: set[str]) -> list[tuple[str, str]]:
    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.structures.substitutions import plan_substitutions

    if "host" in bad or not isinstance(raw.get("host"), str):
        return []
    try:
        host = load_host(raw["host"])
    except DopwfInputError as exc:
        return [("host", str(exc))]
    if "substitutions" in bad:
        return []
    problems, formulas = [], []
    for n, group in enumerate(_as_groups(raw["substitutions"])):
        settings = SubstitutionSettings.model_validate(SubstitutionSettings.renamed_legacy(group))  # warned once
        try:
            cell, _, plans = plan_substitutions(host, **settings.request())
        except DopwfInputError as exc:
            problems.append((f"substitutions[{n}]", str(exc)))
            continue
        formulas += _substituted_formulas(cell, plans)
    if problems or "dielectric" in bad or not isinstance(raw.get("dielectric"), list):
        return problems
    return [(f"dielectric[{n}].formula", f"{entry['formula']!r} is none of the study's substitutions "
                                         f"({', '.join(dict.fromkeys(formulas))}): a typo, or an entry for another "
                                         "study")
            for n, entry in enumerate(raw["dielectric"]) if entry["formula"] not in formulas]


def _substituted_formulas(cell, plans: dict) -> list[str]:
    """The formula of each count's substituted supercell (what a dielectric entry is matched on), from the plan:
    no configuration needs to be built."""
    from pymatgen.core import Composition

    from dopant_workflows.structures.substitutions import VACANCY

    formulas = []
    for plan in plans.values():
        amounts = dict(cell.composition.get_el_amt_dict())
        for pool, label, n in ((plan.dopant_pool, plan.dopant_label, plan.n_dopant),
                               (plan.comp_pool, plan.comp_label, plan.n_comp)):
            if n:
                amounts[cell[pool[0]].specie.symbol] -= n
                if label != VACANCY:
                    amounts[label] = amounts.get(label, 0) + n
        formulas.append(Composition({el: n for el, n in amounts.items() if n}).formula.replace(" ", ""))
    return formulas


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader refusing a key given twice in one mapping (plain YAML keeps the last one silently: a
    study would run with a value its author may not have meant)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader's own error names it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"key {key!r} given twice (first on line {seen[key] + 1}); keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_study(path: str | Path) -> Study:
    """Read and fully validate a study file; raise :class:`StudyValidationError` listing every problem."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DopwfInputError(f"study file {source!r}: {'a directory' if path.is_dir() else 'not found'} "
                              "(expected a study YAML file)")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise StudyValidationError(source, [("(file)", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise StudyValidationError(source, [("(file)", f"expected a mapping of fields, got {type(raw).__name__}")])
    raw["host"] = _relative_to(raw.get("host"), path.parent)
    if isinstance(raw.get("training"), dict):
        raw["training"]["cell"] = _relative_to(raw["training"].get("cell"), path.parent)
    return study_from_dict(raw, source)


def _relative_to(value: Any, directory: Path) -> Any:
    """Structure paths in a study file are relative to the file; built-in host names stay as they are."""
    from dopant_workflows.structures.hosts import BUILTIN_HOSTS

    if not isinstance(value, str) or not value.strip() or value.lower() in {name.lower() for name in BUILTIN_HOSTS}:
        return value
    candidate = directory / value
    return str(candidate.resolve()) if not Path(value).is_absolute() and candidate.exists() else value


def study_from_dict(raw: dict[str, Any], source: str = "study") -> Study:
    """Validate a study given as a dict (e.g. parsed YAML); every problem is reported at once."""
    try:
        study = Study.model_validate(raw)
        problems: list[tuple[str, str]] = []
    except ValidationError as exc:
        study = None
        problems = validation_problems(exc)
    problems += _physics_problems(raw, problems)
    if isinstance(raw.get("substitutions"), dict):  # one group written as a mapping: its paths as written
        problems = [(re.sub(r"^substitutions\[0\]", "substitutions", path), message) for path, message in problems]
    if problems:
        raise StudyValidationError(source, problems)
    assert study is not None
    return study
