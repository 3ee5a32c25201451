"""PyTorch evaluation of the same potential (any torch device: CUDA GPUs, or CPU for cross-checks).

Fingerprints are built from pair and triplet tensors with the same conventions as the compiled kernels (see
:mod:`dopant_workflows.ann.symmetry_functions`); forces and stress come from autograd. On CPU the numba
kernels are faster; this backend exists for GPUs and as an independent implementation the tests compare
against AMP's numbers and the kernels.
"""

from __future__ import annotations

import math

import torch
from ase import Atoms

from dopant_workflows.ann.model import BPNNPotential, PotentialResult
from dopant_workflows.ann.neighbors import neighbor_pairs
from dopant_workflows.ann.torch_network import TorchNetworks


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

    def __init__(self, potential: BPNNPotential, device: str = "cpu"):
        self.potential = potential
        self.device = torch.device(device)
        desc = potential.descriptor
        tables = desc._tables
        to = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.g2_slots, self.g4_slots = to(tables.g2_slots), to(tables.g4_slots)
        self.eta, self.offset, self.gamma, self.zeta = to(tables.eta), to(tables.offset), to(tables.gamma), to(tables.zeta)
        self.networks = TorchNetworks(potential.network, desc.elements).to(self.device)
        self.width = desc.max_functions

    def fingerprints(self, species: torch.Tensor, first: torch.Tensor, centers: torch.Tensor,
                     neighbor: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        rc = float(self.potential.descriptor.cutoff_A)
        n_atoms = len(species)
        out = torch.zeros(n_atoms * self.width, dtype=vectors.dtype, device=vectors.device)
        r = torch.linalg.norm(vectors, dim=1)
        fc = _cutoff(r, rc)
        a, e = species[centers], species[neighbor]
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

    def evaluate(self, atoms: Atoms, forces: bool = True, stress: bool = False) -> PotentialResult:
        desc = self.potential.descriptor
        species_np = desc.species_indices(atoms)
        pairs = neighbor_pairs(atoms, desc.cutoff_A)
        dev = self.device
        positions = torch.as_tensor(atoms.positions, dtype=torch.float64, device=dev)
        cell = torch.as_tensor(atoms.cell.array, dtype=torch.float64, device=dev)
        strain = torch.zeros((3, 3), dtype=torch.float64, device=dev, requires_grad=stress)
        positions = positions.requires_grad_(forces)
        deformation = torch.eye(3, dtype=torch.float64, device=dev) + strain
        pos, cell = positions @ deformation.T, cell @ deformation.T
        centers = torch.as_tensor(pairs.centers, device=dev)
        neighbor = torch.as_tensor(pairs.neighbor, device=dev)
        shifts = torch.as_tensor(pairs.shifts, dtype=torch.float64, device=dev)
        vectors = pos[neighbor] - pos[centers] + shifts @ cell
        species = torch.as_tensor(species_np, device=dev)
        g = self.fingerprints(species, torch.as_tensor(pairs.first, device=dev), centers, neighbor, vectors)
        atomic = self.networks(g, species)
        energy = atomic.sum()
        inputs = [t for t, want in ((positions, forces), (strain, stress)) if want]
        grads = torch.autograd.grad(energy, inputs) if inputs else ()
        force_array = stress_array = None
        if forces:
            force_array = -grads[0].detach().cpu().numpy()
        if stress:
            stress_array = grads[-1].detach().cpu().numpy() / atoms.get_volume()
            stress_array = 0.5 * (stress_array + stress_array.T)
        result = PotentialResult(float(energy.detach()), atomic.detach().cpu().numpy(), force_array, stress_array)
        return self.potential.with_core_repulsion(result, atoms, species_np, pairs)  # pairwise, numpy: cheap

