"""Reading user structure files (CIF, POSCAR, pymatgen JSON, extxyz, ...) into checked pymatgen Structures."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from dopant_workflows.errors import DopwfInputError

#: Smallest cell volume per atom we accept (A^3). Real solids sit at 10-40 A^3/atom; below this the file is broken.
MIN_VOLUME_PER_ATOM_A3 = 1.0
#: no two atoms of a crystal are closer (H2's bond is 0.74 A): closer means a site given twice or a wrong cell
MIN_INTERATOMIC_DISTANCE_A = 0.5


def read_structure(path: str | Path) -> Structure:
    """Read a periodic crystal structure from ``path``.

    Accepts whatever pymatgen reads (CIF, POSCAR/CONTCAR, vasprun.xml, pymatgen JSON) and, as a fallback,
    ASE-readable formats (extxyz, ASE trajectory). Raises :class:`DopwfInputError` naming the file when it
    is missing, unparsable, non-periodic, empty or has an unphysical cell.
    """
    path = Path(path)
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not found"
        raise DopwfInputError(f"structure file {str(path)!r}: {what} (expected a CIF, POSCAR or extxyz file)")
    errors: list[str] = []
    structure = None
    # a parser's warnings about a file it then fails to read are noise before the error below: kept only on success
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            structure = Structure.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - any parser failure means "try the next reader"; reported below
            errors.append(f"pymatgen: {exc}")
        if structure is None:
            structure = _read_with_ase(path, errors)
    if structure is not None:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if structure is None:
        raise DopwfInputError(
            f"structure file {str(path)!r}: could not be parsed as a periodic structure "
            f"(expected CIF, POSCAR, pymatgen JSON or extxyz with a lattice); readers said: {'; '.join(errors)}"
        )
    check_periodic_structure(structure, source=str(path))
    return structure


def _read_with_ase(path: Path, errors: list[str]) -> Structure | None:
    from ase.io import read as ase_read
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        atoms = ase_read(str(path), index=0)
    except Exception as exc:  # noqa: BLE001 - reported to the user with the pymatgen error
        errors.append(f"ase: {exc}")
        return None
    if not all(atoms.pbc) or atoms.cell.rank < 3:
        raise DopwfInputError(
            f"structure file {str(path)!r}: not periodic (pbc={list(map(bool, atoms.pbc))}, cell rank "
            f"{atoms.cell.rank}); expected a crystal with a 3D lattice"
        )
    return AseAtomsAdaptor.get_structure(atoms)


def check_periodic_structure(structure: Structure, source: str = "structure") -> None:
    """Raise :class:`DopwfInputError` unless ``structure`` is a non-empty, ordered-or-not 3D crystal."""
    if len(structure) == 0:
        raise DopwfInputError(f"{source}: contains no atoms; expected a crystal structure")
    if not all(structure.lattice.pbc):
        raise DopwfInputError(f"{source}: not periodic in all three directions (pbc={structure.lattice.pbc})")
    volume_per_atom = structure.volume / len(structure)
    if not np.isfinite(volume_per_atom) or volume_per_atom < MIN_VOLUME_PER_ATOM_A3:
        raise DopwfInputError(
            f"{source}: cell volume {structure.volume:.3g} A^3 for {len(structure)} atoms is unphysical "
            f"(expected at least {MIN_VOLUME_PER_ATOM_A3} A^3 per atom)"
        )
    centres, neighbours, _, distances = structure.get_neighbor_list(MIN_INTERATOMIC_DISTANCE_A)
    if len(distances):
        n = int(np.argmin(distances))
        i, j = int(centres[n]), int(neighbours[n])
        raise DopwfInputError(
            f"{source}: atoms {i} ({structure[i].species_string}) and {j} ({structure[j].species_string}) are "
            f"{distances[n]:.3f} A apart (periodic images included); expected at least "
            f"{MIN_INTERATOMIC_DISTANCE_A} A: a site given twice, or a wrong cell"
        )


def structure_fingerprint(structure: Structure, decimals: int = 4) -> str:
    """sha256 of a canonical text form of an ordered structure (lattice, species, wrapped fractional coordinates).

    Two structures that differ only by site order get the same fingerprint; used for stable ids.
    """
    frac = np.mod(np.round(structure.frac_coords, decimals), 1.0)
    frac = np.round(np.where(np.isclose(frac, 1.0, atol=10.0**-decimals), 0.0, frac), decimals)
    rows = sorted(
        (site.species_string, *map(float, f)) for site, f in zip(structure, frac, strict=True)
    )
    payload = {
        "lattice": np.round(structure.lattice.matrix, decimals).tolist(),
        "sites": rows,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
