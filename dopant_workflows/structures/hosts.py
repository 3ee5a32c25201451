"""Ordered, charge-neutral host cells built from data that ships with pymatgen, and user structure files.

Li20Ge2P4S24 (LGPS, 50 atoms)
    pymatgen's bundled ``util/structures/Li10GeP2S12.json`` is the experimental, disordered P4_2/nmc LGPS
    cell (Li20.2Ge2.06P3.94S24). We (1) set the mixed Ge/P 4d sites to Ge0.5P0.5 (2 Ge + 2 P per cell, the
    Li10GeP2S12 stoichiometry); (2) give the 24 partially occupied Li sites (16h at 0.691, 8f at 0.643, 16.2 Li
    in all) one common occupancy 2/3 so that they hold exactly 16 Li, the 4 fully occupied Li sites stay; and
    (3) pick the lowest-Ewald-energy ordering (Li+ Ge4+ P5+ S2-) with pymatgen's
    ``OrderDisorderedStructureTransformation`` (EwaldMinimizer, fast algorithm). The result has space group
    P4_2mc, like the ordered LGPS of the Materials Project that the paper started from.

Li20Si3P3S23Cl (LSiPS-Cl, 50 atoms, the paper's training cell)
    From ordered LGPS: both Ge -> Si; one P on a 4d (former Ge/P) site -> Si, so Si occupies three of the four
    4d sites as in Li9.54Si1.74P1.44S11.7Cl0.3; one S bonded to a P on a 2b site (a "P(2b)X4" tetrahedron, the
    experimental Cl 8g site) -> Cl. Of the 2 x 8 choices we keep the one with the lowest Ewald energy. Charges: 20 +
    3*4 + 3*5 - 23*2 - 1 = 0.

Both are made canonical (:func:`canonical_occupation`): of the symmetry-equivalent orderings of the lowest
energy, the one with the smallest (site, element) key, so that the cells and the ids of every cell built from
them are the same on every machine and thread count.

Sites carry a ``wyckoff`` site property (e.g. ``"4d"``) inherited from the experimental cell.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Species, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.transformations.standard_transformations import OrderDisorderedStructureTransformation

from dopant_workflows.errors import DopwfInputError
from dopant_workflows.structures.ewald import EwaldSiteModel
from dopant_workflows.structures.io import read_structure

LGPS_OXIDATION_STATES = {"Li": 1, "Ge": 4, "Si": 4, "P": 5, "S": -2, "Cl": -1}
#: P-S bond length in thiophosphates (A); S within this distance of a P belongs to its PS4 tetrahedron.
TETRAHEDRON_BOND_MAX_A = 2.4


def pymatgen_lgps_path() -> Path:
    """The disordered experimental LGPS cell bundled with pymatgen."""
    path = Path(str(files("pymatgen.util") / "structures" / "Li10GeP2S12.json"))
    if not path.is_file():
        raise FileNotFoundError(f"pymatgen no longer ships {path}; cannot build the LGPS host")
    return path


@lru_cache(maxsize=1)
def _lgps_host() -> Structure:
    bundled = Structure.from_file(str(pymatgen_lgps_path()))
    # The bundled lattice matrix is -diag(a, b, c): left-handed. Same a, b, c, angles and fractional coordinates
    # in the standard right-handed orientation give an isometric copy (all distances identical).
    disordered = Structure(Lattice.from_parameters(*bundled.lattice.parameters), [site.species for site in bundled],
                           bundled.frac_coords)
    analyzer = SpacegroupAnalyzer(disordered, symprec=SYMPREC)
    symmetrized = analyzer.get_symmetrized_structure()
    site_wyckoff = [""] * len(disordered)  # one Wyckoff symbol per group of equivalent sites, spread to sites
    for symbol, group in zip(symmetrized.wyckoff_symbols, symmetrized.equivalent_indices, strict=True):
        for i in group:
            site_wyckoff[i] = symbol
    for site in disordered:
        occupancy = {el.symbol: occ for el, occ in site.species.items()}
        if "Ge" in occupancy:
            site.species = {Species("Ge", 4): 0.5, Species("P", 5): 0.5}
        elif occupancy.get("Li", 1.0) < 1.0:
            site.species = {Species("Li", 1): 2 / 3}
        else:
            (element,) = occupancy
            site.species = {Species(element, LGPS_OXIDATION_STATES[element]): 1.0}
    disordered.add_site_property("wyckoff", site_wyckoff)
    ordered = OrderDisorderedStructureTransformation(algo=0).apply_transformation(disordered)
    occupation = {_site_index(disordered, site.frac_coords): site.specie.symbol for site in ordered}
    operations = analyzer.get_symmetry_operations(cartesian=False)
    return _sorted_by_electronegativity(_occupied(disordered, canonical_occupation(disordered, occupation,
                                                                                  operations)))


def lgps_host() -> Structure:
    """Ordered 50-atom Li20Ge2P4S24 cell (see module docstring for how it is built)."""
    return _lgps_host().copy()


@lru_cache(maxsize=1)
def _lsips_host() -> Structure:
    lgps = lgps_host()
    model = EwaldSiteModel.from_structure(lgps, LGPS_OXIDATION_STATES)
    ge = [i for i, s in enumerate(lgps) if s.specie.symbol == "Ge"]
    p_4d = [i for i, s in enumerate(lgps) if s.specie.symbol == "P" and s.properties["wyckoff"] == "4d"]
    p_2b = [i for i, s in enumerate(lgps) if s.specie.symbol == "P" and s.properties["wyckoff"] == "2b"]
    s_on_p_2b = sorted(
        {
            neighbor.index
            for center in p_2b
            for neighbor in lgps.get_neighbors(lgps[center], TETRAHEDRON_BOND_MAX_A)
            if neighbor.specie.symbol == "S"
        }
    )
    if len(ge) != 2 or len(p_4d) != 2 or len(s_on_p_2b) != 8:
        raise RuntimeError(
            f"unexpected ordered LGPS cell: {len(ge)} Ge, {len(p_4d)} P(4d), {len(s_on_p_2b)} S on P(2b); "
            "pymatgen's bundled structure or ordering changed"
        )
    energies = {(p_site, s_site): model.energy_eV([*ge, p_site, s_site], [4, 4, 4, -1])
                for p_site in p_4d for s_site in s_on_p_2b}
    lowest = min(energies.values())
    operations = SpacegroupAnalyzer(lgps, symprec=SYMPREC).get_symmetry_operations(cartesian=False)
    occupations = []
    for (p_site, s_site), energy in energies.items():
        if energy <= lowest + DEGENERATE_EV:  # symmetry-equivalent choices: equal but for rounding
            occupation = {i: site.specie.symbol for i, site in enumerate(lgps)}
            occupation.update({i: "Si" for i in [*ge, p_site]} | {s_site: "Cl"})
            occupations.append(canonical_occupation(lgps, occupation, operations))
    return _sorted_by_electronegativity(_occupied(lgps, min(occupations, key=_occupation_key)))


#: spglib's tolerance for the hosts' space groups (the experimental LGPS cell is symmetric to ~1e-3 A)
SYMPREC = 0.01
#: Ewald energies closer than this are one degenerate level (symmetry-equivalent orderings differ by rounding)
DEGENERATE_EV = 1e-6


def _site_index(parent: Structure, frac_coords) -> int:
    """The parent site nearest ``frac_coords`` (periodic), which must lie within 0.1 A of it."""
    delta = parent.frac_coords - np.asarray(frac_coords)
    delta -= np.round(delta)
    distances = np.linalg.norm(delta @ parent.lattice.matrix, axis=1)
    index = int(distances.argmin())
    if distances[index] > 0.1:
        raise RuntimeError(f"no parent site within 0.1 A of {frac_coords} (nearest {distances[index]:.3f} A)")
    return index


def _occupation_key(occupation: dict[int, str]) -> tuple[str, ...]:
    return tuple(sorted((f"{i:05d}", symbol) for i, symbol in occupation.items()))


def canonical_occupation(parent: Structure, occupation: dict[int, str], operations) -> dict[int, str]:
    """The representative of an ordering of ``parent``'s sites (site index -> element) among its images under
    ``operations`` (the parent's space group): the one with the smallest sorted (site, element) key.

    Orderings that are symmetry-equivalent have the same energy, and which of them an Ewald minimiser returns (or
    a minimum over rounded energies picks) changes with the rounding of its sums, e.g. with the number of BLAS
    threads. The representative does not: the built-in hosts, and the ids of every cell made from them, are the
    same on every machine and thread count. The sites keep the parent's coordinates (operations only permute
    them)."""
    images = []
    for operation in operations:
        permutation = [_site_index(parent, x) for x in operation.operate_multi(parent.frac_coords)]
        images.append({permutation[i]: symbol for i, symbol in occupation.items()})
    return min(images, key=_occupation_key)


def _occupied(parent: Structure, occupation: dict[int, str]) -> Structure:
    """The ordered cell: ``occupation``'s elements on the parent's sites (coordinates and site properties kept)."""
    indices = sorted(occupation)
    return Structure(parent.lattice, [occupation[i] for i in indices], parent.frac_coords[indices],
                     site_properties={k: [v[i] for i in indices] for k, v in parent.site_properties.items()})


def lsips_host() -> Structure:
    """The paper's 50-atom Li20Si3P3S23Cl training cell (see module docstring for how it is built)."""
    return _lsips_host().copy()


