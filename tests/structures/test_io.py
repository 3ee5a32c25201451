import pytest
from ase import Atoms
from ase.io import write

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.structures.io import read_structure, structure_fingerprint


def test_reads_poscar_and_extxyz(tmp_path, lgps):
    lgps.to(filename=str(tmp_path / "POSCAR"))
    assert read_structure(tmp_path / "POSCAR").composition == lgps.composition
    from pymatgen.io.ase import AseAtomsAdaptor

    write(tmp_path / "cell.extxyz", AseAtomsAdaptor.get_atoms(lgps))
    assert read_structure(tmp_path / "cell.extxyz").composition == lgps.composition


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DopwfInputError, match="nope.cif.*not found"):
        read_structure(tmp_path / "nope.cif")


def test_garbage_file_is_rejected(tmp_path):
    path = tmp_path / "broken.cif"
    path.write_text("this is not a crystal\n")
    with pytest.raises(DopwfInputError, match="broken.cif.*could not be parsed"):
        read_structure(path)


def test_molecule_without_cell_is_rejected(tmp_path):
    path = tmp_path / "water.xyz"
    write(path, Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    with pytest.raises(DopwfInputError, match="water.xyz.*(not periodic|could not be parsed)"):
        read_structure(path)


def test_fingerprint_ignores_site_order_but_sees_species(lgps):
    shuffled = lgps.copy()
    shuffled = shuffled.get_sorted_structure(key=lambda s: -s.frac_coords[2])
    assert structure_fingerprint(shuffled) == structure_fingerprint(lgps)
    changed = lgps.copy()
    changed.replace(len(changed) - 1, "Cl")
    assert structure_fingerprint(changed) != structure_fingerprint(lgps)
