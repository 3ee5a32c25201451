"""diffusivity -> conductivity: per study and composition, the pooled Arrhenius fit, its 300 K extrapolation and
the study's ranking."""

from __future__ import annotations

import math

import numpy as np
from maggma.core import Builder

from dopant_workflows.analysis.ranking import rank_by_conductivity
from dopant_workflows.analysis.replicas import ArrangementAgreement, arrangement_agreement, network_agreement
from dopant_workflows.analysis.transport import transport_from_runs
from dopant_workflows.analysis.vtf import compare_models
from dopant_workflows.db import LEGACY_FLAG
from dopant_workflows.errors import DopwfInputError
from dopant_workflows.names import study_substitution_id
from dopant_workflows.schemas.base import as_utc
from dopant_workflows.schemas.results import ConductivityDocument


def study_query(study: str | None) -> dict:
    """The source criteria of a builder restricted to one study ({}: every study, each grouped on its own)."""
    return {"study": study} if study else {}


def composition_of(document: dict) -> str:
    """The composition a run, dielectric or result document belongs to: its ``composition_id``, or (documents
    from before arrangements were pooled, and dielectric records) its formula."""
    return document.get("composition_id") or document["formula"]


def group_of(document: dict) -> str:
    """A document's group: its study and composition (never the composition alone: two studies of one
    composition, e.g. another seed, are two results); a composition's arrangements are one group."""
    return study_substitution_id(document["study"], composition_of(document))


def drop_legacy(target) -> None:
    """Remove target documents written before the target's key existed (keyed by substitution alone, possibly
    built from several studies' runs; or by study and substitution, before a composition's arrangements were
    pooled): they are derived, rebuilt from their sources by this build, and would
    otherwise stand beside their rebuilt twins. MongoDB hands them back without the key; the JSON files, keyed
    on reading (``db.with_study_key``), with the ``legacy_layout`` flag."""
    for criteria in ({target.key: {"$exists": False}}, {LEGACY_FLAG: True}, {"composition_id": {"$exists": False}}):
        if target.count(criteria):  # a JSON store rewrites its file on every removal
            target.remove_docs(criteria)


def group_newer(sources, target, criteria: dict, extra=None):
    """(group, source documents, newest source time) of every (study, substitution) group with a source document
    newer than the sources its target document was built from (or with no target document yet). ``extra(documents)``
    gives further source documents of a group (e.g. its networks' validation documents) whose times count too."""
    built = {d[target.key]: as_utc(d.get("sources_last_updated")) for d in target.query(
        criteria, properties=[target.key, "sources_last_updated"])}
    groups: dict[str, list[dict]] = {}
    for document in sources.query(criteria):
        groups.setdefault(group_of(document), []).append(document)
    for group, documents in groups.items():
        newest = max(as_utc(d.get("last_updated")) for d in [*documents, *(extra(documents) if extra else [])])
        if group not in built or newest > built[group]:
            yield group, documents, newest


def ensemble_of(run: dict) -> str:
    """The networks a run belongs to: its ensemble's key (network 0's sha256; training.networks), else its own
    network's sha256 ("" when unknown)."""
    return run.get("ensemble_sha256") or run.get("model_sha256") or ""


def validation_status(runs: list[dict], validations: list[dict]) -> tuple[bool | None, list[str]]:
    """Whether the networks behind ``runs`` (diffusivity documents) passed validation, and their production runs
    kept the core repulsion a safety net. None: no validation document for some network (validation off or
    not run yet); False: a failed or skipped validation, or a production run beyond the core-repulsion limit.
    Networks trained together (an ensemble) are validated together: one document, keyed by network 0, covers
    every run of any of them."""
    notes: list[str] = []
    status: bool | None = True
    for sha in sorted({ensemble_of(r) for r in runs}):
        docs = [v for v in validations if v.get("model_sha256") == sha] if sha else []
        if not docs:
            notes.append(f"network {sha[:12] or '(unknown)'}: no validation document")
            status = None if status is not False else False
            continue
        document = max(docs, key=lambda v: as_utc(v.get("last_updated")))
        if document["status"] != "passed":
            status = False
            notes.append(f"network {sha[:12]}: validation {document['status']}: " + "; ".join(document["reasons"]))
        limit = document.get("thresholds", {}).get("core_repulsion_eV")
        for run in runs:
            wall = run.get("core_repulsion_max_eV")
            if ensemble_of(run) == sha and limit is not None and wall is not None and wall > limit:
                status = False
                notes.append(f"production MD at {run['temperature_K']:g} K: core repulsion reached {wall:.3g} eV "
                             f"(limit {limit:g} eV): the wall, not the network, shaped that run")
    return status, notes


