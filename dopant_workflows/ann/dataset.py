"""Reference images (energies and forces) for training, and their fingerprints packed for batched kernels.

Images come from any ASE-readable file (extxyz, ASE trajectory, vasprun.xml, OUTCAR). Every image is checked:
3D-periodic, non-empty, finite positions, an energy, and forces when force training is asked for; and all images
together must come from one engine (``info["engine"]``, where the frames say).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from tqdm import tqdm

from dopant_workflows.ann.atom_centred import AtomCentredDescriptor
from dopant_workflows.ann.neighbors import check_atoms
from dopant_workflows.errors import DopwfInputError


@dataclass(frozen=True)
class ReferenceImage:
    atoms: Atoms
    energy_eV: float
    forces_eV_A: np.ndarray | None


def _reference(atoms: Atoms, where: str, need_forces: bool) -> ReferenceImage:
    check_atoms(atoms, where)
    try:
        energy = float(atoms.get_potential_energy())
    except Exception:  # noqa: BLE001 - ASE raises several kinds when no energy is stored
        energy = atoms.info.get("energy")
        if energy is None:
            raise DopwfInputError(f"{where}: has no energy (expected a calculator result or info['energy'])") from None
        energy = float(energy)
    forces = None
    try:
        forces = np.array(atoms.get_forces(), dtype=float)
    except Exception:  # noqa: BLE001 - no forces stored
        if "forces" in atoms.arrays:
            forces = np.array(atoms.arrays["forces"], dtype=float)
    if need_forces and forces is None:
        raise DopwfInputError(f"{where}: has no forces, but force training was asked for (force_coefficient > 0)")
    if not np.isfinite(energy) or (forces is not None and not np.all(np.isfinite(forces))):
        raise DopwfInputError(f"{where}: energy or forces contain NaN or inf")
    return ReferenceImage(atoms, energy, forces)


def load_images(paths: str | Path | Sequence[str | Path], need_forces: bool = True) -> list[ReferenceImage]:
    """All frames of all files, checked; errors name the file and frame."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    images: list[ReferenceImage] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DopwfInputError(f"images file {str(path)!r}: not found")
        try:
            frames = read(str(path), index=":")
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            raise DopwfInputError(f"images file {str(path)!r}: could not be read by ASE ({exc})") from None
        if not frames:
            raise DopwfInputError(f"images file {str(path)!r}: holds no frames")
        images += [_reference(a, f"images file {str(path)!r}, frame {n}", need_forces) for n, a in enumerate(frames)]
    _one_engine(images, paths)
    return images


def _one_engine(images: list[ReferenceImage], paths: list) -> None:
    """One training set, one level of theory: frames whose ``info["engine"]`` names two engines (CHGNet and CP2K
    energies differ by far more than any force error) are refused. Frames that name none (a user's own files) pass."""
    engines = {image.atoms.info["engine"] for image in images if "engine" in image.atoms.info}
    if len(engines) > 1:
        raise DopwfInputError(f"images files {', '.join(map(str, paths))}: labels of {len(engines)} engines "
                              f"({', '.join(sorted(engines))}); one training set takes one engine's labels (relabel "
                              "the frames with one engine: dopwf label)")


