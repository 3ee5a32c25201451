"""PyTorch evaluation of the same potential (any torch device: CUDA GPUs, or CPU for cross-checks).

Fingerprints are built from pair and triplet tensors with the same conventions as the compiled kernels (see
:mod:`dopant_workflows.ann.symmetry_functions`); forces and stress come from autograd. On CPU the numba
kernels are faster; this backend exists for GPUs and as an independent implementation the tests compare
against AMP's numbers and the kernels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from ase import Atoms

from dopant_workflows.ann.model import BPNNPotential, PotentialResult
from dopant_workflows.ann.neighbors import NeighborPairs, check_atoms, first_offsets, neighbor_pairs
from dopant_workflows.ann.torch_network import TorchNetworks
from dopant_workflows.errors import DopwfInputError


def _cutoff(r: torch.Tensor, rc: float) -> torch.Tensor:
    return torch.where(r <= rc, 0.5 * (torch.cos(math.pi * r / rc) + 1.0), torch.zeros_like(r))


def _triplets(first: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All pair-index pairs (p, q), p < q, sharing a centre; pairs of centre i are first[i]:first[i+1]."""
    counts = first[1:] - first[:-1]
    n_pairs = int(first[-1])
    centre_of_pair = torch.repeat_interleave(torch.arange(len(counts), device=first.device), counts)
    local = torch.arange(n_pairs, device=first.device) - first[centre_of_pair]
    partners = counts[centre_of_pair] - local - 1  # q runs over the later pairs of the same centre
    p = torch.repeat_interleave(torch.arange(n_pairs, device=first.device), partners)
    start = torch.cumsum(partners, 0) - partners
    q = p + 1 + torch.arange(len(p), device=first.device) - start[p]
    return p, q


