import numpy as np
import pytest
from pymatgen.analysis.ewald import EwaldSummation

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.structures.hosts import LGPS_OXIDATION_STATES
from dopant_workflows.structures.substitutions import (
    SpeciesSwap,
    dopant_oxidation_state,
    enumerate_substitutions,
    plan_substitutions,
)
from tests.helpers import lgps_charge

PAPER = {1: ("Li60Si7P11S71Cl1", 1 / 150), 2: ("Li60Si8P10S70Cl2", 2 / 150), 3: ("Li60Si9P9S69Cl3", 3 / 150)}


@pytest.fixture(scope="module")
def paper_substitutions(lsips):
    return enumerate_substitutions(lsips, "Cl:S", "Si:P", [3, 1, 1], [1, 2, 3], max_per_count=2)


def test_paper_formulas_fractions_and_neutrality(paper_substitutions):
    best = {s.dopant_count: s for s in paper_substitutions if s.rank == 0}
    assert sorted(best) == [1, 2, 3]
    for count, (formula, fraction) in PAPER.items():
        sub = best[count]
        assert sub.formula == formula
        assert sub.dopant_fraction == pytest.approx(fraction)
        assert sub.n_sites == 150
        assert lgps_charge(sub.structure) == 0
        assert sub.summary()["dopant_percent"] == pytest.approx(100 * fraction, abs=1e-3)


def test_site_changes_describe_the_structure(paper_substitutions, lsips):
    sub = next(s for s in paper_substitutions if s.dopant_count == 1 and s.rank == 0)
    # from 3 Cl in 3x1x1 to 1: two Cl -> S and two Si -> P
    assert sorted((c.old, c.new) for c in sub.site_changes) == [("Cl", "S"), ("Cl", "S"), ("Si", "P"), ("Si", "P")]
    supercell = lsips * (3, 1, 1)
    for change in sub.site_changes:
        assert supercell[change.index].specie.symbol == change.old
        assert np.allclose(supercell[change.index].frac_coords, change.frac_coords, atol=1e-5)


def test_ranks_are_ordered_by_ewald_energy_and_symmetry_distinct(paper_substitutions):
    one_cl = [s for s in paper_substitutions if s.dopant_count == 1]
    assert [s.rank for s in one_cl] == [0, 1]
    assert one_cl[0].ewald_energy_eV < one_cl[1].ewald_energy_eV
    assert one_cl[0].id != one_cl[1].id
    # the reported energy is the Ewald energy of the reported structure
    charged = one_cl[0].structure.copy()
    charged.add_oxidation_state_by_element(LGPS_OXIDATION_STATES)
    assert EwaldSummation(charged).total_energy == pytest.approx(one_cl[0].ewald_energy_eV, abs=1e-6)
    # the host count has exactly one configuration: the host supercell itself
    three_cl = [s for s in paper_substitutions if s.dopant_count == 3]
    assert len(three_cl) == 1 and three_cl[0].site_changes == ()


def test_ids_are_stable_across_runs(paper_substitutions, lsips):
    again = enumerate_substitutions(lsips, "Cl:S", "Si:P", [3, 1, 1], [1, 2, 3], max_per_count=2)
    assert [s.id for s in again] == [s.id for s in paper_substitutions]
    assert all(s.id.startswith(s.formula + "-") for s in again)


def test_forward_doping_of_lgps_and_beam_search_matches_exhaustive(lgps):
    exhaustive = enumerate_substitutions(lgps, "Cl:S", "Ge:P", [1, 1, 1], [2], max_per_count=3)
    beam = enumerate_substitutions(lgps, "Cl:S", "Ge:P", [1, 1, 1], [2], max_per_count=3, max_exhaustive=0)
    assert [s.enumeration for s in exhaustive] == ["exhaustive"] * 3
    assert [s.enumeration for s in beam] == ["beam"] * 3
    assert exhaustive[0].formula == "Li20Ge4P2S22Cl2"
    assert lgps_charge(exhaustive[0].structure) == 0
    # the beam cannot beat the exhaustive optimum, and here it finds it
    assert beam[0].ewald_energy_eV == pytest.approx(exhaustive[0].ewald_energy_eV, abs=1e-8)
    assert beam[0].id == exhaustive[0].id


def test_count_zero_of_undoped_host_is_the_host(lgps):
    (sub,) = enumerate_substitutions(lgps, "Cl:S", "Ge:P", [1, 1, 2], [0])
    assert sub.formula == "Li40Ge4P8S48"
    assert sub.dopant_fraction == 0


def test_isovalent_dopant_needs_no_compensation(lgps):
    (sub,) = enumerate_substitutions(lgps, "Se:S", None, [1, 1, 1], [1])
    assert sub.formula == "Li20Ge2P4Se1S23"  # pymatgen orders by electronegativity