def split_indices(n_images: int, test_fraction: float, validation_fraction: float,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The paper's split: ``test_fraction`` of all images for test, ``validation_fraction`` of the rest for
    validation (early stopping), the remainder for training. Each part gets at least one image."""
    if n_images < 3:
        raise DopwfInputError(f"images: {n_images} image(s); need at least 3 for train/validation/test")
    order = rng.permutation(n_images)
    n_test = min(max(1, round(test_fraction * n_images)), n_images - 2)
    n_validation = min(max(1, round(validation_fraction * (n_images - n_test))), n_images - n_test - 1)
    return {
        "test": np.sort(order[:n_test]),
        "validation": np.sort(order[n_test : n_test + n_validation]),
        "train": np.sort(order[n_test + n_validation :]),
    }


def extend_split(previous: dict[str, np.ndarray], n_images: int, test_fraction: float, validation_fraction: float,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A warm-started network's split: the first images keep the parts ``previous`` gave them (no image its
    parent trained on becomes a test image), the images added since are split by the same fractions."""
    n_previous = sum(len(v) for v in previous.values())
    if n_previous > n_images:
        raise DopwfInputError(f"images: {n_images}, fewer than the {n_previous} the warm-start network was "
                              "split over (its frames must come first, unchanged)")
    added = n_previous + rng.permutation(n_images - n_previous)
    n_test = round(test_fraction * len(added))
    n_validation = round(validation_fraction * (len(added) - n_test))
    parts = {"test": added[:n_test], "validation": added[n_test : n_test + n_validation],
             "train": added[n_test + n_validation :]}
    return {k: np.sort(np.concatenate([np.asarray(previous[k], dtype=int), parts[k]])) for k in parts}


@dataclass(frozen=True)
class PackedImages:
    """Images packed as one disjoint structure: atom and pair arrays concatenated, indices offset.

    The compiled kernels then fingerprint and differentiate a whole batch in one parallel call.
    """

    fingerprints: np.ndarray  # (n_atoms, K)
    species: np.ndarray  # (n_atoms,)
    image_of_atom: np.ndarray  # (n_atoms,)
    atom_start: np.ndarray  # (n_images + 1,)
    first: np.ndarray  # (n_atoms + 1,) pair offsets
    neighbor: np.ndarray
    centers: np.ndarray
    vectors: np.ndarray
    pair_terms: tuple[np.ndarray, np.ndarray, np.ndarray]
    energies_eV: np.ndarray  # (n_images,)
    forces_eV_A: np.ndarray | None  # (n_atoms, 3)
    n_atoms_per_image: np.ndarray
    pair_start: np.ndarray  # (n_images + 1,)
    jacobian: np.ndarray | None = None  # (n_pairs, W, 3) float32 dG/d(pair vector) over the columns each pair
    #                                     touches (AtomCentredDescriptor.pair_jacobian), when stored for training

    @property
    def n_images(self) -> int:
        return len(self.energies_eV)

    def subset(self, indices: Sequence[int] | np.ndarray) -> PackedImages:
        """The packed structure of some images only (re-offset indices), e.g. one minibatch."""
        atom_slices = [slice(self.atom_start[i], self.atom_start[i + 1]) for i in indices]
        pair_slices = [slice(self.pair_start[i], self.pair_start[i + 1]) for i in indices]
        counts = self.n_atoms_per_image[indices]
        n_pairs = np.array([s.stop - s.start for s in pair_slices])
        atom_shift = np.concatenate([[0], np.cumsum(counts)[:-1]]) - self.atom_start[indices]
        pair_shift = np.concatenate([[0], np.cumsum(n_pairs)[:-1]]) - self.pair_start[indices]
        pair_atom_shift = np.repeat(atom_shift, n_pairs)
        return PackedImages(
            fingerprints=np.concatenate([self.fingerprints[s] for s in atom_slices]),
            species=np.concatenate([self.species[s] for s in atom_slices]),
            image_of_atom=np.repeat(np.arange(len(indices)), counts),
            atom_start=np.concatenate([[0], np.cumsum(counts)]),
            first=np.concatenate([[0]] + [self.first[s.start + 1 : s.stop + 1] + shift
                                          for s, shift in zip(atom_slices, pair_shift, strict=True)]),
            neighbor=np.concatenate([self.neighbor[s] for s in pair_slices]) + pair_atom_shift,
            centers=np.concatenate([self.centers[s] for s in pair_slices]) + pair_atom_shift,
            vectors=np.ascontiguousarray(np.concatenate([self.vectors[s] for s in pair_slices])),
            pair_terms=tuple(np.concatenate([t[s] for s in pair_slices]) for t in self.pair_terms),
            energies_eV=self.energies_eV[indices],
            forces_eV_A=(None if self.forces_eV_A is None
                         else np.concatenate([self.forces_eV_A[s] for s in atom_slices])),
            n_atoms_per_image=counts,
            pair_start=np.concatenate([[0], np.cumsum(n_pairs)]),
            jacobian=None if self.jacobian is None else np.concatenate([self.jacobian[s] for s in pair_slices]),
        )

    def jacobian_bytes(self, width: int) -> int:
        """Memory a stored Jacobian of these images takes (float32, 3 per pair and column a pair touches)."""
        return 12 * len(self.neighbor) * width


def pack_images(descriptor: AtomCentredDescriptor, images: Sequence[ReferenceImage],
                progress: bool = False) -> PackedImages:
    """Fingerprint every image once and pack them (see :class:`PackedImages`)."""
    fingerprints, species, first, neighbor, centers, vectors = [], [], [0], [], [], []
    terms = ([], [], [])
    atom_offset = pair_offset = 0
    pair_start = [0]
    for image in tqdm(images, desc="fingerprints", unit="image", disable=not progress, leave=False):
        g, s, pairs = descriptor.fingerprints(image.atoms)
        fingerprints.append(g)
        species.append(s)
        first.append(pairs.first[1:] + pair_offset)
        neighbor.append(pairs.neighbor + atom_offset)
        centers.append(pairs.centers + atom_offset)
        vectors.append(pairs.vectors)
        for store, values in zip(terms, pairs.terms(descriptor.cutoff_A), strict=True):
            store.append(values)
        atom_offset += len(s)
        pair_offset += pairs.n_pairs
        pair_start.append(pair_offset)
    counts = np.array([len(i.atoms) for i in images])
    has_forces = all(i.forces_eV_A is not None for i in images)
    return PackedImages(
        fingerprints=np.concatenate(fingerprints),
        species=np.concatenate(species),
        image_of_atom=np.repeat(np.arange(len(images)), counts),
        atom_start=np.concatenate([[0], np.cumsum(counts)]),
        first=np.concatenate([np.array([0])] + [f.astype(np.int64) for f in first[1:]]),
        neighbor=np.concatenate(neighbor),
        centers=np.concatenate(centers),
        vectors=np.ascontiguousarray(np.concatenate(vectors)),
        pair_terms=tuple(np.concatenate(t) for t in terms),
        energies_eV=np.array([i.energy_eV for i in images]),
        forces_eV_A=np.concatenate([i.forces_eV_A for i in images]) if has_forces else None,
        n_atoms_per_image=counts,
        pair_start=np.array(pair_start),
    )
