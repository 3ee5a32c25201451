import pytest
from pymatgen.analysis.ewald import EwaldSummation

from dopant_workflows.structures.ewald import EwaldSiteModel
from dopant_workflows.structures.hosts import LGPS_OXIDATION_STATES


def test_incremental_energy_equals_direct_ewald_sum(lgps):
    model = EwaldSiteModel.from_structure(lgps, LGPS_OXIDATION_STATES)
    s_site = next(i for i, s in enumerate(lgps) if s.specie.symbol == "S")
    p_site = next(i for i, s in enumerate(lgps) if s.specie.symbol == "P")
    doped = lgps.copy()
    doped.replace(s_site, "Cl")
    doped.replace(p_site, "Ge")
    doped.add_oxidation_state_by_element(LGPS_OXIDATION_STATES)
    direct = EwaldSummation(doped).total_energy
    assert model.energy_eV([s_site, p_site], [-1, 4]) == pytest.approx(direct, abs=1e-6)
    batch = model.energies_eV([[s_site, p_site], [p_site, s_site]], [[-1, 4], [4, -1]])
    assert batch == pytest.approx([direct, direct], abs=1e-6)


def test_host_energy_is_the_plain_ewald_energy(lgps):
    model = EwaldSiteModel.from_structure(lgps, LGPS_OXIDATION_STATES)
    charged = lgps.copy()
    charged.add_oxidation_state_by_element(LGPS_OXIDATION_STATES)
    assert model.host_energy_eV == pytest.approx(EwaldSummation(charged).total_energy, abs=1e-6)
    assert model.energy_eV([], []) == pytest.approx(model.host_energy_eV)