class ConductivityBuilder(Builder):
    """Rebuilds a study whenever one of its diffusivity documents is newer than the sources of its composition's
    conductivity document (a new temperature, a run redone in place, a new arrangement): every composition of the
    study is refitted, because the ranking compares them all. One document per (study, composition): its
    arrangements' runs pooled per temperature, the Arrhenius fit, sigma(300 K) with its 95 % interval, each
    arrangement's own fit and whether they agree, and the composition's ``rank`` in the study with
    ``p_above_next``. ``study``: build that study only (default: every study in the database, each on its own; a
    study never reads another's runs or validations). ``studies``: the studies' plans (what each asks for now):
    runs at a temperature the study no longer lists are left out of its fit and named in the document's
    warnings; a study without a plan (submitted as a file with ``lpad add``) fits every run it has."""

    def __init__(self, diffusivity, conductivity, validation=None, study: str | None = None, studies=None,
                 precision=None, **kwargs):
        self.diffusivity, self.conductivity, self.validation, self.study = diffusivity, conductivity, validation, study
        self.studies, self.precision = studies, precision
        sources = [diffusivity] + [s for s in (validation, studies, precision) if s is not None]
        super().__init__(sources=sources, targets=[conductivity], **kwargs)

    def get_items(self):
        criteria = study_query(self.study)
        drop_legacy(self.conductivity)
        validations = list(self.validation.query(criteria)) if self.validation is not None else []
        plans = {p["study"]: p for p in self.studies.query(criteria)} if self.studies is not None else {}
        checks = {group_of(p): p for p in self.precision.query(criteria)} if self.precision is not None else {}

        def networks_validations(runs):
            """The validations of the runs' networks in the runs' own study."""
            shas, study = {ensemble_of(r) for r in runs}, runs[0]["study"]
            return [v for v in validations if v.get("model_sha256") in shas and v.get("study") == study]

        def extra(runs):  # a changed plan (a temperature dropped) or a new precision verdict rebuilds too
            plan, check = plans.get(runs[0]["study"]), checks.get(group_of(runs[0]))
            return networks_validations(runs) + ([plan] if plan else []) + ([check] if check else [])

        stale = {runs[0]["study"] for _, runs, _ in group_newer(self.diffusivity, self.conductivity, criteria,
                                                                extra=extra)}
        for study in sorted(stale):
            groups: dict[str, list[dict]] = {}
            for document in self.diffusivity.query({"study": study}):
                groups.setdefault(composition_of(document), []).append(document)
            plan = plans.get(study)
            yield {"study": study, "compositions": [
                {"runs": runs, "validations": networks_validations(runs), "precision": checks.get(group_of(runs[0])),
                 "sources_last_updated": max(as_utc(d.get("last_updated")) for d in [*runs, *extra(runs)])}
                for runs in groups.values()],
                "planned_temperatures_K": plan["temperatures_K"] if plan else None}

    def process_item(self, item: dict) -> list[dict]:
        """The study's conductivity documents (a failed composition: maggma's ``state: failed`` item), ranked."""
        documents = [self._composition(c, item.get("planned_temperatures_K")) for c in item["compositions"]]
        built = [d for d in documents if d.get("state") != "failed"]
        ranked = rank_by_conductivity([(d["composition_id"], math.log(d["conductivity_300K_mS_cm"]),
                                        d.pop("_ln_conductivity_std")) for d in built])
        by_key = {r.key: r for r in ranked}
        for document in built:
            r = by_key[document["composition_id"]]
            document.update(rank=r.rank, p_above_next=r.p_above_next, tied_with_next=r.tied_with_next,
                            p_best=r.p_best, n_ranked=len(ranked))
        return documents

    def _composition(self, composition: dict, planned) -> dict:
        runs = sorted(composition["runs"], key=lambda d: (d["temperature_K"], d["substitution_id"]))
        dropped = []
        if planned is not None:
            dropped = sorted({r["temperature_K"] for r in runs
                              if not any(abs(r["temperature_K"] - t) < 1e-6 for t in planned)})
            runs = [r for r in runs if r["temperature_K"] not in dropped]
        not_planned = [f"runs at {', '.join(f'{t:g}' for t in dropped)} K are not among the study's temperatures "
                       f"({', '.join(f'{t:g}' for t in planned)} K) any more: kept in the database, not fitted"
                       ] if dropped else []
        first = composition["runs"][0]
        key = study_substitution_id(first["study"], composition_of(first))
        try:
            if not runs:
                raise DopwfInputError("no MD run at the study's temperatures yet")
            transport = transport_from_runs(runs)
        except DopwfInputError as exc:
            return {"conductivity_id": key, "state": "failed", "error": "; ".join([str(exc), *not_planned])}
        first, fit = runs[0], transport.fit
        validated, validation_notes = validation_status(runs, composition.get("validations", []))
        networks = sorted({r.get("model_sha256") or "" for r in runs})
        ensembles = sorted({ensemble_of(r) for r in runs})
        mixed = [f"the runs come from {len(ensembles)} networks trained apart "
                 f"({', '.join(n[:12] or '(unknown)' for n in ensembles)}): one Arrhenius fit across them mixes their "
                 "physics"] if len(ensembles) > 1 else []
        arrangements, agreement = _arrangements(runs, transport.at_K)
        by_network, network_check = _networks(runs, transport.at_K) if len(networks) > 1 and len(ensembles) == 1 \
            else ([], None)
        check = composition.get("precision") or {}
        points = transport.points
        evidence = compare_models([p["temperature_K"] for p in points], [p["diffusivity_cm2_s"] for p in points],
                                  [p.get("diffusivity_std_cm2_s") or 0.0 for p in points])
        curved = [f"the D(T) points favour a Vogel-Fulcher-Tammann law over Arrhenius (ln Bayes factor "
                  f"{evidence.ln_bayes_factor:.1f}, T0 ~ {evidence.vtf_t0_K:.0f} K): Ea and the 300 K "
                  "extrapolation assume one straight line"] if evidence is not None and evidence.non_arrhenius else []
        eas = [a["activation_energy_eV"] for a in arrangements if a["activation_energy_eV"] is not None]
        disagree = [f"its {len(arrangements)} arrangements disagree beyond their errors (chi2 = {agreement.chi2:.1f} "
                    f"on {agreement.degrees_of_freedom} dof, p = {agreement.p_value:.2g}): where the dopants sit "
                    "matters here; the pooled fit's error covers their scatter"] if agreement.agree is False else []
        disagree += [f"its {len(by_network)} networks, trained on the same data, disagree beyond the MD's errors "
                     f"(chi2 = {network_check.chi2:.1f} on {network_check.degrees_of_freedom} dof, p = "
                     f"{network_check.p_value:.2g}): the training, not the sampling, limits D here; the pooled fit's "
                     "error covers their scatter"] if network_check is not None and network_check.agree is False else []
        network_eas = [n["activation_energy_eV"] for n in by_network if n["activation_energy_eV"] is not None]
        return ConductivityDocument(
            composition_id=composition_of(first), substitution_ids=sorted({r["substitution_id"] for r in runs}),
            study=first["study"], formula=first["formula"], dopant=first.get("dopant"), group=first.get("group"),
            dopant_count=first.get("dopant_count"), dopant_fraction=first["dopant_fraction"],
            temperatures_K=[p["temperature_K"] for p in transport.points], n_runs=transport.n_runs,
            runs_per_temperature={f"{p['temperature_K']:g}": p.get("n_runs", 1) for p in transport.points},
            production_ps_per_temperature=_production_ps(runs), fit_window_fs=_fit_windows(runs),
            stopped_on=check.get("status") if check.get("status") in ("precision", "budget") else None,
            precision_target_std_eV=check.get("target_std_eV"), precision_rounds=check.get("round"),
            activation_energy_eV=fit.activation_energy_eV,
            activation_energy_std_eV=_finite(fit.activation_energy_std_eV), prefactor_cm2_s=fit.prefactor_cm2_s,
            extrapolation_temperature_K=transport.at_K, diffusivity_300K_cm2_s=transport.diffusivity_cm2_s,
            diffusivity_300K_95_cm2_s=transport.diffusivity_95_cm2_s,
            conductivity_300K_mS_cm=transport.conductivity_mS_cm,
            conductivity_300K_95_mS_cm=transport.conductivity_95_mS_cm,
            diffusivity_300K_components_cm2_s=transport.diffusivity_components_cm2_s, linear=fit.linear,
            vtf_ln_bayes_factor=evidence.ln_bayes_factor if evidence else None,
            non_arrhenius=evidence.non_arrhenius if evidence else None, arrangements=arrangements,
            arrangement_spread_eV=max(eas) - min(eas) if len(eas) > 1 else None,
            arrangements_agree=agreement.agree, arrangements_p_value=agreement.p_value, networks=by_network,
            network_spread_eV=max(network_eas) - min(network_eas) if len(network_eas) > 1 else None,
            networks_agree=network_check.agree if network_check else None,
            networks_p_value=network_check.p_value if network_check else None,
            warnings=list(fit.warnings) + curved + mixed + disagree + not_planned, validated=validated,
            validation_notes=validation_notes, model_sha256=networks, builder=type(self).__name__,
            sources_last_updated=composition["sources_last_updated"],
        ).model_dump() | {"_ln_conductivity_std": _finite(transport.ln_conductivity_std)}

    def update_targets(self, items: list) -> None:
        documents = [d for item in items for d in (item if isinstance(item, list) else [item])
                     if d.get("state") != "failed"]
        if documents:
            self.conductivity.update(documents)


