import itertools

from pymatgen.core import Lattice, Structure

from dopant_workflows.structures.symmetry import canonical_key, site_permutations


def _simple_cubic_supercell(n):
    return Structure(Lattice.cubic(3.0), ["Cu"], [[0, 0, 0]]) * (n, n, n)


def test_identity_always_present_and_permutations_valid():
    cell = _simple_cubic_supercell(3)
    perms = site_permutations(cell)
    assert any((p == range(len(cell))).all() for p in perms)
    assert all(sorted(p) == list(range(len(cell))) for p in perms)
    # Pm-3m (48 point operations) times the 27 lattice translations of the 3x3x3 supercell, all distinct
    assert len(perms) == 48 * 27


def test_pairs_in_simple_cubic_supercell_have_three_classes():
    # Two substituted sites in a 3x3x3 simple-cubic supercell: nearest neighbour, face and body diagonal.
    cell = _simple_cubic_supercell(3)
    perms = site_permutations(cell)
    keys = {canonical_key([(i, "X"), (j, "X")], perms) for i, j in itertools.combinations(range(len(cell)), 2)}
    assert len(keys) == 3
    singles = {canonical_key([(i, "X")], perms) for i in range(len(cell))}
    assert len(singles) == 1


def test_labels_distinguish_patterns():
    cell = _simple_cubic_supercell(2)
    perms = site_permutations(cell)
    assert canonical_key([(0, "A"), (1, "B")], perms) == canonical_key([(1, "A"), (0, "B")], perms)
    assert canonical_key([(0, "A"), (1, "B")], perms) != canonical_key([(0, "A"), (1, "A")], perms)