class TorchPotential:
    """A :class:`BPNNPotential` evaluated with torch on ``device``."""

    def __init__(self, potential: BPNNPotential, device: str = "cpu", max_triplets: int = 30_000_000,
                 device_neighbour_list: bool | None = None):
        self.potential = potential
        self.device = torch.device(device)
        self.max_triplets = max_triplets  # ~0.2 kB each in flight: 30 M is ~6 GB, a 10,000-atom cell in one block
        # the neighbour list on the device (vesin-torch, extra "gpu"): on the CPU it is half of a 100,000-atom call
        if device_neighbour_list is None:
            device_neighbour_list = self.device.type == "cuda" and _vesin_torch() is not None
        if device_neighbour_list and _vesin_torch() is None:
            raise DopwfInputError("device_neighbour_list: needs the vesin-torch package (pip install vesin-torch)")
        self._device_list = (_vesin_torch().NeighborList(cutoff=float(potential.descriptor.cutoff_A), full_list=True,
                                                         sorted=True) if device_neighbour_list else None)
        desc = potential.descriptor
        tables = desc._tables
        to = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.g2_slots, self.g4_slots = to(tables.g2_slots), to(tables.g4_slots)
        self.eta, self.offset, self.gamma, self.zeta = (to(tables.eta), to(tables.offset), to(tables.gamma),
                                                        to(tables.zeta))
        self.networks = TorchNetworks(potential.network, desc.elements).to(self.device)
        self.width = desc.max_functions

    def fingerprints(self, centre_species: torch.Tensor, first: torch.Tensor, centers: torch.Tensor,
                     neighbour_species: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """(n_centres, width) fingerprints of the centres ``centre_species`` from their pairs (``centers``:
        index into the centres, sorted; ``first``: CSR offsets of each centre's pairs)."""
        rc = float(self.potential.descriptor.cutoff_A)
        n_atoms = len(centre_species)
        out = torch.zeros(n_atoms * self.width, dtype=vectors.dtype, device=vectors.device)
        r = torch.linalg.norm(vectors, dim=1)
        fc = _cutoff(r, rc)
        a, e = centre_species[centers], neighbour_species
        for slot in range(self.g2_slots.shape[2]):  # G2: one gather per slot of the (centre, neighbour) table
            k = self.g2_slots[a, e, slot]
            ok = k >= 0
            k, rows = k[ok], centers[ok]
            value = torch.exp(-self.eta[a[ok], k] * (r[ok] - self.offset[a[ok], k]) ** 2 / rc**2) * fc[ok]
            out = out.index_add(0, rows * self.width + k, value)
        p, q = _triplets(first)
        djk = vectors[q] - vectors[p]
        rjk2 = (djk * djk).sum(dim=1)
        keep = rjk2 < rc**2  # f_c(R_jk) = 0 beyond: those triplets add nothing
        p, q, rjk = p[keep], q[keep], torch.sqrt(rjk2[keep])
        cos = ((vectors[p] * vectors[q]).sum(dim=1) / (r[p] * r[q])).clamp(min=-1.0)
        base = fc[p] * fc[q] * _cutoff(rjk, rc)
        rsum = r[p] ** 2 + r[q] ** 2 + rjk**2
        centre, ep, eq = centers[p], e[p], e[q]
        ac = a[p]
        for slot in range(self.g4_slots.shape[3]):
            k = self.g4_slots[ac, ep, eq, slot]
            ok = k >= 0
            if not bool(ok.any()):
                continue
            k, ak = k[ok], ac[ok]
            zeta = self.zeta[ak, k]
            value = (2.0 ** (1.0 - zeta) * (1.0 + self.gamma[ak, k] * cos[ok]) ** zeta
                     * torch.exp(-self.eta[ak, k] * rsum[ok] / rc**2) * base[ok])
            out = out.index_add(0, centre[ok] * self.width + k, value)
        return out.reshape(n_atoms, self.width)

    def blocks(self, first: np.ndarray) -> list[tuple[int, int]]:
        """Consecutive centre ranges whose triplets (the memory that grows as neighbours squared) fit
        ``max_triplets``: one range for a small cell, several for 100,000 atoms."""
        counts = np.diff(first)
        cost = np.cumsum(counts * (counts - 1) // 2 + counts)
        n_atoms, bounds, start = len(counts), [], 0
        while start < n_atoms:
            base = cost[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(cost, base + self.max_triplets, side="right")))
            bounds.append((start, min(stop, n_atoms)))
            start = stop
        return bounds

    def evaluate(self, atoms: Atoms, forces: bool = True, stress: bool = False) -> PotentialResult:
        """Energy, forces (autograd) and stress; the centres are taken in blocks (:meth:`blocks`), each block's
        energy differentiated on its own and the gradients summed: the same numbers as one pass."""
        desc = self.potential.descriptor
        species_np = desc.species_indices(atoms)
        dev, f64 = self.device, torch.float64
        positions = torch.as_tensor(atoms.positions, dtype=f64, device=dev).requires_grad_(forces)
        cell0 = torch.as_tensor(atoms.cell.array, dtype=f64, device=dev)
        first, all_centers, all_neighbor, all_shifts = self._pairs(atoms, positions.detach(), cell0)
        strain = torch.zeros((3, 3), dtype=f64, device=dev, requires_grad=stress)
        species = torch.as_tensor(species_np, device=dev)
        inputs = [t for t, want in ((positions, forces), (strain, stress)) if want]
        totals = [torch.zeros_like(t) for t in inputs]
        energy_eV, atomic_parts = 0.0, []
        for i0, i1 in self.blocks(first):
            p0, p1 = int(first[i0]), int(first[i1])
            deformation = torch.eye(3, dtype=f64, device=dev) + strain
            pos, cell = positions @ deformation.T, cell0 @ deformation.T
            centers, neighbor, shifts = all_centers[p0:p1], all_neighbor[p0:p1], all_shifts[p0:p1]
            vectors = _pair_vectors(pos, cell, centers, neighbor, shifts)
            g = self.fingerprints(species[i0:i1], torch.as_tensor(first[i0:i1 + 1] - p0, device=dev), centers - i0,
                                  species[neighbor], vectors)
            atomic = self.networks(g, species[i0:i1])
            energy = atomic.sum()
            if inputs:
                for total, grad in zip(totals, torch.autograd.grad(energy, inputs, allow_unused=True), strict=True):
                    if grad is not None:
                        total += grad
            energy_eV += float(energy.detach())
            atomic_parts.append(atomic.detach())
        force_array = stress_array = None
        if forces:
            force_array = -totals[0].cpu().numpy()
        if stress:
            stress_array = totals[-1].cpu().numpy() / atoms.get_volume()
            stress_array = 0.5 * (stress_array + stress_array.T)
        result = PotentialResult(energy_eV, torch.cat(atomic_parts).cpu().numpy(), force_array, stress_array)
        if self.potential.core_repulsion is None:
            return result
        short = self._short_pairs(atoms, positions.detach(), cell0, all_centers, all_neighbor, all_shifts)
        return self.potential.with_core_repulsion(result, atoms, species_np, short)  # pairwise, numpy: cheap

    def _pairs(self, atoms: Atoms, positions: torch.Tensor, cell: torch.Tensor
               ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(CSR offsets on the host, centres, neighbours, shifts on the device), pairs sorted by centre."""
        if self._device_list is None:
            pairs = neighbor_pairs(atoms, self.potential.descriptor.cutoff_A)
            to = lambda a, dtype=None: torch.as_tensor(a, dtype=dtype, device=self.device)  # noqa: E731
            return np.asarray(pairs.first), to(pairs.centers), to(pairs.neighbor), to(pairs.shifts, torch.float64)
        check_atoms(atoms)
        centers, neighbor, shifts = self._device_list.compute(points=positions, box=cell, periodic=True,
                                                              quantities="ijS")
        counts = torch.bincount(centers, minlength=len(atoms)).cpu().numpy()
        first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return first, centers.long(), neighbor.long(), shifts.to(torch.float64)

    def _short_pairs(self, atoms: Atoms, positions: torch.Tensor, cell: torch.Tensor, centers: torch.Tensor,
                     neighbor: torch.Tensor, shifts: torch.Tensor) -> NeighborPairs:
        """The pairs close enough for the core repulsion, on the host (a few, not millions, cross the bus)."""
        reach = float(self.potential.core_repulsion._onset_table(self.potential.descriptor.elements).max())
        vectors = _pair_vectors(positions, cell, centers, neighbor, shifts)
        keep = torch.linalg.norm(vectors, dim=1) < reach
        c = centers[keep].cpu().numpy()
        return NeighborPairs(first=first_offsets(c, len(atoms)), centers=c,
                             neighbor=neighbor[keep].cpu().numpy(), shifts=shifts[keep].cpu().numpy().astype(np.int64),
                             vectors=vectors[keep].cpu().numpy())


def _pair_vectors(positions: torch.Tensor, cell: torch.Tensor, centers: torch.Tensor, neighbor: torch.Tensor,
                  shifts: torch.Tensor) -> torch.Tensor:
    """R_j + shift . cell - R_i per pair (A), the convention of :class:`NeighborPairs`."""
    return positions[neighbor] - positions[centers] + shifts @ cell


def _vesin_torch():
    try:
        import vesin_torch
    except ImportError:
        return None
    return vesin_torch
