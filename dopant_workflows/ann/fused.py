"""Energy and forces of Behler-Parrinello networks in one compiled pass per centre atom (MD's hot path).

The unfused path (``descriptor.fingerprints`` -> ``network.atomic_energies`` -> ``descriptor.energy_gradient``)
walks every triplet twice and recomputes its geometry, Gaussian and angular terms in the second walk. Here each
centre atom, in turn:

1. puts its neighbours in element order and lists its triplets (j < k, R_jk < R_c) in bins of one element pair,
   without a branch per candidate;
2. evaluates each bin in loops over triplets that the compiler vectorises (several triplets per SIMD instruction):
   cos(theta), the Gaussian's per-triplet factor H(R_jk^2) = f_c exp(-eta R_jk^2 / R_c^2) by its power series (no
   sqrt, cos or exp per triplet: A(R) = exp(-eta R^2 / R_c^2) f_c(R) is computed once per pair), and the angular
   shapes (1 + gamma cos)^zeta once per (eta, gamma, zeta), not once per column; G_i's columns are sums over a bin;
3. runs its element's network(s) forward and backward (a few hundred flops each): E_i and dE_i/dG_i;
4. one network (MD): weights the kept shapes with dE_i/dG_i into two coefficients per triplet (of d cos and
   d(A A H)), turns them into dE/d(pair vector) in another vectorised loop (multiplications only) and scatters
   those onto its pairs; a committee of M: accumulates once the Jacobian dG_k/d(pair vector) of the columns each
   pair moves (28 of 100 for ``gaussian-radial8``), then contracts it with each member's dE_i/dG_i (a short dot
   product per pair and member), instead of M passes over the triplets.

Every loop over triplets runs over views from index 0 (the compiler then knows no index is negative: numba's
wraparound test per element otherwise stops vectorisation: 8x on the series alone, bench/results/md_speed.md)
and the triplet indices are unsigned. M networks on the same descriptor (a committee) share steps 1-2 and the
Jacobian of step 4; each adds its network and a contraction. Same layout and same numbers as the unfused kernels
(:mod:`dopant_workflows.ann.kernels`, to rounding); :func:`pack_networks` packs the networks into padded arrays,
:func:`angular_tables` the G4 functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from dopant_workflows.ann.kernels import _FC_SERIES, cutoff_of_square
from dopant_workflows.ann.network import AtomicNeuralNetwork

_ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "linear": 2}


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


def pack_networks(networks: Sequence[AtomicNeuralNetwork], descriptor) -> PackedNetworks | None:
    """The padded arrays of ``networks`` (same elements) on ``descriptor``'s fingerprints; None when the fused
    kernel does not compute that descriptor (it is Gaussian's: ``descriptor.fused_kernel``) or the networks'
    per-element networks differ in depth (the unfused path serves both)."""
    if not descriptor.fused_kernel:
        return None
    n_columns = descriptor.max_functions
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
            for layer, w in enumerate(net.weights):
                sizes[m, a, layer + 1] = w.shape[1]
                weights[m, a, layer, : w.shape[0] - 1, : w.shape[1]] = w[:-1]
                biases[m, a, layer, : w.shape[1]] = w[-1]
            slope[m, a], intercept[m, a] = net.slope_eV, net.intercept_eV
    activation = np.array([_ACTIVATION_CODES[network.activation] for network in networks], dtype=np.int64)
    return PackedNetworks(weights, biases, sizes, factor, shift, slope, intercept, activation)


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
    for layer in range(depth):
        n_from, n_to = sizes[m, a, layer], sizes[m, a, layer + 1]
        for j in range(n_to):
            net = biases[m, a, layer, j]
            for k in range(n_from):
                net += values[layer, k] * weights[m, a, layer, k, j]
            values[layer + 1, j], slopes[layer + 1, j] = _activate(net, code)
    energy = slope[m, a] * values[depth, 0] + intercept[m, a]
    if want_gradient:
        delta[depth, 0] = slope[m, a] * slopes[depth, 0]
        for layer in range(depth - 1, -1, -1):
            n_from, n_to = sizes[m, a, layer], sizes[m, a, layer + 1]
            for k in range(n_from):
                total = 0.0
                for j in range(n_to):
                    total += weights[m, a, layer, k, j] * delta[layer + 1, j]
                delta[layer, k] = total * slopes[layer, k] if layer > 0 else total
        for k in range(n_in):
            dE_dG[k] = delta[0, k] * factor[m, a, k]
    return energy


#: terms of the power series of H(x) = f_c(x) exp(-eta x) in x = (R_jk / R_c)^2 (a G4 group's third-side factor)
_H_TERMS = 16
#: a group whose series misses H by more than this (large eta: alternating terms cancel) multiplies f_c's series by exp
_H_SERIES_TOLERANCE = 1e-14
#: committees this large take the per-pair Jacobian (shared) instead of a pass over the triplets per member:
#: measured at 150 atoms (LSiPS demo network, 2 cores), the kernel takes 1.35 + 0.5 (M - 1) ms for M members by
#: passes per member against ~2.1 + 0.12 M ms by the Jacobian: it pays from 4 members (bench/results/md_speed.md)
_JACOBIAN_MEMBERS = 4


@dataclass(frozen=True)
class AngularTables:
    """The G4 functions as the fused kernel evaluates them, over all centre elements.

    A *shape* is one (eta, gamma, zeta): its value 2^(1-zeta) (1 + gamma cos)^zeta and slope are computed once per
    triplet and serve every column of that shape (one per element pair). A *group* is one eta: G4's Gaussian
    factorises, exp(-eta (R_ij^2 + R_ik^2 + R_jk^2) / R_c^2) f_c(R_ij) f_c(R_ik) f_c(R_jk) = A(R_ij) A(R_ik) H(x_jk)
    with A(R) = exp(-eta R^2 / R_c^2) f_c(R) per pair and H(x) = f_c(x) exp(-eta x) per triplet, a power series in
    x = R_jk^2 / R_c^2 (entire: no sqrt, cos or exp per triplet)."""

    column_shape: np.ndarray  # (E, K) int64: shape of column k of centre element a; -1 for G2 and padding
    shape_group: np.ndarray  # (S,) int64
    shape_gamma: np.ndarray  # (S,)
    shape_zeta: np.ndarray  # (S,)
    shape_power: np.ndarray  # (S,) int64: zeta when it is an integer in 1..16 (a chain of products), else -1
    group_eta: np.ndarray  # (T,)
    group_series: np.ndarray  # (T, _H_TERMS): H's coefficients of x^n
    group_direct: np.ndarray  # (T,) int64: 1 where the series is not accurate enough (f_c's series x exp instead)
    pair_columns: np.ndarray  # (E, E, J + 1): the columns a pair (centre a, neighbour e) moves, -1 ends the list
    column_slot: np.ndarray  # (E, E, K): position of column k in pair_columns[a, e], -1 where not moved

    def args(self) -> tuple:
        return (self.column_shape, self.shape_group, self.shape_gamma, self.shape_zeta, self.shape_power,
                self.group_eta, self.group_series, self.group_direct, self.pair_columns, self.column_slot)


def h_series(eta: float) -> np.ndarray:
    """Coefficients of x^n, n < _H_TERMS, of f_c(x) exp(-eta x) (the Cauchy product of the two series)."""
    fc = np.zeros(_H_TERMS)
    fc[: len(_FC_SERIES)] = _FC_SERIES[:_H_TERMS]
    decay = np.array([(-eta) ** n / math.factorial(n) for n in range(_H_TERMS)])
    return np.array([np.dot(fc[: n + 1], decay[n::-1]) for n in range(_H_TERMS)])


def _h_series_accurate(eta: float, coefficients: np.ndarray) -> bool:
    """Whether the series gives H and dH/dx within _H_SERIES_TOLERANCE (x 10 for the slope) on [0, 1]."""
    x = np.linspace(0.0, 1.0, 2001)
    direct = 0.5 * (np.cos(np.pi * np.sqrt(x)) + 1.0) * np.exp(-eta * x)
    root = np.sqrt(np.maximum(x, 1e-300))
    fc_slope = np.where(x > 0, -np.pi * np.sin(np.pi * root) / (4.0 * root), -np.pi**2 / 4.0)  # d f_c / dx
    slope = fc_slope * np.exp(-eta * x) - eta * direct
    series = np.polynomial.polynomial.polyval(x, coefficients)
    series_slope = np.polynomial.polynomial.polyval(x, coefficients[1:] * np.arange(1, _H_TERMS))
    return bool(np.abs(series - direct).max() <= _H_SERIES_TOLERANCE
                and np.abs(series_slope - slope).max() <= 10 * _H_SERIES_TOLERANCE)


def angular_tables(g4_slots: np.ndarray, eta: np.ndarray, gamma: np.ndarray, zeta: np.ndarray,
                   pair_columns: np.ndarray, column_slot: np.ndarray) -> AngularTables:
    """:class:`AngularTables` of a descriptor's kernel tables (``GaussianDescriptor.angular_tables`` caches it)."""
    n_el, width = eta.shape
    columns = sorted({(a, int(k)) for a in range(n_el) for k in g4_slots[a].ravel() if k >= 0})
    shapes = sorted({(eta[a, k], gamma[a, k], zeta[a, k]) for a, k in columns})
    etas = sorted({s[0] for s in shapes})
    column_shape = -np.ones((n_el, width), dtype=np.int64)
    for a, k in columns:
        column_shape[a, k] = shapes.index((eta[a, k], gamma[a, k], zeta[a, k]))
    power = [int(z) if float(z).is_integer() and 1 <= z <= 16 else -1 for _, _, z in shapes]
    series = np.array([h_series(e) for e in etas]).reshape(len(etas), _H_TERMS)
    direct = np.array([0 if _h_series_accurate(e, c) else 1 for e, c in zip(etas, series, strict=True)],
                      dtype=np.int64)
    return AngularTables(column_shape, np.array([etas.index(s[0]) for s in shapes], dtype=np.int64),
                         np.array([s[1] for s in shapes], dtype=float), np.array([s[2] for s in shapes], dtype=float),
                         np.array(power, dtype=np.int64), np.array(etas, dtype=float), series, direct,
                         pair_columns, column_slot)


@njit(inline="always", cache=True)
def _series_coefficients(c):
    """H's 16 coefficients as a tuple of scalars: loops over triplets then keep them in registers (an array's
    elements are reloaded every iteration: a store might have changed them)."""
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15])


