"""Documents the builders make: what a scientist queries (the paper's Tables 2 and 3)."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from dopant_workflows.names import study_substitution_id
from dopant_workflows.schemas.base import ResultDocument


class DiffusivityDocument(ResultDocument):
    """One substitution at one temperature."""

    task_id: str = Field(description="key, the md_tasks document it comes from")
    study: str
    substitution_id: str
    formula: str
    dopant: str
    dopant_fraction: float
    dopant_oxidation_state: float | None = Field(None, description="negative: the dopant is an anion")
    composition_id: str | None = Field(None, description="the composition this arrangement is a replica of")
    arrangement: int | None = Field(None, description="0 = the composition's lowest-Ewald arrangement")
    group: str | None = Field(None, description="the substitution group, e.g. 'Cl:S + vacancy:Li'")
    temperature_K: float
    production_ps: float | None = Field(None, description="NVT production analysed for D (ps)")
    diffusivity_cm2_s: float
    diffusivity_std_cm2_s: float | None
    diffusivity_components_cm2_s: dict[str, float] = Field(description="along a, b, c")
    conductivity_mS_cm: float | None = Field(description="Nernst-Einstein at temperature_K")
    rdf_first_peak_A: float | None
    fit_window_fs: list[float] | None = Field(None, description="lags of the MSD fit (fs)")
    n_eff: float | None = Field(None, description="He et al.'s N_eff of the run")
    n_carriers: int
    volume_A3: float
    composition: dict[str, int]
    thermostat_ok: bool
    core_repulsion_contact_fraction: float | None = Field(
        None, description="production samples in which the network's wall beneath its data was active")
    core_repulsion_max_eV: float | None = Field(None, description="largest wall energy in production")
    model_sha256: str | None = None
    network: int = Field(0, description="which of the study's networks ran it (training.networks)")
    ensemble_sha256: str | None = Field(None, description="the networks trained together (network 0's sha256); "
                                                          "None: model_sha256")
    warnings: list[str] = Field(default_factory=list)


class ArrangementFit(BaseModel):
    """One arrangement's own Arrhenius fit inside its composition's document (None where it ran at fewer than two
    temperatures)."""

    substitution_id: str
    arrangement: int | None = Field(None, description="0 = the lowest-Ewald arrangement")
    n_runs: int
    activation_energy_eV: float | None
    activation_energy_std_eV: float | None
    conductivity_300K_mS_cm: float | None


class NetworkFit(BaseModel):
    """One network's own Arrhenius fit inside its composition's document (training.networks > 1; None where its
    runs span fewer than two temperatures)."""

    network: int = Field(description="0 = the network trained first (or handed on by active learning)")
    model_sha256: str | None
    n_runs: int
    activation_energy_eV: float | None
    activation_energy_std_eV: float | None
    conductivity_300K_mS_cm: float | None


class ConductivityDocument(ResultDocument):
    """One composition of a study: its arrangements' runs pooled per temperature, the Arrhenius fit, D and sigma
    at 300 K with 95 % intervals, and its place in the study's ranking."""

    composition_id: str = Field(description="the composition (its formula): what the arrangements share")
    substitution_ids: list[str] = Field(description="the arrangements (substitution cells) whose runs are pooled")
    study: str
    formula: str
    dopant: str | None = None
    group: str | None = Field(None, description="the substitution group, e.g. 'Cl:S + vacancy:Li'")
    dopant_count: int | None = None
    dopant_fraction: float
    temperatures_K: list[float]
    n_runs: int = Field(description="MD runs behind the fit, all arrangements and temperatures")
    runs_per_temperature: dict[str, int] = Field(description="temperature (K, as text) -> runs pooled there")
    production_ps_per_temperature: dict[str, float] = Field(
        default_factory=dict, description="temperature (K, as text) -> production ps over all runs there")
    fit_window_fs: dict[str, list[float]] = Field(
        default_factory=dict, description="temperature (K, as text) -> MSD fit lags [start, end] (fs): from an MSD "
                                          "of 0.5 a^2 per ion (He et al. 2018) to half the run")
    stopped_on: str | None = Field(None, description="precision: sigma(Ea) met the study's target; budget: it did "
                                                     "not, and no more production was allowed; None: no target, or "
                                                     "still sampling")
    precision_target_std_eV: float | None = Field(None, description="the study's sigma(Ea) target")
    precision_rounds: int | None = Field(None, description="precision checks run (1: after the first round)")
    activation_energy_eV: float
    activation_energy_std_eV: float
    prefactor_cm2_s: float
    extrapolation_temperature_K: float = Field(300.0, description="the *_300K_* fields are at this temperature")
    diffusivity_300K_cm2_s: float
    diffusivity_300K_95_cm2_s: list[float] | None = Field(
        description="95 % interval; None: the fit has no error estimate (two temperatures, no errors)")
    conductivity_300K_mS_cm: float
    conductivity_300K_95_mS_cm: list[float] | None = Field(description="95 % interval; None: as for D")
    diffusivity_300K_components_cm2_s: dict[str, float | None] = Field(description="a, b, c from per-axis fits")
    linear: bool = Field(description="False: the data do not follow one Arrhenius line; extrapolation doubtful")
    vtf_ln_bayes_factor: float | None = Field(
        None, description="ln(Z_VTF / Z_Arrhenius) of the D(T) points (analysis.vtf); None: under 4 temperatures")
    non_arrhenius: bool | None = Field(None, description="True: VTF favoured with a Bayes factor above 10")
    arrangements: list[ArrangementFit] = Field(default_factory=list, description="each arrangement's own fit")
    arrangement_spread_eV: float | None = Field(None, description="largest minus smallest Ea of the arrangements")
    arrangements_agree: bool | None = Field(
        None, description="False: the arrangements' D disagree beyond their errors (chi^2 test, p < 0.05); None: "
                          "fewer than two arrangements at any temperature")
    arrangements_p_value: float | None = None
    networks: list[NetworkFit] = Field(default_factory=list, description="training.networks > 1: each network's own "
                                                                          "fit over the runs it made")
    network_spread_eV: float | None = Field(None, description="largest minus smallest Ea of the networks")
    networks_agree: bool | None = Field(
        None, description="False: networks trained on the same data give D that disagree beyond the MD's errors "
                          "(chi^2 test, p < 0.05); None: one network, or never two at one temperature")
    networks_p_value: float | None = None
    rank: int | None = Field(None, description="1 = the study's best conductor at 300 K; tied rows share a rank")
    p_above_next: float | None = Field(
        None, description="probability that this composition's sigma(300 K) exceeds the next-ranked one's")
    tied_with_next: bool | None = Field(None, description="p_above_next below 0.95: not resolved from the next row")
    p_best: float | None = Field(
        None, description="probability that this composition is the study's best conductor at 300 K (every other "
                          "composition below it); None: some composition's fit has no error estimate")
    n_ranked: int | None = Field(None, description="compositions in the study's ranking")
    validated: bool | None = Field(None, description="the network passed validation against its reference and kept "
                                                      "its core repulsion a safety net here; None: not validated")
    validation_notes: list[str] = Field(default_factory=list, description="why not validated")
    model_sha256: list[str] = Field(default_factory=list, description="the network(s) behind the MD runs")
    warnings: list[str] = Field(default_factory=list)

    @computed_field(description="key: '<study>/<composition_id>' (one composition in two studies is two documents)")
    @property
    def conductivity_id(self) -> str:
        return study_substitution_id(self.study, self.composition_id)


class AndersonStuartDocument(ResultDocument):
    """One composition: the paper's Eq. 4 barrier beside the Arrhenius activation energy."""

    composition_id: str = Field(description="the composition (its formula)")
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

    @computed_field(description="key: '<study>/<composition_id>'")
    @property
    def anderson_stuart_id(self) -> str:
        return study_substitution_id(self.study, self.composition_id)
