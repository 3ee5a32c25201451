"""One training set, one engine: load_images refuses frames labelled by two engines."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from dopant_workflows.ann.dataset import load_images
from dopant_workflows.errors import DopwfInputError


def frames(engine: str | None, n: int = 2) -> list[Atoms]:
    out = []
    for k in range(n):
        atoms = Atoms("Li2", positions=[[0, 0, 0], [1.5 + 0.1 * k, 1.5, 1.5]], cell=[4, 4, 4], pbc=True)
        atoms.calc = SinglePointCalculator(atoms, energy=-1.0 - k, forces=np.zeros((2, 3)))
        if engine:
            atoms.info["engine"] = engine
        out.append(atoms)
    return out


def test_labels_of_two_engines_are_refused_and_unnamed_frames_pass(tmp_path):
    write(tmp_path / "aimd.extxyz", frames("embedded:chgnet"))
    write(tmp_path / "cp2k.extxyz", frames("cp2k"))
    write(tmp_path / "user.extxyz", frames(None))
    assert len(load_images([tmp_path / "aimd.extxyz", tmp_path / "user.extxyz"])) == 4
    with pytest.raises(DopwfInputError, match=r"labels of 2 engines \(cp2k, embedded:chgnet\)"):
        load_images([tmp_path / "aimd.extxyz", tmp_path / "cp2k.extxyz"])