@njit(inline="always", cache=True)
def _slope_coefficients(c):
    """The coefficients of dH/dx (15, and a 0 to make 16) as a tuple of scalars."""
    return (c[1], 2.0 * c[2], 3.0 * c[3], 4.0 * c[4], 5.0 * c[5], 6.0 * c[6], 7.0 * c[7], 8.0 * c[8], 9.0 * c[9],
            10.0 * c[10], 11.0 * c[11], 12.0 * c[12], 13.0 * c[13], 14.0 * c[14], 15.0 * c[15], 0.0)


@njit(inline="always", cache=True)
def _series(c, x):
    """sum_n c[n] x^n over 16 coefficients (Horner, written out: no loop, so loops over x vectorise)."""
    return c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * (c[5] + x * (c[6] + x * (c[7] + x * (
        c[8] + x * (c[9] + x * (c[10] + x * (c[11] + x * (c[12] + x * (c[13] + x * (c[14] + x * c[15]))))))))))))))


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def energy_and_pair_gradient(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset,
                             gamma, zeta, column_shape, shape_group, shape_gamma, shape_zeta, shape_power, group_eta,
                             group_series, group_direct, pair_columns, column_slot, weights, biases, sizes, factor,
                             shift, slope, intercept, activation, want_gradient, n_chunks):
    """(E_i of every member (M, N) in eV, dE/d vectors[p] (M, P, 3) in eV/A; zeros when ``want_gradient`` is
    False). Centres are taken in ``n_chunks`` contiguous chunks (a few per thread), each with its own scratch.

    Per centre, its neighbours are put in element order; the triplets (j < k, R_jk < R_c) are listed in bins
    of one element pair, each bin walked by loops over triplets that the compiler vectorises (no branch, no
    transcendental function: the geometry, H's series and the angular shapes); the columns are sums over a bin;
    the forces on the pair vectors are scattered back per triplet."""
    n_atoms = species.shape[0]
    n_members = weights.shape[0]
    n_columns = eta.shape[1]
    n_el = g2_slots.shape[0]
    n_shapes = shape_group.shape[0]
    n_groups = group_eta.shape[0]
    rc2 = rc * rc
    inv_rc2 = 1.0 / rc2
    energies = np.zeros((n_members, n_atoms))
    out = np.zeros((n_members, vectors.shape[0], 3))
    g2_width = max(g2_slots.shape[2] - 1, 1)
    width = max(n_columns, weights.shape[3])
    depth = sizes.shape[2] - 1
    n_chunks = max(1, min(n_atoms, n_chunks))
    for c in prange(n_chunks):
        lo, hi = c * n_atoms // n_chunks, (c + 1) * n_atoms // n_chunks
        most = 1
        for i in range(lo, hi):
            most = max(most, first[i + 1] - first[i])
        cap = most * (most - 1) // 2 + 1
        # the centre's neighbours in element order (local index u)
        lx, ly, lz = np.empty(most), np.empty(most), np.empty(most)
        lr, linv, lfc, ldfc = np.empty(most), np.empty(most), np.empty(most), np.empty(most)
        lel, orig = np.empty(most, dtype=np.int64), np.empty(most, dtype=np.int64)
        count, fill = np.empty(n_el, dtype=np.int64), np.empty(n_el, dtype=np.int64)
        bstart = np.empty(n_el + 1, dtype=np.int64)  # neighbours of element e: local [bstart[e], bstart[e + 1])
        pair_a, pair_da = np.empty((n_groups, most)), np.empty((n_groups, most))  # A(R) and A'(R) / R per group
        radial = np.empty(most * g2_width if want_gradient else 0)
        # triplets, binned by element pair (ep <= eq) with G4 columns: bin b holds [bin_lo[b], bin_hi[b])
        bin_lo, bin_hi = np.empty(n_el * n_el, dtype=np.int64), np.empty(n_el * n_el, dtype=np.int64)
        bin_ep, bin_eq = np.empty(n_el * n_el, dtype=np.int64), np.empty(n_el * n_el, dtype=np.int64)
        bin_of = np.empty(n_el * n_el, dtype=np.int64)  # bin of (ep, eq) at ep * E + eq; -1: no columns
        bin_columns = np.empty(n_el * n_el, dtype=np.int64)  # a bin's G4 columns: bin_k[b, :bin_columns[b]]
        bin_k = np.empty((n_el * n_el, g4_slots.shape[3]), dtype=np.int64)
        tu, tq = np.empty(cap, dtype=np.uint32), np.empty(cap, dtype=np.uint32)  # unsigned: no wraparound test
        tx, tcos = np.empty(cap), np.empty(cap)
        th, tdh, tw = np.empty((n_groups, cap)), np.empty((n_groups, cap)), np.empty((n_groups, cap))
        tval, tslope = np.empty((n_shapes, cap)), np.empty((n_shapes, cap))
        jacobian = want_gradient and n_members >= _JACOBIAN_MEMBERS
        n_grad = cap if want_gradient else 0
        n_pass = cap if want_gradient and not jacobian else 0  # a pass per member: its coefficients per triplet
        coef_cos, coef_w = np.empty(n_pass), np.empty((n_groups, n_pass))
        alpha_p, alpha_q, beta = np.empty(n_pass), np.empty(n_pass), np.empty(n_pass)
        fp, fq = np.empty((3, n_grad)), np.empty((3, n_grad))  # dE or dG_k / d(pair vector) per triplet, j and k
        on_local = np.empty((most, 3))  # dE/d(pair vector) of one member, local order
        # a committee's: the per-pair Jacobian dG_k / d vectors[u] of the columns each pair moves, and per triplet
        # d cos / dp, d cos / dq and per group d(A A H) / dp, / dq
        jac = np.empty((most if jacobian else 0, 3, pair_columns.shape[2]))
        d_cos = np.empty((6, cap if jacobian else 0))
        d_w = np.empty((n_groups, 6, cap if jacobian else 0))
        picked = np.empty(pair_columns.shape[2])  # a member's dE/dG on the columns a pair moves
        g = np.empty(n_columns)
        w = np.zeros((n_members, width))
        values = np.empty((depth + 1, width))
        slopes = np.empty((depth + 1, width))
        delta = np.empty((depth + 1, width))
        for i in range(lo, hi):
            a = species[i]
            start, stop = first[i], first[i + 1]
            n = stop - start
            count[:] = 0
            for p in range(start, stop):
                count[species[neighbor[p]]] += 1
            bstart[0] = 0
            for e in range(n_el):
                bstart[e + 1] = bstart[e] + count[e]
                fill[e] = bstart[e]
            for p in range(start, stop):
                e = species[neighbor[p]]
                u = fill[e]
                fill[e] += 1
                orig[u], lel[u] = p, e
                lx[u], ly[u], lz[u] = vectors[p, 0], vectors[p, 1], vectors[p, 2]
                lr[u], lfc[u], ldfc[u] = dist[p], fc[p], dfc[p]
                linv[u] = 1.0 / dist[p]
            # radial functions (G2)
            g[:] = 0.0
            n_radial = 0
            for u in range(n):
                ru, fcu, e = lr[u], lfc[u], lel[u]
                for s in range(g2_slots.shape[2]):
                    k = g2_slots[a, e, s]
                    if k < 0:
                        break
                    x = ru - offset[a, k]
                    gauss = math.exp(-eta[a, k] * x * x / rc2)
                    g[k] += gauss * fcu
                    if want_gradient:
                        radial[n_radial] = gauss * (ldfc[u] - 2.0 * eta[a, k] * x / rc2 * fcu) / ru
                        n_radial += 1
            for grp in range(n_groups):
                for u in range(n):
                    decay = math.exp(-group_eta[grp] * lr[u] * lr[u] * inv_rc2)
                    pair_a[grp, u] = decay * lfc[u]
                    pair_da[grp, u] = decay * (ldfc[u] - 2.0 * group_eta[grp] * lr[u] * inv_rc2 * lfc[u]) * linv[u]
            # triplets j < k (in element order) with R_jk < R_c, listed without a branch per candidate
            size = n_bins = 0
            for ep in range(n_el):
                for eq in range(ep, n_el):
                    bin_of[ep * n_el + eq] = -1
                    if g4_slots[a, ep, eq, 0] >= 0:
                        bin_of[ep * n_el + eq] = n_bins
                        bin_columns[n_bins] = 0
                        for slot in range(g4_slots.shape[3]):
                            if g4_slots[a, ep, eq, slot] < 0:
                                break
                            bin_k[n_bins, slot] = g4_slots[a, ep, eq, slot]
                            bin_columns[n_bins] += 1
                        bin_ep[n_bins], bin_eq[n_bins] = ep, eq
                        bin_lo[n_bins] = bin_hi[n_bins] = size
                        n_p, n_q = count[ep], count[eq]
                        size += n_p * (n_p - 1) // 2 if ep == eq else n_p * n_q
                        n_bins += 1
            for u in range(n):
                ep = lel[u]
                px, py, pz = lx[u], ly[u], lz[u]
                for eq in range(ep, n_el):
                    b = bin_of[ep * n_el + eq]
                    if b < 0:
                        continue
                    pos = bin_hi[b]
                    q_lo, q_hi = max(u + 1, bstart[eq]), bstart[eq + 1]
                    if q_hi <= q_lo:
                        continue
                    # zero-based loops over views: the compiler then knows no index is negative (no wraparound
                    # test per element), which is what lets the loops below vectorise
                    xs, ys, zs = lx[q_lo:q_hi], ly[q_lo:q_hi], lz[q_lo:q_hi]
                    u_, q_, x_ = tu[pos:], tq[pos:], tx[pos:]
                    kept = 0
                    for n_q in range(q_hi - q_lo):
                        jx, jy, jz = xs[n_q] - px, ys[n_q] - py, zs[n_q] - pz
                        rjk2 = jx * jx + jy * jy + jz * jz
                        u_[kept], q_[kept], x_[kept] = u, q_lo + n_q, rjk2 * inv_rc2
                        kept += rjk2 < rc2
                    bin_hi[b] = pos + kept
            for b in range(n_bins):
                t_lo, t_hi = bin_lo[b], bin_hi[b]
                n_t = t_hi - t_lo
                u_, q_, x_, cos_ = tu[t_lo:t_hi], tq[t_lo:t_hi], tx[t_lo:t_hi], tcos[t_lo:t_hi]
                for t in range(n_t):
                    u, q = u_[t], q_[t]
                    cos = (lx[u] * lx[q] + ly[u] * ly[q] + lz[u] * lz[q]) * (linv[u] * linv[q])
                    cos_[t] = max(cos, -1.0)  # rounding; AMP clamps the same way
                for grp in range(n_groups):
                    h_, dh_, w_ = th[grp, t_lo:t_hi], tdh[grp, t_lo:t_hi], tw[grp, t_lo:t_hi]
                    a_ = pair_a[grp]
                    if group_direct[grp]:
                        decay_eta = group_eta[grp]
                        for t in range(n_t):
                            fcj, dfcj = cutoff_of_square(x_[t])
                            decay = math.exp(-decay_eta * x_[t])
                            h_[t] = fcj * decay
                            dh_[t] = (dfcj - decay_eta * fcj) * decay
                    else:
                        value_of = _series_coefficients(group_series[grp])
                        slope_of = _slope_coefficients(group_series[grp])
                        for t in range(n_t):
                            h_[t] = _series(value_of, x_[t])
                            dh_[t] = _series(slope_of, x_[t])
                    for t in range(n_t):
                        w_[t] = a_[u_[t]] * a_[q_[t]] * h_[t]
                for sh in range(n_shapes):
                    gam, shape_z = shape_gamma[sh], shape_zeta[sh]
                    power = shape_power[sh]
                    val_, slope_ = tval[sh, t_lo:t_hi], tslope[sh, t_lo:t_hi]
                    if power > 0:
                        pref = 0.5 ** (power - 1)
                        m = power - 1  # (1 + gamma cos)^(zeta - 1) by squaring: four bits cover zeta <= 16
                        b0, b1, b2, b3 = m & 1, m & 2, m & 4, m & 8
                        for t in range(n_t):
                            base = 1.0 + gam * cos_[t]
                            sq2 = base * base
                            sq4 = sq2 * sq2
                            sq8 = sq4 * sq4
                            below = (base if b0 else 1.0) * (sq2 if b1 else 1.0) * (sq4 if b2 else 1.0) * (
                                sq8 if b3 else 1.0)
                            val_[t] = pref * below * base
                            slope_[t] = pref * power * gam * below
                    else:
                        pref = 2.0 ** (1.0 - shape_z)
                        for t in range(n_t):
                            base = 1.0 + gam * cos_[t]
                            val_[t] = pref * base**shape_z
                            slope_[t] = 0.0 if base == 0.0 and shape_z < 1.0 else (
                                shape_z * gam * pref * base ** (shape_z - 1.0))
                for s in range(bin_columns[b]):
                    k = bin_k[b, s]
                    sh = column_shape[a, k]
                    val_, w_ = tval[sh, t_lo:t_hi], tw[shape_group[sh], t_lo:t_hi]
                    total = 0.0
                    for t in range(n_t):
                        total += val_[t] * w_[t]
                    g[k] += total
            for m in range(n_members):
                energies[m, i] = _network(m, a, g, weights, biases, sizes, factor, shift, slope, intercept,
                                          activation, want_gradient, values, slopes, delta, w[m])
            if not want_gradient:
                continue
            if not jacobian:  # one network (MD) or a few: per member, loops over triplets, vectorised
                for m in range(n_members):
                    on_local[:n, :] = 0.0
                    n_radial = 0
                    for u in range(n):
                        e = lel[u]
                        total = 0.0
                        for s in range(g2_slots.shape[2]):
                            k = g2_slots[a, e, s]
                            if k < 0:
                                break
                            total += w[m, k] * radial[n_radial]
                            n_radial += 1
                        on_local[u, 0] = total * lx[u]
                        on_local[u, 1] = total * ly[u]
                        on_local[u, 2] = total * lz[u]
                    for b in range(n_bins):
                        t_lo, t_hi = bin_lo[b], bin_hi[b]
                        n_t = t_hi - t_lo
                        u_, q_, cos_ = tu[t_lo:t_hi], tq[t_lo:t_hi], tcos[t_lo:t_hi]
                        # per triplet: the coefficient of d cos and, per group, of d(A A H)
                        cc_ = coef_cos[:n_t]
                        cc_[:] = 0.0
                        coef_w[:, :n_t] = 0.0
                        for s in range(bin_columns[b]):
                            k = bin_k[b, s]
                            sh = column_shape[a, k]
                            grp = shape_group[sh]
                            wk = w[m, k]
                            val_, slope_, w_ = tval[sh, t_lo:t_hi], tslope[sh, t_lo:t_hi], tw[grp, t_lo:t_hi]
                            cw_ = coef_w[grp, :n_t]
                            for t in range(n_t):
                                cc_[t] += wk * slope_[t] * w_[t]
                                cw_[t] += wk * val_[t]
                        # d(A_j A_k H)/dp = A_k H A_j'/R_j p - 2 A_j A_k H' / R_c^2 (k - j), and mirrored for q
                        ap_, aq_, bt_ = alpha_p[:n_t], alpha_q[:n_t], beta[:n_t]
                        ap_[:] = 0.0
                        aq_[:] = 0.0
                        bt_[:] = 0.0
                        for grp in range(n_groups):
                            h_, dh_, cw_ = th[grp, t_lo:t_hi], tdh[grp, t_lo:t_hi], coef_w[grp, :n_t]
                            a_, da_ = pair_a[grp], pair_da[grp]
                            for t in range(n_t):
                                u, q = u_[t], q_[t]
                                z = cw_[t] * h_[t]
                                au, aq = a_[u], a_[q]
                                ap_[t] += z * aq * da_[u]
                                aq_[t] += z * au * da_[q]
                                bt_[t] -= 2.0 * inv_rc2 * cw_[t] * au * aq * dh_[t]
                        fpx, fpy, fpz = fp[0, :n_t], fp[1, :n_t], fp[2, :n_t]
                        fqx, fqy, fqz = fq[0, :n_t], fq[1, :n_t], fq[2, :n_t]
                        for t in range(n_t):
                            u, q = u_[t], q_[t]
                            cos = cos_[t]
                            cc = 0.0 if cos == -1.0 else cc_[t]  # d cos = 0 where clamped, as AMP
                            inv_u, inv_q = linv[u], linv[q]
                            ap = ap_[t] - cc * cos * inv_u * inv_u
                            aq = aq_[t] - cc * cos * inv_q * inv_q
                            bt, ci = bt_[t], cc * inv_u * inv_q
                            px, py, pz = lx[u], ly[u], lz[u]
                            qx, qy, qz = lx[q], ly[q], lz[q]
                            fpx[t] = ap * px + bt * (qx - px) + ci * qx
                            fpy[t] = ap * py + bt * (qy - py) + ci * qy
                            fpz[t] = ap * pz + bt * (qz - pz) + ci * qz
                            fqx[t] = aq * qx - bt * (qx - px) + ci * px
                            fqy[t] = aq * qy - bt * (qy - py) + ci * py
                            fqz[t] = aq * qz - bt * (qz - pz) + ci * pz
                        for t in range(n_t):
                            u, q = u_[t], q_[t]
                            on_local[u, 0] += fpx[t]
                            on_local[u, 1] += fpy[t]
                            on_local[u, 2] += fpz[t]
                            on_local[q, 0] += fqx[t]
                            on_local[q, 1] += fqy[t]
                            on_local[q, 2] += fqz[t]
                    for u in range(n):
                        p = orig[u]
                        out[m, p, 0] += on_local[u, 0]
                        out[m, p, 1] += on_local[u, 1]
                        out[m, p, 2] += on_local[u, 2]
            else:  # a committee: the per-pair Jacobian once, then one contraction per member
                jac[:n] = 0.0
                n_radial = 0
                for u in range(n):
                    e = lel[u]
                    for s in range(g2_slots.shape[2]):
                        k = g2_slots[a, e, s]
                        if k < 0:
                            break
                        j = column_slot[a, e, k]
                        jac[u, 0, j] = radial[n_radial] * lx[u]
                        jac[u, 1, j] = radial[n_radial] * ly[u]
                        jac[u, 2, j] = radial[n_radial] * lz[u]
                        n_radial += 1
                for b in range(n_bins):
                    ep, eq, t_lo, t_hi = bin_ep[b], bin_eq[b], bin_lo[b], bin_hi[b]
                    n_t = t_hi - t_lo
                    u_, q_, cos_ = tu[t_lo:t_hi], tq[t_lo:t_hi], tcos[t_lo:t_hi]
                    dc = d_cos[:, :n_t]
                    for t in range(n_t):
                        u, q = u_[t], q_[t]
                        cos = cos_[t]
                        live = 0.0 if cos == -1.0 else 1.0  # d cos = 0 where clamped, as AMP
                        inv_u, inv_q = linv[u], linv[q]
                        c_i, c_p, c_q = live * inv_u * inv_q, live * cos * inv_u * inv_u, live * cos * inv_q * inv_q
                        dc[0, t] = c_i * lx[q] - c_p * lx[u]
                        dc[1, t] = c_i * ly[q] - c_p * ly[u]
                        dc[2, t] = c_i * lz[q] - c_p * lz[u]
                        dc[3, t] = c_i * lx[u] - c_q * lx[q]
                        dc[4, t] = c_i * ly[u] - c_q * ly[q]
                        dc[5, t] = c_i * lz[u] - c_q * lz[q]
                    for grp in range(n_groups):
                        h_, dh_, dw = th[grp, t_lo:t_hi], tdh[grp, t_lo:t_hi], d_w[grp, :, :n_t]
                        a_, da_ = pair_a[grp], pair_da[grp]
                        for t in range(n_t):
                            u, q = u_[t], q_[t]
                            au, aq = a_[u], a_[q]
                            e_p, e_q = h_[t] * aq * da_[u], h_[t] * au * da_[q]
                            e_b = -2.0 * inv_rc2 * au * aq * dh_[t]
                            jx, jy, jz = lx[q] - lx[u], ly[q] - ly[u], lz[q] - lz[u]
                            dw[0, t] = e_p * lx[u] + e_b * jx
                            dw[1, t] = e_p * ly[u] + e_b * jy
                            dw[2, t] = e_p * lz[u] + e_b * jz
                            dw[3, t] = e_q * lx[q] - e_b * jx
                            dw[4, t] = e_q * ly[q] - e_b * jy
                            dw[5, t] = e_q * lz[q] - e_b * jz
                    for s in range(bin_columns[b]):
                        k = bin_k[b, s]
                        sh = column_shape[a, k]
                        grp = shape_group[sh]
                        j_u, j_q = column_slot[a, ep, k], column_slot[a, eq, k]
                        val_, slope_, w_ = tval[sh, t_lo:t_hi], tslope[sh, t_lo:t_hi], tw[grp, t_lo:t_hi]
                        dw = d_w[grp, :, :n_t]
                        jp, jq = fp[:, :n_t], fq[:, :n_t]  # dT/dp = slope W d cos/dp + val d(A A H)/dp, and dT/dq
                        for t in range(n_t):
                            c_s, c_v = slope_[t] * w_[t], val_[t]
                            jp[0, t] = c_s * dc[0, t] + c_v * dw[0, t]
                            jp[1, t] = c_s * dc[1, t] + c_v * dw[1, t]
                            jp[2, t] = c_s * dc[2, t] + c_v * dw[2, t]
                            jq[0, t] = c_s * dc[3, t] + c_v * dw[3, t]
                            jq[1, t] = c_s * dc[4, t] + c_v * dw[4, t]
                            jq[2, t] = c_s * dc[5, t] + c_v * dw[5, t]
                        for t in range(n_t):
                            u, q = u_[t], q_[t]
                            jac[u, 0, j_u] += jp[0, t]
                            jac[u, 1, j_u] += jp[1, t]
                            jac[u, 2, j_u] += jp[2, t]
                            jac[q, 0, j_q] += jq[0, t]
                            jac[q, 1, j_q] += jq[1, t]
                            jac[q, 2, j_q] += jq[2, t]
                for m in range(n_members):
                    for e in range(n_el):
                        n_moved = 0
                        for j in range(pair_columns.shape[2]):
                            k = pair_columns[a, e, j]
                            if k < 0:
                                break
                            picked[j] = w[m, k]
                            n_moved += 1
                        for u in range(bstart[e], bstart[e + 1]):
                            p = orig[u]
                            for d in range(3):
                                total = 0.0
                                for j in range(n_moved):
                                    total += picked[j] * jac[u, d, j]
                                out[m, p, d] += total
    return energies, out


def evaluate(descriptor, species: np.ndarray, pairs, packed: PackedNetworks, want_gradient: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`energy_and_pair_gradient` of ``packed`` on one structure's ``pairs`` (a GaussianDescriptor's)."""
    return energy_and_pair_gradient(*descriptor.pair_kernel_args(species, pairs), *descriptor.angular_tables.args(),
                                    *packed.args(), want_gradient, chunks())
