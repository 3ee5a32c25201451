"""The study file: one YAML document describing a dopant screening study, validated by pydantic.

``validate_study_file`` reports *every* problem at once, each with its field path (``substitutions.counts[1]``):
first the schema (types, ranges, unknown keys), then the physics that needs the host (rules, counts, supercell).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dopant_workflows.errors import DopwfInputError

PositiveFloat = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubstitutionSettings(_Strict):
    """Which dopants go where, in which supercell, at which counts."""

    dopant: str = Field(description="NEW:OLD, dopant element on sites of a host element, e.g. Cl:S")
    compensate: str | None = Field(
        None, description="NEW:OLD charge compensation applied per dopant, e.g. Si:P; null for isovalent dopants"
    )
    supercell: list[int] | list[list[int]] = Field(description="3 multipliers (e.g. [3, 1, 1]) or a 3x3 matrix")
    counts: list[int] = Field(min_length=1, description="dopant atoms per supercell, one study branch each")
    max_per_count: int = Field(1, ge=1, description="lowest-Ewald symmetry-distinct configurations kept per count")
    oxidation_states: dict[str, float] | None = Field(
        None, description="element -> oxidation state; default: pymatgen's guess for the host"
    )

    @field_validator("dopant", "compensate")
    @classmethod
    def _rule(cls, value: str | None) -> str | None:
        from dopant_workflows.structures.substitutions import SpeciesSwap

        if value is not None:
            try:
                SpeciesSwap.parse(value)
            except DopwfInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("counts")
    @classmethod
    def _counts(cls, value: list[int]) -> list[int]:
        issues = []
        negative = [c for c in value if c < 0]
        if negative:
            issues.append(f"counts must be non-negative, got {negative}")
        duplicates = sorted({c for c in value if value.count(c) > 1})
        if duplicates:
            issues.append(f"duplicate counts {duplicates}")
        if issues:
            raise ValueError("; ".join(issues))
        return value

    @field_validator("supercell")
    @classmethod
    def _supercell(cls, value: list) -> list:
        from dopant_workflows.structures.substitutions import check_supercell

        try:
            check_supercell(value)
        except DopwfInputError as exc:
            raise ValueError(str(exc)) from None
        return value


class ProtocolSettings(_Strict):
    """MD protocol: a preset (``paper``, ``demo``, ``smoke``) plus optional overrides of its durations."""

    preset: Literal["paper", "demo", "smoke"] = "demo"
    time_step_fs: PositiveFloat | None = None
    initial_temperature_K: PositiveFloat | None = None
    heating_ps: PositiveFloat | None = None
    equilibration_ps: PositiveFloat | None = None
    production_ps: PositiveFloat | None = None
    sample_interval_fs: PositiveFloat | None = None


class TrainingSettings(_Strict):
    """Reference AIMD that produces the training images."""

    mode: Literal["shared", "per_substitution"] = Field(
        "shared", description="shared: one AIMD + network for all substitutions (the paper); per_substitution: one each"
    )
    cell: str | None = Field(None, description="training cell (built-in host or file); default: the study host")
    aimd_steps: int = Field(2000, gt=0, description="MD steps of the reference AIMD")
    aimd_time_step_fs: PositiveFloat = 2.0
    aimd_sample_every: int = Field(1, gt=0, description="keep every n-th AIMD step as a training image")
    aimd_temperatures_K: tuple[PositiveFloat, PositiveFloat] = Field(
        (300.0, 1000.0), description="temperature schedule: start and end of a linear ramp (wide sampling)"
    )


class ANNSettings(_Strict):
    """Behler-Parrinello network, AMP conventions (Gaussian descriptor, cosine cutoff, tanh)."""

    descriptor: Literal["gaussian"] = "gaussian"
    cutoff_A: PositiveFloat = 6.5
    hidden_layers: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [5, 5], min_length=1)
    activation: Literal["tanh"] = "tanh"
    energy_coefficient: float = Field(1.0, ge=0)
    force_coefficient: float = Field(0.04, ge=0, description="AMP's default weight of the force term")
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    max_steps: int = Field(5000, gt=0, description="L-BFGS iterations or Adam epochs")
    learning_rate: float = Field(1e-2, gt=0, description="Adam, first epoch")
    final_learning_rate: float = Field(1e-4, gt=0, description="Adam, last epoch (exponential decay)")
    batch_size: int = Field(32, gt=0, description="Adam: images per step")
    core_repulsion: bool = Field(True, description="wall beneath the closest approach of each element pair in the "
                                                   "training data (zero where the network was trained)")
    test_fraction: float = Field(0.2, gt=0, lt=1)
    validation_fraction: float = Field(0.1, gt=0, lt=1, description="fraction of the training part")
    seed: int = 0


class DielectricEntry(_Strict):
    """A dielectric constant for one composition, with where it came from (never a silent default)."""

    formula: str = Field(description="composition of the substitution, e.g. Li60Si7P11S71Cl1")
    eps_r: float = Field(ge=1.0, description="relative permittivity (electronic + ionic), dimensionless")
    source: str = Field(min_length=3, description='provenance, e.g. "Rao et al. 2020, DFPT"')


class Study(_Strict):
    """A whole dopant screening study."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="identifier used in ids and paths")
    host: str = Field(description="built-in host name (LGPS, Li20Si3P3S23Cl) or a structure file path")
    substitutions: SubstitutionSettings
    temperatures_K: list[PositiveFloat] = Field(min_length=1, description="ANN-MD temperatures")
    engine: Literal["embedded", "embedded:chgnet", "embedded:sevenn", "vasp"] = "embedded"
    protocol: ProtocolSettings = Field(default_factory=ProtocolSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    ann: ANNSettings = Field(default_factory=ANNSettings)
    dielectric: list[DielectricEntry] = Field(default_factory=list)
    seed: int = Field(0, description="master seed; every random step derives its own from it")

    @field_validator("temperatures_K")
    @classmethod
    def _temperatures(cls, value: list[float]) -> list[float]:
        duplicates = sorted({t for t in value if value.count(t) > 1})
        if duplicates:
            raise ValueError(f"duplicate temperatures {duplicates}")
        return value

    @model_validator(mode="after")
    def _dielectric_unique(self) -> Study:
        formulas = [entry.formula for entry in self.dielectric]
        duplicates = sorted({f for f in formulas if formulas.count(f) > 1})
        if duplicates:
            raise ValueError(f"dielectric: more than one eps_r for {duplicates}")
        return self


class StudyValidationError(DopwfInputError):
    """All problems of a study file; ``problems`` is a list of (field path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"study file {source}: {len(problems)} problem(s)\n{lines}")


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _schema_problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append((_field_path(error["loc"]), message))
    return problems


def _physics_problems(raw: dict[str, Any], schema_problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Checks that need the host structure, run on the parts of the file that passed the schema."""
    from dopant_workflows.structures.hosts import load_host
    from dopant_workflows.structures.substitutions import plan_substitutions

    bad = {path.split(".")[0].split("[")[0] for path, _ in schema_problems}
    if "host" in bad or not isinstance(raw.get("host"), str):
        return []
    try:
        host = load_host(raw["host"])
    except DopwfInputError as exc:
        return [("host", str(exc))]
    if "substitutions" in bad:
        return []
    settings = SubstitutionSettings.model_validate(raw["substitutions"])
    try:
        plan_substitutions(
            host, settings.dopant, settings.compensate, settings.supercell, settings.counts,
            settings.max_per_count, settings.oxidation_states,
        )
    except DopwfInputError as exc:
        return [("substitutions", str(exc))]
    return []


def load_study(path: str | Path) -> Study:
    """Read and fully validate a study file; raise :class:`StudyValidationError` listing every problem."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DopwfInputError(f"study file {source!r}: not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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

    if not isinstance(value, str) or value.lower() in {name.lower() for name in BUILTIN_HOSTS}:
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
        problems = _schema_problems(exc)
    problems += _physics_problems(raw, problems)
    if problems:
        raise StudyValidationError(source, problems)
    assert study is not None
    return study
