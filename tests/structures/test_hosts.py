import numpy as np
import pytest
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.structures.hosts import load_host
from tests.helpers import lgps_charge


def _neighbors(structure, index, element, r_max=2.4):
    return sorted(n.nn_distance for n in structure.get_neighbors(structure[index], r_max) if n.specie.symbol == element)


def _min_distance(structure, a, b):
    symbols = np.array([site.specie.symbol for site in structure])
    d = structure.distance_matrix[np.ix_(symbols == a, symbols == b)]
    return d[d > 1e-3].min()


def test_lgps_host_is_ordered_neutral_stoichiometric(lgps):
    assert lgps.is_ordered
    assert lgps.composition.formula.replace(" ", "") == "Li20Ge2P4S24"
    assert lgps_charge(lgps) == 0
    assert SpacegroupAnalyzer(lgps, symprec=0.01).get_space_group_symbol() == "P4_2mc"
    assert lgps.lattice.abc == pytest.approx((8.69407, 8.69407, 12.5994), abs=1e-4)


def test_lgps_host_has_intact_tetrahedra_and_sane_distances(lgps):
    for i, site in enumerate(lgps):
        if site.specie.symbol == "P" and site.properties["wyckoff"] == "2b":
            assert _neighbors(lgps, i, "S") == pytest.approx([1.961] * 4, abs=2e-3)
        if site.specie.symbol in ("Ge", "P") and site.properties["wyckoff"] == "4d":
            assert _neighbors(lgps, i, "S") == pytest.approx([2.122, 2.122, 2.145, 2.145], abs=2e-3)
    assert _min_distance(lgps, "Li", "S") > 2.3
    assert _min_distance(lgps, "Li", "Li") > 2.2
    assert _min_distance(lgps, "S", "S") > 3.0
    # Ge and P share the 4d sites half-half; the 2b sites stay P
    wyckoff_4d = [s.specie.symbol for s in lgps if s.properties["wyckoff"] == "4d" and s.specie.symbol != "Li"]
    assert sorted(wyckoff_4d) == ["Ge", "Ge", "P", "P"]


def test_lsips_host_matches_paper_cell(lsips):
    assert lsips.composition.formula.replace(" ", "") == "Li20Si3P3S23Cl1"
    assert lgps_charge(lsips) == 0
    on_4d = sorted(s.specie.symbol for s in lsips if s.properties["wyckoff"] == "4d" and s.specie.symbol != "Li")
    assert on_4d == ["P", "Si", "Si", "Si"]
    (cl,) = [i for i, s in enumerate(lsips) if s.specie.symbol == "Cl"]
    bonded = [n for n in lsips.get_neighbors(lsips[cl], 2.4)]
    assert [n.specie.symbol for n in bonded] == ["P"]
    assert lsips[bonded[0].index].properties["wyckoff"] == "2b"  # Cl in a P(2b)X4 tetrahedron
    assert lsips[cl].properties["wyckoff"] == "8g"
    for i, site in enumerate(lsips):
        if site.specie.symbol == "Si":
            assert len(_neighbors(lsips, i, "S")) == 4


def test_load_host_by_alias_and_from_file(tmp_path, lsips):
    assert load_host("lsips").composition == lsips.composition
    path = tmp_path / "host.cif"
    lsips.to(filename=str(path))
    from_file = load_host(path)
    assert from_file.composition == lsips.composition
    assert from_file.lattice.abc == pytest.approx(lsips.lattice.abc, abs=1e-4)


def test_unknown_host_names_input():
    with pytest.raises(DopwfInputError, match="host 'Li7La3Zr2O12'.*neither a built-in host"):
        load_host("Li7La3Zr2O12")


def test_host_cells_are_right_handed(lgps, lsips):
    for host in (lgps, lsips):
        assert np.linalg.det(host.lattice.matrix) > 0


_FINGERPRINTS = ("from dopant_workflows.structures.hosts import lgps_host, lsips_host; "
                 "from dopant_workflows.structures.io import structure_fingerprint as f; "
                 "print(f(lgps_host())[:10], f(lsips_host())[:10])")


@pytest.mark.parametrize("threads", ["1", "2"])
def test_built_in_hosts_are_the_same_cells_on_any_thread_count(threads):
    """The Ewald minimiser's choice among symmetry-equivalent orderings followed the rounding of its sums: with one
    BLAS thread LGPS and LSiPS came out as other (equivalent) cells with other ids, so a study resumed or run by
    a worker with another thread count named its cells differently. The canonical representative fixes them."""
    import os
    import subprocess
    import sys

    env = os.environ | {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    out = subprocess.run([sys.executable, "-c", _FINGERPRINTS], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["7e6ee7f30a", "b71d28bb42"]


def test_the_canonical_ordering_is_the_same_from_every_symmetry_image(lsips):
    """Every image of an ordering under the parent's space group has one representative: the LSiPS ordering of
    the LGPS sites, moved by each operation of LGPS's group, comes back as the same occupation."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from dopant_workflows.structures.hosts import SYMPREC, _site_index, canonical_occupation, lgps_host

    lgps = lgps_host()
    occupation = {_site_index(lgps, site.frac_coords): site.specie.symbol for site in lsips}
    operations = SpacegroupAnalyzer(lgps, symprec=SYMPREC).get_symmetry_operations(cartesian=False)
    assert len(operations) == 8  # P4_2mc
    images = []
    for operation in operations:
        permutation = [_site_index(lgps, x) for x in operation.operate_multi(lgps.frac_coords)]
        images.append({permutation[i]: symbol for i, symbol in occupation.items()})
    assert len({tuple(sorted(image.items())) for image in images}) > 1  # the images are different cells
    representatives = {tuple(sorted(canonical_occupation(lgps, image, operations).items())) for image in images}
    assert representatives == {tuple(sorted(occupation.items()))}  # lsips is itself the representative