def _sorted_by_electronegativity(structure: Structure) -> Structure:
    """Sites sorted by element then position; rebuilt so stale labels of the disordered parent ("Li:0.691") go."""
    ordered = structure.get_sorted_structure(key=lambda site: (site.specie.X, tuple(np.round(site.frac_coords, 6))))
    return Structure(ordered.lattice, ordered.species, ordered.frac_coords, site_properties=ordered.site_properties)


#: Built-in hosts by name (case-insensitive); aliases point at the same builder.
BUILTIN_HOSTS = {
    "Li20Ge2P4S24": lgps_host,
    "LGPS": lgps_host,
    "Li10GeP2S12": lgps_host,
    "Li20Si3P3S23Cl": lsips_host,
    "LSiPS": lsips_host,
    "LSiPS-Cl": lsips_host,
}


def load_cell(name_or_path: str | Path) -> Structure:
    """A cell to simulate (MD, AIMD, validation): :func:`load_host`, and ordered (MD moves atoms, not partial
    occupancies)."""
    structure = load_host(name_or_path)
    if not structure.is_ordered:
        disordered = [i for i, site in enumerate(structure) if not site.is_ordered]
        i = disordered[0]
        raise DopwfInputError(
            f"structure {str(name_or_path)!r}: disordered ({len(disordered)} sites with partial occupancies, e.g. "
            f"site {i}: {structure[i].species}); expected an ordered cell for MD: order it first (e.g. pymatgen's "
            "OrderDisorderedStructureTransformation), or give a built-in host")
    return structure


def load_host(name_or_path: str | Path) -> Structure:
    """A built-in host by name (``LGPS``, ``Li20Si3P3S23Cl``, ...) or any structure file (CIF, POSCAR, ...)."""
    key = str(name_or_path)
    if not key.strip():
        raise DopwfInputError(f"host {key!r}: empty; expected a built-in host ({', '.join(BUILTIN_HOSTS)}) or a "
                              "structure file")
    for name, builder in BUILTIN_HOSTS.items():
        if key.lower() == name.lower():
            return builder()
    path = Path(key)
    if not path.exists():
        raise DopwfInputError(
            f"host {key!r}: neither a built-in host ({', '.join(BUILTIN_HOSTS)}) nor an existing structure file"
        )
    return read_structure(path)