def test_dopant_oxidation_states_follow_the_replaced_ion():
    assert dopant_oxidation_state("Cl", -2) == -1
    assert dopant_oxidation_state("Si", 5) == 4
    assert dopant_oxidation_state("Ge", 5) == 4
    assert dopant_oxidation_state("Cl", -2, {"Cl": -1}) == -1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dopant": "Cl:O"}, r"dopant rule Cl:O: the host .* contains no O"),
        ({"dopant": "Xx:S"}, r"dopant rule 'Xx:S': 'Xx' is not an element"),
        ({"dopant": "ClS"}, r"expected NEW:OLD"),
        ({"compensate": None}, r"compensation rule .* is needed to restore neutrality"),
        ({"compensate": "Li:P"}, r"0.25 compensating substitutions"),
        ({"compensate": "Br:P"}, r"compensation rule Br:P: .*no common oxidation state|cannot cancel"),
        ({"compensate": "Ca:Sr"}, r"compensation rule Ca:Sr: the host .* contains neither Sr nor Ca"),
        ({"counts": [25]}, r"count 25 needs 25 S sites but the supercell has only 24"),
        ({"counts": [5]}, r"count 5 needs 5 P sites but the supercell has only 4; neutrality cannot be restored"),
        ({"counts": [1, 1]}, r"counts \[1, 1\]: duplicate value\(s\) \[1\]"),
        ({"counts": [-1]}, r"expected non-negative integers"),
        ({"counts": []}, r"at least one dopant count"),
        ({"supercell": [0, 1, 1]}, r"supercell \[0, 1, 1\]: every entry must be a positive integer"),
        ({"supercell": [2, -1, 1]}, r"every entry must be a positive integer"),
        ({"supercell": [1.5, 1, 1]}, r"expected 3 positive integers"),
        ({"supercell": [1, 1]}, r"expected 3 positive integers"),
        ({"max_per_count": 0}, r"max_per_count 0: expected a positive integer"),
    ],
)
def test_bad_requests_name_the_input(lgps, kwargs, message):
    request = {"dopant": "Cl:S", "compensate": "Ge:P", "supercell": [1, 1, 1], "counts": [1], "max_per_count": 1}
    request.update(kwargs)
    with pytest.raises(DopwfInputError, match=message):
        enumerate_substitutions(
            lgps, request["dopant"], request["compensate"], request["supercell"], request["counts"],
            request["max_per_count"],
        )


def test_disordered_host_is_refused():
    from pymatgen.core import Lattice, Structure

    disordered = Structure(Lattice.cubic(4), [{"Li": 0.5}, "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(DopwfInputError, match="disordered"):
        enumerate_substitutions(disordered, "Br:Cl", None, [1, 1, 1], [1])


def test_species_swap_round_trip():
    assert str(SpeciesSwap.parse("Cl:S")) == "Cl:S"
    with pytest.raises(DopwfInputError, match="the same"):
        SpeciesSwap.parse("S:S")


def test_rules_that_would_be_silently_ignored_are_refused(lsips):
    """An isovalent dopant with a compensation rule (nothing to compensate), oxidation states for an element the
    request never touches: both are typos or misunderstandings, named."""
    with pytest.raises(DopwfInputError, match="Br-1 on Cl-1 leaves the charge unchanged"):
        plan_substitutions(lsips, "Br:Cl", "Si:P", [1, 1, 1], [1])
    with pytest.raises(DopwfInputError, match="oxidation states for Xx: no such element"):
        plan_substitutions(lsips, "Cl:S", "Si:P", [1, 1, 1], [1], oxidation_states={"Xx": 1})
    plan_substitutions(lsips, "Br:Cl", None, [1, 1, 1], [1])  # isovalent, no rule: fine


def test_li_vacancy_compensation_removes_one_li_per_added_charge(lsips):
    """Cl on S adds +1 per dopant; vacancy:Li removes one Li+ each: Li6-xPS5-xCl1+x-style doping. Dopant and
    vacancy sites are ranked together; the cell stays neutral, counted again from its final composition."""
    subs = enumerate_substitutions(lsips, "Cl:S", "vacancy:Li", [3, 1, 1], [4], max_per_count=2)
    assert [s.formula for s in subs] == ["Li59Si9P9S68Cl4"] * 2 and [s.rank for s in subs] == [0, 1]
    best = subs[0]
    assert best.n_sites == 149 and best.net_charge_e == 0 and lgps_charge(best.structure) == 0
    assert sorted((c.old, c.new) for c in best.site_changes) == [("Li", "vacancy"), ("S", "Cl")]
    removed = next(c for c in best.site_changes if c.new == "vacancy")
    supercell = lsips * (3, 1, 1)
    assert supercell[removed.index].specie.symbol == "Li"
    assert not any(np.allclose(site.frac_coords, removed.frac_coords, atol=1e-4) for site in best.structure)
    assert subs[0].ewald_energy_eV <= subs[1].ewald_energy_eV
    assert best.summary()["site_changes"][0]["new"] in ("vacancy", "Cl")


def test_vacancies_cannot_be_refilled_or_be_the_dopant(lsips):
    with pytest.raises(DopwfInputError, match=r"count 2 is below the 3 Cl the host holds; removing dopants would "
                                              r"refill 1 Li vacancies the host does not record"):
        enumerate_substitutions(lsips, "Cl:S", "vacancy:Li", [3, 1, 1], [2])
    with pytest.raises(DopwfInputError, match="a vacancy compensates a dopant's charge; it is not a dopant"):
        enumerate_substitutions(lsips, "vacancy:Li", None, [1, 1, 1], [1])
    with pytest.raises(DopwfInputError, match=r"the host \(.*\) contains no Na to remove"):
        enumerate_substitutions(lsips, "Cl:S", "vacancy:Na", [1, 1, 1], [2])
    assert str(SpeciesSwap.parse("Vacancy:Li", vacancy=True)) == "vacancy:Li"
