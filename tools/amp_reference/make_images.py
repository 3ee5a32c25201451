"""Step 1 (main venv): write the images AMP's reference numbers are computed on.

    .venv/bin/python tools/amp_reference/make_images.py tests/data/amp_reference/images.extxyz

Images: the ordered LGPS host (50 atoms, cell 8.7 x 8.7 x 12.6 A, smaller than twice the 6.5 A cutoff in a and
b) rattled twice; the LSiPS host (5 elements) under a triclinic shear; a 12-atom Li2S antifluorite cell (cell
5.7 A < cutoff: many periodic images of each atom are neighbours, including images of the atom itself).
"""

import sys

import numpy as np
from ase import Atoms
from ase.io import write
from pymatgen.io.ase import AseAtomsAdaptor

from dopant_workflows.structures.hosts import lgps_host, lsips_host


def main(out: str) -> None:
    rng = np.random.default_rng(2020)
    images = []
    lgps = AseAtomsAdaptor.get_atoms(lgps_host())
    for amplitude in (0.05, 0.15):
        atoms = lgps.copy()
        atoms.positions += rng.normal(scale=amplitude, size=atoms.positions.shape)
        atoms.info["label"] = f"lgps_rattle_{amplitude}"
        images.append(atoms)
    lsips = AseAtomsAdaptor.get_atoms(lsips_host())
    cell = lsips.cell.array.copy()
    cell[2] += 0.12 * cell[0] - 0.07 * cell[1]  # triclinic
    lsips.set_cell(cell, scale_atoms=True)
    lsips.positions += rng.normal(scale=0.08, size=lsips.positions.shape)
    lsips.info["label"] = "lsips_triclinic"
    images.append(lsips)
    a = 5.71
    base = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    s_pos = np.array(base)
    li_pos = np.array([[f + 0.25 for f in (x, y, z)] for x, y, z in base]
                      + [[f + 0.75 for f in (x, y, z)] for x, y, z in base])
    li2s = Atoms("S4Li8", scaled_positions=np.vstack([s_pos, li_pos]) % 1.0, cell=[a, a, a], pbc=True)
    li2s.positions += rng.normal(scale=0.1, size=li2s.positions.shape)
    li2s.info["label"] = "li2s_small_cell"
    images.append(li2s)
    for atoms in images:
        atoms.wrap()
    write(out, images, format="extxyz")


if __name__ == "__main__":
    main(sys.argv[1])
