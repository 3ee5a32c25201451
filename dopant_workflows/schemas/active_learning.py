"""One document per active-learning round: what the committee explored, what it selected, what was labelled."""

from __future__ import annotations

from pydantic import Field

from dopant_workflows.schemas.base import Document


class ActiveLearningDocument(Document):
    """Round r: the committee trained on every frame so far explored the study's cells; frames whose maximum
    committee force deviation lies in [trust_lo, trust_hi) were labelled by the reference for round r + 1
    (``selection: uniform``: frames evenly along every run, whose true error decides convergence; the deviation
    fields are None without a committee)."""

    al_id: str = Field(description="stable key: study-label-round")
    study: str | None = None
    label: str | None = None
    round: int = Field(ge=1)
    reference_engine: str
    selection: str = Field("deviation", description="deviation (committee trust window) or uniform")
    committee_sha256: list[str] = Field(description="member 0 first: the network this round hands on")
    model_path: str = Field(description="member 0's model.json")
    training_frame_files: list[str]
    n_training_images: int
    test_force_rmse_eV_A: list[float | None] = Field(description="each member's held-out test error")
    explored: list[dict] = Field(description="per cell and temperature: formula, temperature_K, n_frames, status "
                                             "(uniform selection: n_labelled, force_rmse_eV_A)")
    n_explored: int
    n_accurate: int | None = Field(description="deviation < trust_lo")
    n_candidates: int | None = Field(description="trust_lo <= deviation < trust_hi")
    n_failed: int | None = Field(description="deviation >= trust_hi")
    fraction_above_lo: float | None
    deviation_histogram: dict | None = Field(description="bin_edges (eV/A) and counts of the maximum force deviation")
    n_selected: int
    n_beyond_data: int | None = Field(None, description="explored frames in which the network's core repulsion was "
                                                        "active (None: not checked)")
    beyond_data_max_eV: float | None = Field(None, description="largest core-repulsion energy in an explored frame")
    n_labelled_beyond_data: int = Field(0, description="of n_labelled: frames labelled because they lay beyond "
                                                       "the data")
    n_labelled: int
    labelled_frames_path: str | None = None
    selection_note: str | None = None
    true_error: dict = Field(default_factory=dict, description="member 0 vs the reference on labelled frames: "
                             "random explored frames (unbiased) and the selected ones, with their deviations")
    converged: bool
    confirmation: dict | None = Field(
        None, description="settings.confirm_ps: the longer runs a converged round's network was confirmed by "
                          "(temperature_K, ps_per_run, runs, n_frames, n_beyond_data, beyond_data_max_eV, n_labelled, "
                          "passed; uniform: worst_run_force_rmse_eV_A, deviation: fraction_above_lo); a round whose "
                          "confirmation failed has not converged. None: not confirmed")
    final: bool = Field(description="the rounds end here; this document names the network the study's MD uses")
    handed_on_round: int | None = Field(None, description="final round: the round whose network the study uses "
                                                          "(settings.hand_on)")
    handed_on_sha256: str | None = Field(None, description="final round: that network's model_sha256")
    handed_on_model_path: str | None = Field(None, description="final round: that network's model.json")
    handed_on_training_frame_files: list[str] | None = Field(
        None, description="final round: the frame files that network was trained on (training.networks > 1: the "
                          "other networks train on them too)")
    settings: dict
    wall_time_s: dict = Field(default_factory=dict, description="train, explore, deviation, label")
    plot_path: str | None = None
    fw_id: int | None = None


def confirmation_findings(record: dict) -> list[str]:
    """What a round's ``confirmation`` found, as short phrases (the round's log line and the report's cell)."""
    found = []
    if record.get("worst_run_force_rmse_eV_A") is not None:
        found.append(f"worst run {record['worst_run_force_rmse_eV_A']:.3f} eV/A")
    if record.get("fraction_above_lo") is not None:
        found.append(f"{100 * record['fraction_above_lo']:.1f} % above trust_lo")
    if record.get("n_beyond_data"):
        found.append(f"{record['n_beyond_data']} frames beyond the data ({record['beyond_data_max_eV']:.3g} eV)")
    return found + [f"{r['cell']} {r['status']}" for r in record.get("runs", []) if r.get("status") != "completed"]
