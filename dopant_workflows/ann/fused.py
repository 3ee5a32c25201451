"""Energy and forces of Behler-Parrinello networks in one compiled pass per centre atom (MD's hot path).

The unfused path (``descriptor.fingerprints`` -> ``network.atomic_energies`` -> ``descriptor.energy_gradient``)
walks every triplet twice and recomputes its geometry, Gaussian and angular terms in the second walk. Here each
centre atom, in turn:

1. walks its pairs and triplets once, summing G_i and keeping, per triplet, cos(theta), f_c(R_jk) and
   f_c'(R_jk)/R_jk (a power series in R_jk^2: no sqrt or cos per triplet) and, per column, Gaussian x angular term and Gaussian x its cos-derivative (a per-thread
   buffer, ~0.5 MB at ~100 neighbours: it stays in L2);
2. runs its element's network(s) forward and backward (a few hundred flops each): E_i and dE_i/dG_i;
3. rebuilds the triplet gradients from the kept numbers and the pair vectors (multiplications only: no sqrt,
   exp or trigonometry) and contracts them with dE_i/dG_i into dE/d(pair vector) of its own pairs.

M networks on the same descriptor (a committee) share steps 1 and 3's geometry: each adds its network and a
few multiply-adds per triplet. Same layout and same numbers as the unfused kernels
(:mod:`dopant_workflows.ann.kernels`, to rounding); :func:`pack_networks` packs the networks into padded arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from dopant_workflows.ann.kernels import _angular
from dopant_workflows.ann.network import AtomicNeuralNetwork

_ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "linear": 2}

# f_c(R) = (cos(pi R / R_c) + 1) / 2 as a power series in x = (R / R_c)^2: cos(pi sqrt(x)) is entire in x, and 16
# terms give f_c to 4e-16 and its derivative to 2e-15 on [0, 1] (tested): a triplet's third side then needs no
# sqrt and no cos, only two Horner chains on R_jk^2 (the per-triplet transcendental work left is one exp)
_FC_SERIES = np.array([1.0] + [(-1) ** n * math.pi ** (2 * n) / (2 * math.factorial(2 * n)) for n in range(1, 16)])
_FC_SERIES_PRIME = np.array([n * _FC_SERIES[n] for n in range(1, 16)])  # d f_c / dx, coefficients of x^(n-1)


def chunks() -> int:
    """Chunks of centres per call: four per numba thread (balance without much scratch per chunk)."""
    return 4 * numba.get_num_threads()


@dataclass(frozen=True)
class PackedNetworks:
    """M :class:`AtomicNeuralNetwork` s as padded arrays; element index a = position in the sorted elements.

    Layer l of member m, element a maps ``sizes[m, a, l]`` inputs to ``sizes[m, a, l + 1]`` outputs with
    ``weights[m, a, l, :n_in, :n_out]`` and ``biases[m, a, l, :n_out]``; inputs are G * factor + shift (AMP's
    fprange)."""

    weights: np.ndarray  # (M, E, L, H, H)
    biases: np.ndarray  # (M, E, L, H)
    sizes: np.ndarray  # (M, E, L + 1) int64
    factor: np.ndarray  # (M, E, K)
    shift: np.ndarray  # (M, E, K)
    slope: np.ndarray  # (M, E) eV
    intercept: np.ndarray  # (M, E) eV
    activation: np.ndarray  # (M,) int64: 0 tanh, 1 sigmoid, 2 linear

    def args(self) -> tuple:
        """The fused kernel's network arguments (after the descriptor's)."""
        return (self.weights, self.biases, self.sizes, self.factor, self.shift, self.slope, self.intercept,
                self.activation)


def pack_networks(networks: Sequence[AtomicNeuralNetwork], n_columns: int) -> PackedNetworks | None:
    """The padded arrays of ``networks`` (same elements) for fingerprints of ``n_columns`` columns; None when
    their per-element networks differ in depth (the unfused path serves those)."""
    elements = networks[0].elements
    nets = [[network.networks[el] for el in elements] for network in networks]
    depths = {len(net.weights) for member in nets for net in member}
    if len(depths) != 1:
        return None
    depth = depths.pop()
    width = max(max(w.shape[0] - 1, w.shape[1]) for member in nets for net in member for w in net.weights)
    n_members, n_el = len(networks), len(elements)
    weights = np.zeros((n_members, n_el, depth, width, width))
    biases = np.zeros((n_members, n_el, depth, width))
    sizes = np.zeros((n_members, n_el, depth + 1), dtype=np.int64)
    factor = np.ones((n_members, n_el, n_columns))
    shift = np.zeros((n_members, n_el, n_columns))
    slope, intercept = np.zeros((n_members, n_el)), np.zeros((n_members, n_el))
    for m, member in enumerate(nets):
        for a, net in enumerate(member):
            n_in = len(net.fp_min)
            factor[m, a, :n_in] = net.scale(np.ones((1, n_in)))[1]
            shift[m, a, :n_in] = net.scale(np.zeros((1, n_in)))[0][0]
            sizes[m, a, 0] = n_in
            for l, w in enumerate(net.weights):
                sizes[m, a, l + 1] = w.shape[1]
                weights[m, a, l, : w.shape[0] - 1, : w.shape[1]] = w[:-1]
                biases[m, a, l, : w.shape[1]] = w[-1]
            slope[m, a], intercept[m, a] = net.slope_eV, net.intercept_eV
    activation = np.array([_ACTIVATION_CODES[network.activation] for network in networks], dtype=np.int64)
    return PackedNetworks(weights, biases, sizes, factor, shift, slope, intercept, activation)


@njit(inline="always", cache=True)
def cutoff_of_square(x):
    """(f_c, d f_c / dx) at x = (R / R_c)^2 in [0, 1] (the cosine cutoff, by its power series in x)."""
    value = _FC_SERIES[15]
    for n in range(14, -1, -1):
        value = value * x + _FC_SERIES[n]
    slope = _FC_SERIES_PRIME[14]
    for n in range(13, -1, -1):
        slope = slope * x + _FC_SERIES_PRIME[n]
    return value, slope


@njit(inline="always", cache=True)
def _activate(x, code):
    """(f(x), f'(x)) for tanh (0), sigmoid (1), linear (2)."""
    if code == 0:
        y = math.tanh(x)
        return y, 1.0 - y * y
    if code == 1:
        y = 1.0 / (1.0 + math.exp(-x))
        return y, y * (1.0 - y)
    return x, 1.0


@njit(cache=True)
def _network(m, a, g, weights, biases, sizes, factor, shift, slope, intercept, activation, want_gradient,
             values, slopes, delta, dE_dG):
    """E of member m's element-a network at G and, if asked, dE/dG into dE_dG[:n_in]; values/slopes/delta are
    (L + 1, H) scratch."""
    depth = sizes.shape[2] - 1
    n_in = sizes[m, a, 0]
    code = activation[m]
    for k in range(n_in):
        values[0, k] = g[k] * factor[m, a, k] + shift[m, a, k]
    for l in range(depth):
        n_from, n_to = sizes[m, a, l], sizes[m, a, l + 1]
        for j in range(n_to):
            net = biases[m, a, l, j]
            for k in range(n_from):
                net += values[l, k] * weights[m, a, l, k, j]
            values[l + 1, j], slopes[l + 1, j] = _activate(net, code)
    energy = slope[m, a] * values[depth, 0] + intercept[m, a]
    if want_gradient:
        delta[depth, 0] = slope[m, a] * slopes[depth, 0]
        for l in range(depth - 1, -1, -1):
            n_from, n_to = sizes[m, a, l], sizes[m, a, l + 1]
            for k in range(n_from):
                total = 0.0
                for j in range(n_to):
                    total += weights[m, a, l, k, j] * delta[l + 1, j]
                delta[l, k] = total * slopes[l, k] if l > 0 else total
        for k in range(n_in):
            dE_dG[k] = delta[0, k] * factor[m, a, k]
    return energy


@njit(parallel=True, cache=True)
def energy_and_pair_gradient(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset,
                             gamma, zeta, weights, biases, sizes, factor, shift, slope, intercept, activation,
                             want_gradient, n_chunks):
    """(E_i of every member (M, N) in eV, dE/d vectors[p] (M, P, 3) in eV/A; zeros when ``want_gradient`` is
    False). Centres are taken in ``n_chunks`` contiguous chunks (a few per thread), each with its own scratch."""
    n_atoms = species.shape[0]
    n_members = weights.shape[0]
    n_columns = eta.shape[1]
    rc2 = rc * rc
    inv_rc2 = 1.0 / rc2
    energies = np.zeros((n_members, n_atoms))
    out = np.zeros((n_members, vectors.shape[0], 3))
    g2_width = max(g2_slots.shape[2] - 1, 1)
    g4_width = max(g4_slots.shape[3] - 1, 1)
    width = max(n_columns, weights.shape[3])
    depth = sizes.shape[2] - 1
    n_chunks = max(1, min(n_atoms, n_chunks))
    for c in prange(n_chunks):
        lo, hi = c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks
        most = 0
        for i in range(lo, hi):
            most = max(most, first[i + 1] - first[i])
        n_cached = most * (most - 1) // 2 if want_gradient else 0
        pair_q = np.empty(n_cached, dtype=np.int64)
        per_pair = np.empty(most, dtype=np.int64)  # triplets kept whose first pair is p
        triplet = np.empty((n_cached, 3))  # cos, f_c(R_jk), f_c'(R_jk) / R_jk
        columns = np.empty((n_cached * g4_width, 2))  # Gaussian x (angular term, its cos-derivative)
        radial = np.empty(most * g2_width if want_gradient else 0)
        element = np.empty(most, dtype=np.int64)
        inverse = np.empty(most)
        within = np.empty(most, dtype=np.int64)
        g = np.empty(n_columns)
        w = np.zeros((n_members, width))
        values = np.empty((depth + 1, width))
        slopes = np.empty((depth + 1, width))
        delta = np.empty((depth + 1, width))
        s_cos = np.empty(n_members)
        s_rsum = np.empty(n_members)
        s_cut = np.empty(n_members)
        along = np.empty(n_members)
        on_p = np.empty((n_members, 3))
        for i in range(lo, hi):
            a = species[i]
            start, stop = first[i], first[i + 1]
            g[:] = 0.0
            n_radial = 0
            for p in range(start, stop):
                rp, fcp, dfcp = dist[p], fc[p], dfc[p]
                e = species[neighbor[p]]
                element[p - start] = e
                inverse[p - start] = 1.0 / rp
                for s in range(g2_slots.shape[2]):
                    k = g2_slots[a, e, s]
                    if k < 0:
                        break
                    x = rp - offset[a, k]
                    gauss = math.exp(-eta[a, k] * x * x / rc2)
                    g[k] += gauss * fcp
                    if want_gradient:
                        radial[n_radial] = gauss * (dfcp - 2.0 * eta[a, k] * x / rc2 * fcp) / rp
                        n_radial += 1
            n_triplets = 0
            n_stored = 0
            for p in range(start, stop):
                px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
                ep = element[p - start]
                rp, inv_p, fcp = dist[p], inverse[p - start], fc[p]
                # the neighbours k > j within R_c of j (f_c(R_jk) > 0), listed without a branch per candidate:
                # about half the candidates fail, at random, which a branch would mispredict
                n_within = 0
                for q in range(p + 1, stop):
                    jx, jy, jz = vectors[q, 0] - px, vectors[q, 1] - py, vectors[q, 2] - pz
                    within[n_within] = q
                    n_within += jx * jx + jy * jy + jz * jz < rc2
                before = n_triplets
                for n in range(n_within):
                    q = within[n]
                    eq = element[q - start]
                    if g4_slots[a, ep, eq, 0] < 0:
                        continue
                    qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                    jx, jy, jz = qx - px, qy - py, qz - pz
                    rjk2 = jx * jx + jy * jy + jz * jz
                    rq = dist[q]
                    cos = (px * qx + py * qy + pz * qz) * (inv_p * inverse[q - start])
                    if cos < -1.0:  # rounding; AMP clamps the same way
                        cos = -1.0
                    fcj, dfcj_dx = cutoff_of_square(rjk2 * inv_rc2)
                    cut = fcp * fc[q] * fcj
                    rsum = rp * rp + rq * rq + rjk2
                    last_eta = -1.0
                    gauss = 0.0
                    for s in range(g4_slots.shape[3]):
                        k = g4_slots[a, ep, eq, s]
                        if k < 0:
                            break
                        if eta[a, k] != last_eta:
                            last_eta = eta[a, k]
                            gauss = math.exp(-last_eta * rsum / rc2)
                        value, slope_k = _angular(cos, gamma[a, k], zeta[a, k])
                        g[k] += value * gauss * cut
                        if want_gradient:
                            columns[n_stored, 0] = value * gauss
                            columns[n_stored, 1] = slope_k * gauss
                            n_stored += 1
                    if want_gradient:
                        pair_q[n_triplets] = q
                        triplet[n_triplets, 0] = cos
                        triplet[n_triplets, 1] = fcj
                        triplet[n_triplets, 2] = 2.0 * dfcj_dx * inv_rc2  # f_c'(R_jk) / R_jk
                        n_triplets += 1
                per_pair[p - start] = n_triplets - before
            for m in range(n_members):
                energies[m, i] = _network(m, a, g, weights, biases, sizes, factor, shift, slope, intercept,
                                          activation, want_gradient, values, slopes, delta, w[m])
            if not want_gradient:
                continue
            n_radial = 0
            for p in range(start, stop):
                e = element[p - start]
                along[:] = 0.0
                for s in range(g2_slots.shape[2]):
                    k = g2_slots[a, e, s]
                    if k < 0:
                        break
                    for m in range(n_members):
                        along[m] += w[m, k] * radial[n_radial]
                    n_radial += 1
                for m in range(n_members):
                    out[m, p, 0] += along[m] * vectors[p, 0]
                    out[m, p, 1] += along[m] * vectors[p, 1]
                    out[m, p, 2] += along[m] * vectors[p, 2]
            n_stored = 0
            t = 0
            for p in range(start, stop):
                ep = element[p - start]
                px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
                inv_p, fcp, dfcp = inverse[p - start], fc[p], dfc[p]
                on_p[:, :] = 0.0  # dE/d vectors[p], summed over its triplets
                for _ in range(per_pair[p - start]):
                    q = pair_q[t]
                    eq = element[q - start]
                    cos, fcj, dfcj_r = triplet[t, 0], triplet[t, 1], triplet[t, 2]
                    t += 1
                    qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                    jx, jy, jz = qx - px, qy - py, qz - pz
                    inv_q, fcq = inverse[q - start], fc[q]
                    cut = fcp * fcq * fcj
                    # d cos/dp = q/(rp rq) - cos p/rp^2 (zero where cos was clamped at -1, as AMP)
                    inv = inv_p * inv_q
                    c_p = -cos * inv_p * inv_p
                    c_q = -cos * inv_q * inv_q
                    if cos == -1.0:
                        inv = c_p = c_q = 0.0
                    # d rsum/dp = 2 (p - j), d rsum/dq = 2 (q + j); d cut/dp = b_p p - b_j j, d cut/dq = b_q q + b_j j
                    b_p = dfcp * fcq * fcj * inv_p
                    b_q = fcp * dfc[q] * fcj * inv_q
                    b_j = fcp * fcq * dfcj_r
                    cos_px, cos_py, cos_pz = qx * inv + c_p * px, qy * inv + c_p * py, qz * inv + c_p * pz
                    cos_qx, cos_qy, cos_qz = px * inv + c_q * qx, py * inv + c_q * qy, pz * inv + c_q * qz
                    cut_px, cut_py, cut_pz = b_p * px - b_j * jx, b_p * py - b_j * jy, b_p * pz - b_j * jz
                    cut_qx, cut_qy, cut_qz = b_q * qx + b_j * jx, b_q * qy + b_j * jy, b_q * qz + b_j * jz
                    # per member: weighted sums over the columns (coefficients of d cos, d rsum and d cut), then
                    # the chain rule; one network (MD) keeps its sums in registers
                    if n_members == 1:
                        sc = sr = sx = 0.0
                        for s in range(g4_slots.shape[3]):
                            k = g4_slots[a, ep, eq, s]
                            if k < 0:
                                break
                            sc += w[0, k] * columns[n_stored, 1]
                            sr -= w[0, k] * columns[n_stored, 0] * eta[a, k]
                            sx += w[0, k] * columns[n_stored, 0]
                            n_stored += 1
                        sc *= cut
                        sr *= 2.0 * cut / rc2
                        on_p[0, 0] += sc * cos_px + sr * (px - jx) + sx * cut_px
                        on_p[0, 1] += sc * cos_py + sr * (py - jy) + sx * cut_py
                        on_p[0, 2] += sc * cos_pz + sr * (pz - jz) + sx * cut_pz
                        out[0, q, 0] += sc * cos_qx + sr * (qx + jx) + sx * cut_qx
                        out[0, q, 1] += sc * cos_qy + sr * (qy + jy) + sx * cut_qy
                        out[0, q, 2] += sc * cos_qz + sr * (qz + jz) + sx * cut_qz
                        continue
                    s_cos[:] = 0.0
                    s_rsum[:] = 0.0
                    s_cut[:] = 0.0
                    for s in range(g4_slots.shape[3]):
                        k = g4_slots[a, ep, eq, s]
                        if k < 0:
                            break
                        c_value, c_slope = columns[n_stored, 0], columns[n_stored, 1]
                        c_rsum = c_value * eta[a, k]
                        for m in range(n_members):
                            s_cos[m] += w[m, k] * c_slope
                            s_rsum[m] -= w[m, k] * c_rsum
                            s_cut[m] += w[m, k] * c_value
                        n_stored += 1
                    for m in range(n_members):
                        sc = s_cos[m] * cut
                        sr = s_rsum[m] * 2.0 * cut / rc2
                        sx = s_cut[m]
                        on_p[m, 0] += sc * cos_px + sr * (px - jx) + sx * cut_px
                        on_p[m, 1] += sc * cos_py + sr * (py - jy) + sx * cut_py
                        on_p[m, 2] += sc * cos_pz + sr * (pz - jz) + sx * cut_pz
                        out[m, q, 0] += sc * cos_qx + sr * (qx + jx) + sx * cut_qx
                        out[m, q, 1] += sc * cos_qy + sr * (qy + jy) + sx * cut_qy
                        out[m, q, 2] += sc * cos_qz + sr * (qz + jz) + sx * cut_qz
                for m in range(n_members):
                    out[m, p, 0] += on_p[m, 0]
                    out[m, p, 1] += on_p[m, 1]
                    out[m, p, 2] += on_p[m, 2]
    return energies, out