def _arrangements(runs: list[dict], at_K: float) -> tuple[list[dict], ArrangementAgreement]:
    """Each arrangement's own Arrhenius fit (where it ran at two temperatures or more), and their agreement."""
    fits = _replica_fits(runs, at_K, lambda r: r["substitution_id"], lambda sub, own: {
        "substitution_id": sub, "arrangement": own[0].get("arrangement")})
    return fits, arrangement_agreement(runs)


def _networks(runs: list[dict], at_K: float) -> tuple[list[dict], ArrangementAgreement]:
    """Each network's own Arrhenius fit over the runs it made (where they span two temperatures or more), and
    whether the networks agree (``network_agreement``)."""
    fits = _replica_fits(runs, at_K, lambda r: int(r.get("network") or 0), lambda k, own: {
        "network": k, "model_sha256": own[0].get("model_sha256")})
    return fits, network_agreement(runs)


def _replica_fits(runs: list[dict], at_K: float, key, describe) -> list[dict]:
    """One entry per replica (``key(run)``: its arrangement or network), ``describe(replica, its runs)`` plus its
    own Arrhenius fit where its runs span two temperatures or more (None fields otherwise)."""
    out = []
    for replica in sorted({key(r) for r in runs}):
        own = [r for r in runs if key(r) == replica]
        entry = {**describe(replica, own), "n_runs": len(own), "activation_energy_eV": None,
                 "activation_energy_std_eV": None, "conductivity_300K_mS_cm": None}
        try:
            transport = transport_from_runs(own, at_K)
        except DopwfInputError:
            out.append(entry)
            continue
        entry.update(activation_energy_eV=transport.fit.activation_energy_eV,
                     activation_energy_std_eV=_finite(transport.fit.activation_energy_std_eV),
                     conductivity_300K_mS_cm=transport.conductivity_mS_cm)
        out.append(entry)
    return out


def _fit_windows(runs: list[dict]) -> dict[str, list[float]]:
    """Per temperature, the MSD fit's lags over the runs there (fs): the latest start, the earliest end."""
    windows: dict[str, list[float]] = {}
    for r in runs:
        window = r.get("fit_window_fs")
        if window:
            key = f"{r['temperature_K']:g}"
            old = windows.get(key, [0.0, float("inf")])
            windows[key] = [max(old[0], window[0]), min(old[1], window[1])]
    return windows


def _production_ps(runs: list[dict]) -> dict[str, float]:
    """Production picoseconds per temperature over all of a composition's runs (what precision costs)."""
    total: dict[str, float] = {}
    for r in runs:
        if r.get("production_ps") is not None:
            key = f"{r['temperature_K']:g}"
            total[key] = total.get(key, 0.0) + float(r["production_ps"])
    return total


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else float("nan")
