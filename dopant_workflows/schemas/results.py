"""Documents the builders make: what a scientist queries (the paper's Tables 2 and 3)."""

from __future__ import annotations

from pydantic import Field, computed_field

from dopant_workflows.names import study_substitution_id
from dopant_workflows.schemas.base import ResultDocument

_KEY = "key: '<study>/<substitution_id>' (one substitution in two studies is two documents)"


class DiffusivityDocument(ResultDocument):
    """One substitution at one temperature."""

    task_id: str = Field(description="key, the md_tasks document it comes from")
    study: str
    substitution_id: str
    formula: str
    dopant: str
    dopant_fraction: float
    dopant_oxidation_state: float | None = Field(None, description="negative: the dopant is an anion")
    temperature_K: float
    diffusivity_cm2_s: float
    diffusivity_std_cm2_s: float | None
    diffusivity_components_cm2_s: dict[str, float] = Field(description="along a, b, c")
    conductivity_mS_cm: float | None = Field(description="Nernst-Einstein at temperature_K")
    rdf_first_peak_A: float | None
    n_carriers: int
    volume_A3: float
    composition: dict[str, int]
    thermostat_ok: bool
    core_repulsion_contact_fraction: float | None = Field(
        None, description="production samples in which the network's wall beneath its data was active")
    core_repulsion_max_eV: float | None = Field(None, description="largest wall energy in production")
    model_sha256: str | None = None
    warnings: list[str] = Field(default_factory=list)


class ConductivityDocument(ResultDocument):
    """One substitution: Arrhenius fit, and D and sigma at 300 K with 95 % intervals."""

    substitution_id: str
    study: str
    formula: str
    dopant_fraction: float
    temperatures_K: list[float]
    activation_energy_eV: float
    activation_energy_std_eV: float
    prefactor_cm2_s: float
    extrapolation_temperature_K: float = Field(300.0, description="the *_300K_* fields are at this temperature")
    diffusivity_300K_cm2_s: float
    diffusivity_300K_95_cm2_s: list[float]
    conductivity_300K_mS_cm: float
    conductivity_300K_95_mS_cm: list[float]
    diffusivity_300K_components_cm2_s: dict[str, float | None] = Field(description="a, b, c from per-axis fits")
    linear: bool = Field(description="False: the data do not follow one Arrhenius line; extrapolation doubtful")
    validated: bool | None = Field(None, description="the network passed validation against its reference and kept "
                                                      "its core repulsion a safety net here; None: not validated")
    validation_notes: list[str] = Field(default_factory=list, description="why not validated")
    model_sha256: list[str] = Field(default_factory=list, description="the network(s) behind the MD runs")
    warnings: list[str] = Field(default_factory=list)

    @computed_field(description=_KEY)
    @property
    def conductivity_id(self) -> str:
        return study_substitution_id(self.study, self.substitution_id)


class AndersonStuartDocument(ResultDocument):
    """One substitution: the paper's Eq. 4 barrier beside the Arrhenius activation energy."""

    substitution_id: str
    study: str
    formula: str
    dopant: str
    jump_distance_A: float | None = Field(description="lambda: mean first Li-Li RDF peak over the MD runs")
    r_cation_A: float
    r_anion_A: float
    epsilon_r: float | None
    epsilon_r_source: str
    barrier_eV: float | None = Field(description="None when eps_r or lambda is missing (see missing_reason)")
    missing_reason: str | None = None
    arrhenius_activation_energy_eV: float | None
    validated: bool | None = Field(None, description="as the conductivity document (the network behind Ea)")

    @computed_field(description=_KEY)
    @property
    def anderson_stuart_id(self) -> str:
        return study_substitution_id(self.study, self.substitution_id)
