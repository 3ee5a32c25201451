"""Dopant substitutions with charge compensation: symmetry-distinct configurations ranked by Ewald energy.

A study names a dopant rule ``Cl:S`` (Cl on S sites) and a compensation rule ``Si:P`` (Si on P sites). A dopant
count is the number of dopant atoms in the supercell. When the host already holds dopants (the paper's
Li20Si3P3S23Cl has one Cl per cell, three in 3x1x1) a lower count reverses both rules: each Cl removed becomes
S, and the compensation is undone (Si -> P) as often as neutrality needs. This gives the paper's
Li60Si7P11S71Cl1, Li60Si8P10S70Cl2 and Li60Si9P9S69Cl3 for counts 1, 2, 3.

Configurations are enumerated exhaustively when their number is at most ``max_exhaustive``; otherwise by a
beam search that adds one dopant (with its compensators) at a time and keeps the ``beam_width`` lowest-energy
symmetry-distinct partial patterns. Each result says which method produced it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition, Element, Structure

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.structures.ewald import EwaldSiteModel
from dopant_workflows.structures.io import check_periodic_structure, structure_fingerprint
from dopant_workflows.structures.symmetry import canonical_key, site_permutations

DEFAULT_MAX_EXHAUSTIVE = 200_000
DEFAULT_BEAM_WIDTH = 24
#: the "element" of a compensation rule that removes atoms: ``vacancy:Li`` takes one Li out per unit of charge
VACANCY = "vacancy"


@dataclass(frozen=True)
class SpeciesSwap:
    """``new`` element placed on sites of the ``old`` element (written ``new:old``, e.g. ``Cl:S``); ``new`` may be
    ``vacancy`` (``vacancy:Li``: the ``old`` atom is removed), in a compensation rule only."""

    new: str
    old: str

    @classmethod
    def parse(cls, text: str, option: str = "rule", vacancy: bool = False) -> SpeciesSwap:
        parts = [p.strip() for p in str(text).split(":")]
        if len(parts) != 2 or not all(parts):
            example = "Si:P or vacancy:Li" if vacancy else "Cl:S"
            raise DopwfInputError(f"{option} {text!r}: expected NEW:OLD with two element symbols, e.g. {example}")
        if parts[0].lower() == VACANCY:
            if not vacancy:
                raise DopwfInputError(f"{option} {text!r}: a vacancy compensates a dopant's charge; it is not a "
                                      "dopant (write it as the compensation, e.g. compensate: vacancy:Li)")
            parts[0] = VACANCY
        for symbol in parts[parts[0] == VACANCY:]:
            if not Element.is_valid_symbol(symbol):
                raise DopwfInputError(f"{option} {text!r}: {symbol!r} is not an element symbol")
        if parts[0] == parts[1]:
            raise DopwfInputError(f"{option} {text!r}: the new and the replaced element are the same")
        return cls(*parts)

    @property
    def is_vacancy(self) -> bool:
        return self.new == VACANCY

    def __str__(self) -> str:
        return f"{self.new}:{self.old}"


def _as_swap(value: SpeciesSwap | str, option: str, vacancy: bool = False) -> SpeciesSwap:
    return value if isinstance(value, SpeciesSwap) else SpeciesSwap.parse(value, option, vacancy)


@dataclass(frozen=True)
class SiteChange:
    """One site of the supercell that changed species."""

    index: int
    old: str
    new: str
    frac_coords: tuple[float, float, float]


@dataclass(frozen=True)
class Substitution:
    """One doped supercell, with what was substituted and how it was chosen."""

    structure: Structure = field(repr=False)
    dopant: str
    dopant_count: int
    dopant_fraction: float  # atomic fraction of the dopant in the cell (dimensionless)
    site_changes: tuple[SiteChange, ...]
    ewald_energy_eV: float
    rank: int  # 0 = lowest Ewald energy among the symmetry-distinct configurations of this count
    enumeration: str  # "exhaustive" or "beam"
    n_candidates: int  # configurations scored (before symmetry reduction)
    id: str
    dopant_oxidation_state: float | None = None  # e.g. -1 for Cl on S: the dopant is an anion
    group: str | None = None  # the study's substitution group (its rules, e.g. "Cl:S + vacancy:Li")
    net_charge_e: float | None = None  # sum of the oxidation states over the doped cell's atoms: 0 when neutral

    @property
    def composition_id(self) -> str:
        """What a study pools over arrangements: the cell's formula (its arrangements share it; the rank tells
        them apart)."""
        return self.formula

    @property
    def meta(self) -> dict:
        """What a run of this cell records about it (MD documents, builders)."""
        return {"id": self.id, "formula": self.formula, "dopant": self.dopant, "dopant_count": self.dopant_count,
                "dopant_fraction": self.dopant_fraction, "dopant_oxidation_state": self.dopant_oxidation_state,
                "composition_id": self.composition_id, "arrangement": self.rank, "group": self.group}

    @property
    def formula(self) -> str:
        return self.structure.composition.formula.replace(" ", "")

    @property
    def n_sites(self) -> int:
        return len(self.structure)

    def summary(self) -> dict:
        """JSON-ready description (no structure)."""
        return {
            "id": self.id,
            "formula": self.formula,
            "dopant": self.dopant,
            "dopant_count": self.dopant_count,
            "dopant_fraction": self.dopant_fraction,
            "dopant_oxidation_state": self.dopant_oxidation_state,
            "dopant_percent": round(100 * self.dopant_fraction, 4),
            "group": self.group,
            "composition_id": self.composition_id,
            "n_sites": self.n_sites,
            "net_charge_e": self.net_charge_e,
            "rank": self.rank,
            "ewald_energy_eV": self.ewald_energy_eV,
            "enumeration": self.enumeration,
            "n_candidates": self.n_candidates,
            "site_changes": [
                {"index": c.index, "old": c.old, "new": c.new, "frac_coords": list(c.frac_coords)}
                for c in self.site_changes
            ],
        }


@lru_cache(maxsize=64)
def _guess_oxidation_states(formula: str) -> tuple[tuple[str, float], ...]:
    guesses = Composition(formula).reduced_composition.oxi_state_guesses()
    if not guesses:
        raise DopwfInputError(
            f"host {formula}: no charge-neutral oxidation states found; pass them explicitly (e.g. Li:1,P:5,S:-2)"
        )
    return tuple(sorted(guesses[0].items()))


def host_oxidation_states(structure: Structure, given: dict[str, float] | None = None) -> dict[str, float]:
    """Oxidation states of the host's elements: ``given`` where supplied, else pymatgen's best neutral guess."""
    given = dict(given or {})
    elements = {el.symbol for el in structure.composition.elements}
    if elements <= set(given):
        return {el: float(given[el]) for el in elements}
    guessed = dict(_guess_oxidation_states(structure.composition.reduced_formula))
    guessed.update(given)
    return {el: float(guessed[el]) for el in elements}


def dopant_oxidation_state(element: str, replaced_charge: float, given: dict[str, float] | None = None) -> float:
    """Charge of ``element`` on a site whose host charge is ``replaced_charge``.

    The user's value if given; else the common oxidation state of the element with the same sign as the
    replaced ion, closest to it (Cl on S2- -> -1, Si on P5+ -> +4, Ge on P5+ -> +4).
    """
    if given and element in given:
        return float(given[element])
    candidates = [q for q in Element(element).common_oxidation_states if q * replaced_charge > 0]
    if not candidates:
        raise DopwfInputError(
            f"dopant {element}: has no common oxidation state of the sign of the ion it replaces "
            f"({replaced_charge:+g}); give one with oxidation_states"
        )
    return float(min(candidates, key=lambda q: (abs(q - replaced_charge), -abs(q))))


@dataclass(frozen=True)
class _Plan:
    """The site choices one dopant count needs: pick ``n_dopant`` of ``dopant_pool`` and ``n_comp`` of ``comp_pool``."""

    dopant_pool: tuple[int, ...]
    dopant_label: str
    dopant_charge: float
    n_dopant: int
    comp_pool: tuple[int, ...]
    comp_label: str
    comp_charge: float
    n_comp: int

    @property
    def n_combinations(self) -> int:
        return math.comb(len(self.dopant_pool), self.n_dopant) * math.comb(len(self.comp_pool), self.n_comp)


def _check_counts(counts: Sequence[int]) -> list[int]:
    counts = list(counts)
    if not counts:
        raise DopwfInputError("counts: expected at least one dopant count")
    bad = [c for c in counts if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 0]
    if bad:
        raise DopwfInputError(f"counts {counts}: expected non-negative integers, got {bad}")
    duplicates = sorted({c for c in counts if counts.count(c) > 1})
    if duplicates:
        raise DopwfInputError(f"counts {counts}: duplicate value(s) {duplicates}")
    return [int(c) for c in counts]


#: substitution cells at most this large: the Ewald site model stores N x N doubles (10,000 atoms: 0.75 GiB)
MAX_SUBSTITUTION_ATOMS = 10_000


def check_supercell(supercell: Sequence[int] | Sequence[Sequence[int]]) -> np.ndarray:
    """Validate a supercell (3 multipliers or a 3x3 integer matrix) and return it as a 3x3 matrix."""
    given = np.array(supercell, dtype=object)
    try:
        values = np.array(supercell, dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if values.shape not in ((3,), (3, 3)) or not np.all(np.isfinite(values)) or np.any(values % 1 != 0):
        raise DopwfInputError(
            f"supercell {given.tolist()}: expected 3 positive integers (e.g. 3 1 1) or a 3x3 integer matrix"
        )
    if values.shape == (3,):
        if np.any(values <= 0):
            raise DopwfInputError(f"supercell {given.tolist()}: every entry must be a positive integer")
        values = np.diag(values)
    if round(np.linalg.det(values)) <= 0:
        raise DopwfInputError(f"supercell {given.tolist()}: the matrix must have a positive determinant")
    return values.astype(int)


@dataclass(frozen=True)
class _ChargedSwap:
    """A swap rule with the charges it moves: ``new`` (charge ``q_new``) on sites of ``old`` (``q_old``)."""

    rule: SpeciesSwap
    q_new: float
    q_old: float

    @property
    def delta(self) -> float:
        return self.q_new - self.q_old

    def step(self, pools: dict[str, tuple[int, ...]], forward: bool) -> tuple[tuple[int, ...], str, float, str]:
        """(candidate sites, species put there, its charge, what the sites are) to apply or to undo the rule."""
        if forward:
            return pools.get(self.rule.old, ()), self.rule.new, self.q_new, f"{self.rule.old} sites"
        return pools.get(self.rule.new, ()), self.rule.old, self.q_old, f"{self.rule.new} atoms to revert"


def _charged_swaps(
    pools: dict[str, tuple[int, ...]],
    formula: str,
    dopant: SpeciesSwap,
    compensation: SpeciesSwap | None,
    oxidation_states: dict[str, float],
) -> tuple[_ChargedSwap, _ChargedSwap | None, Fraction]:
    """Charges of both rules and the number of compensating swaps per dopant; refuses rules that cannot work."""
    if dopant.old not in pools:
        raise DopwfInputError(f"dopant rule {dopant}: the host ({formula}) contains no {dopant.old}")
    q_old = oxidation_states[dopant.old]
    dop = _ChargedSwap(dopant, dopant_oxidation_state(dopant.new, q_old, oxidation_states), q_old)
    if compensation is not None and dop.delta == 0:
        raise DopwfInputError(
            f"compensation rule {compensation}: the dopant {dopant.new}{dop.q_new:+g} on {dopant.old}{q_old:+g} "
            "leaves the charge unchanged, so nothing is compensated; drop the compensation rule")
    if compensation is None:
        if dop.delta != 0:
            raise DopwfInputError(
                f"dopant rule {dopant}: {dopant.new}{dop.q_new:+g} on {dopant.old}{q_old:+g} changes the charge by "
                f"{dop.delta:+g} per dopant; a compensation rule (e.g. --compensate) is needed to restore neutrality"
            )
        return dop, None, Fraction(0)
    if compensation.is_vacancy and compensation.old not in pools:
        raise DopwfInputError(f"compensation rule {compensation}: the host ({formula}) contains no "
                              f"{compensation.old} to remove")
    if compensation.old not in pools and compensation.new not in pools:
        raise DopwfInputError(
            f"compensation rule {compensation}: the host ({formula}) contains neither {compensation.old} nor "
            f"{compensation.new}; host elements are {sorted(pools)}"
        )
    if compensation.is_vacancy:
        qc_old = oxidation_states[compensation.old]
        comp = _ChargedSwap(compensation, 0.0, qc_old)  # an empty site carries no charge
    else:
        qc_old = oxidation_states.get(compensation.old)
        if qc_old is None:  # the host holds only the compensating element, e.g. undoing Si:P in a P-free host
            qc_old = dopant_oxidation_state(compensation.old, oxidation_states[compensation.new], oxidation_states)
        comp = _ChargedSwap(compensation, dopant_oxidation_state(compensation.new, qc_old, oxidation_states), qc_old)
    if comp.delta == 0 or comp.delta * dop.delta > 0:
        raise DopwfInputError(
            f"compensation rule {compensation}: {compensation.new}{comp.q_new:+g} on {compensation.old}{qc_old:+g} "
            f"changes the charge by {comp.delta:+g}, which cannot cancel the dopant's {dop.delta:+g}"
        )
    per_dopant = Fraction(-dop.delta).limit_denominator(12) / Fraction(comp.delta).limit_denominator(12)
    return dop, comp, per_dopant


def _plans(
    cell: Structure,
    dopant: SpeciesSwap,
    compensation: SpeciesSwap | None,
    counts: list[int],
    oxidation_states: dict[str, float],
) -> dict[int, _Plan]:
    species = [site.specie.symbol for site in cell]
    pools = {el: tuple(i for i, s in enumerate(species) if s == el) for el in set(species)}
    dop, comp, per_dopant = _charged_swaps(
        pools, cell.composition.reduced_formula, dopant, compensation, oxidation_states
    )
    n_present = len(pools.get(dopant.new, ()))
    plans = {}
    for count in counts:
        change = count - n_present
        n_comp = abs(change) * per_dopant
        if n_comp.denominator != 1:
            raise DopwfInputError(
                f"counts: {abs(change)} dopant change(s) for count {count} need {float(n_comp):g} "
                f"compensating substitutions ({compensation}); choose counts that give whole numbers"
            )
        if change < 0 and n_comp and comp.rule.is_vacancy:
            raise DopwfInputError(
                f"counts: count {count} is below the {n_present} {dopant.new} the host holds; removing dopants would "
                f"refill {int(n_comp)} {compensation.old} vacancies the host does not record ({compensation}); "
                f"choose counts >= {n_present}, or a host without {dopant.new}")
        d_pool, d_label, d_charge, d_what = dop.step(pools, forward=change >= 0)
        c_pool, c_label, c_charge, c_what = comp.step(pools, forward=change >= 0) if comp else ((), "", 0.0, "")
        if abs(change) > len(d_pool):
            raise DopwfInputError(
                f"counts: count {count} needs {abs(change)} {d_what} but the supercell has only {len(d_pool)}"
            )
        if n_comp > len(c_pool):
            raise DopwfInputError(
                f"compensation rule {compensation}: count {count} needs {int(n_comp)} {c_what} but the "
                f"supercell has only {len(c_pool)}; neutrality cannot be restored"
            )
        plans[count] = _Plan(d_pool, d_label, d_charge, abs(change), c_pool, c_label, c_charge, int(n_comp))
    return plans


def _combinations(pool: Sequence[int], k: int) -> np.ndarray:
    """All k-subsets of ``pool`` as an (n, k) array; one empty row for k = 0."""
    rows = list(itertools.combinations(pool, k))
    return np.array(rows, dtype=int).reshape(len(rows), k)


def _score_exhaustive(plan: _Plan, model: EwaldSiteModel) -> tuple[np.ndarray, np.ndarray]:
    """All combinations as (n, k) site arrays with their energies."""
    dop = _combinations(plan.dopant_pool, plan.n_dopant)
    comp = _combinations(plan.comp_pool, plan.n_comp)
    sites = np.concatenate(
        [np.repeat(dop, len(comp), axis=0), np.tile(comp, (len(dop), 1))], axis=1
    )
    charges = np.array([plan.dopant_charge] * plan.n_dopant + [plan.comp_charge] * plan.n_comp)
    energies = np.empty(len(sites))
    for start in range(0, len(sites), 20_000):  # bounded memory for the (n, k, k) blocks
        chunk = sites[start : start + 20_000]
        energies[start : start + len(chunk)] = model.energies_eV(chunk, np.broadcast_to(charges, chunk.shape))
    return sites, energies


def _score_beam(plan: _Plan, model: EwaldSiteModel, perms: np.ndarray,
                beam_width: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Add one dopant (with its share of compensators) per step; keep the best distinct partial patterns."""
    steps = plan.n_dopant if plan.n_dopant else 1
    comp_per_step = [plan.n_comp // steps + (1 if s < plan.n_comp % steps else 0) for s in range(steps)]
    beam: list[tuple[tuple[int, ...], tuple[int, ...]]] = [((), ())]
    scored = 0
    for step in range(steps):
        candidates: dict[tuple, tuple[float, tuple[int, ...], tuple[int, ...]]] = {}
        n_dop_add = 1 if plan.n_dopant else 0
        for dop, comp in beam:
            free_dop = [i for i in plan.dopant_pool if i not in dop]
            free_comp = [i for i in plan.comp_pool if i not in comp]
            for add_d in itertools.combinations(free_dop, n_dop_add):
                for add_c in itertools.combinations(free_comp, comp_per_step[step]):
                    new_dop, new_comp = tuple(sorted(dop + add_d)), tuple(sorted(comp + add_c))
                    energy = model.energy_eV(
                        new_dop + new_comp,
                        [plan.dopant_charge] * len(new_dop) + [plan.comp_charge] * len(new_comp),
                    )
                    scored += 1
                    key = canonical_key(
                        [(i, plan.dopant_label) for i in new_dop] + [(i, plan.comp_label) for i in new_comp], perms
                    )
                    if key not in candidates or energy < candidates[key][0]:
                        candidates[key] = (energy, new_dop, new_comp)
        best = sorted(candidates.values(), key=lambda c: (round(c[0], 8), c[1], c[2]))[:beam_width]
        beam = [(d, c) for _, d, c in best]
    sites = np.array([d + c for d, c in beam], dtype=int).reshape(len(beam), -1)
    energies = np.array([e for e, _, _ in best])
    return sites, energies, scored


def plan_substitutions(
    host: Structure,
    dopant: SpeciesSwap | str,
    compensation: SpeciesSwap | str | None,
    supercell: Sequence[int] | Sequence[Sequence[int]],
    counts: Sequence[int],
    max_per_count: int = 1,
    oxidation_states: dict[str, float] | None = None,
) -> tuple[Structure, dict[str, float], dict[int, _Plan]]:
    """Validate a substitution request without scoring anything: (supercell, oxidation states, plan per count).

    Raises :class:`DopwfInputError` naming the first bad input (rule, count, supercell, host).
    """
    dopant = _as_swap(dopant, "dopant rule")
    compensation = None if compensation is None else _as_swap(compensation, "compensation rule", vacancy=True)
    counts = _check_counts(counts)
    matrix = check_supercell(supercell)
    if not isinstance(max_per_count, int) or max_per_count < 1:
        raise DopwfInputError(f"max_per_count {max_per_count!r}: expected a positive integer")
    check_periodic_structure(host, "host")
    involved = {el.symbol for el in host.composition} | {dopant.new} | (
        {compensation.old, compensation.new} - {VACANCY} if compensation else set())
    unused = sorted(set(oxidation_states or {}) - involved)
    if unused:
        raise DopwfInputError(f"oxidation states for {', '.join(unused)}: no such element in the host, the dopant or "
                              f"the compensation ({', '.join(sorted(involved))}); a typo?")
    if not host.is_ordered:
        raise DopwfInputError(
            f"host {host.composition.reduced_formula}: is disordered (partial occupancies); order it first"
        )
    ox = host_oxidation_states(host, oxidation_states)
    if abs(sum(ox[site.specie.symbol] for site in host)) > 1e-6:
        raise DopwfInputError(
            f"host {host.composition.formula}: not charge neutral with oxidation states {ox}"
        )
    n_atoms = len(host) * round(abs(np.linalg.det(matrix)))
    if n_atoms > MAX_SUBSTITUTION_ATOMS:
        raise DopwfInputError(
            f"supercell {matrix.tolist()}: {n_atoms:,} atoms ({len(host)} in the host); the Ewald ranking of "
            f"substitutions holds an N x N matrix ({8 * n_atoms ** 2 / 2 ** 30:.1f} GiB here): at most "
            f"{MAX_SUBSTITUTION_ATOMS:,} atoms (rank in a smaller cell and repeat it for larger MD)")
    cell = Structure(host.lattice, host.species, host.frac_coords) * matrix  # site labels do not survive doping
    return cell, ox, _plans(cell, dopant, compensation, counts, ox)


def enumerate_substitutions(
    host: Structure,
    dopant: SpeciesSwap | str,
    compensation: SpeciesSwap | str | None,
    supercell: Sequence[int] | Sequence[Sequence[int]],
    counts: Sequence[int],
    max_per_count: int = 1,
    oxidation_states: dict[str, float] | None = None,
    max_exhaustive: int = DEFAULT_MAX_EXHAUSTIVE,
    beam_width: int = DEFAULT_BEAM_WIDTH,
) -> list[Substitution]:
    """The ``max_per_count`` lowest-Ewald-energy symmetry-distinct doped supercells for each dopant count.

    All input is validated before any work: a bad rule, count or supercell raises :class:`DopwfInputError`.
    Results come ordered by the order of ``counts``, then by rank.
    """
    cell, ox, plans = plan_substitutions(
        host, dopant, compensation, supercell, counts, max_per_count, oxidation_states
    )
    model = EwaldSiteModel.from_structure(cell, ox)
    perms = site_permutations(cell)
    swap = _as_swap(dopant, "dopant rule")
    q_dopant = dopant_oxidation_state(swap.new, ox[swap.old], ox)
    results: list[Substitution] = []
    for count, plan in plans.items():
        # the charges of the final cell's atoms, counted again from its composition: the check that it is neutral
        charges = {**ox, plan.dopant_label: plan.dopant_charge, plan.comp_label: plan.comp_charge}
        if plan.n_combinations <= max_exhaustive:
            sites, energies = _score_exhaustive(plan, model)
            method, n_scored = "exhaustive", len(sites)
        else:
            sites, energies, n_scored = _score_beam(plan, model, perms, beam_width)
            method = "beam"
        order = np.lexsort((np.arange(len(energies)), np.round(energies, 8)))
        seen: set = set()
        for row in order:
            labels = [plan.dopant_label] * plan.n_dopant + [plan.comp_label] * plan.n_comp
            key = canonical_key(zip(sites[row].tolist(), labels, strict=True), perms)
            if key in seen:
                continue
            seen.add(key)
            built = _build(cell, sites[row], labels, swap.new, count, float(energies[row]), len(seen) - 1, method,
                           n_scored)
            net = sum(n * charges[el] for el, n in built.structure.composition.get_el_amt_dict().items())
            results.append(replace(built, dopant_oxidation_state=q_dopant, net_charge_e=round(float(net), 9)))
            if len(seen) == max_per_count:
                break
    return results


def _build(
    cell: Structure, sites: np.ndarray, labels: list[str], dopant: str, count: int,
    energy_eV: float, rank: int, method: str, n_scored: int,
) -> Substitution:
    structure = cell.copy()
    changes = []
    for index, label in zip(sites.tolist(), labels, strict=True):
        changes.append(SiteChange(index, cell[index].specie.symbol, label,
                                  tuple(round(float(x), 6) for x in cell[index].frac_coords)))
        if label != VACANCY:
            structure.replace(index, label)
    structure.remove_sites([c.index for c in changes if c.new == VACANCY])
    structure = structure.get_sorted_structure(key=lambda s: s.specie.X)
    formula = structure.composition.formula.replace(" ", "")
    fraction = count / len(structure)
    return Substitution(
        structure=structure,
        dopant=dopant,
        dopant_count=count,
        dopant_fraction=float(fraction),
        site_changes=tuple(sorted(changes, key=lambda c: c.index)),
        ewald_energy_eV=energy_eV,
        rank=rank,
        enumeration=method,
        n_candidates=n_scored,
        id=f"{formula}-{structure_fingerprint(structure)[:10]}",
    )
