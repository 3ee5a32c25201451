"""Compiled (numba) kernels for Gaussian symmetry functions and their exact derivatives.

Layout shared by all kernels (built by :mod:`dopant_workflows.ann.descriptor`):

- ``species[i]``: element index of atom i (0..E-1, sorted element symbols);
- neighbour pairs sorted by centre: pairs ``first[i]:first[i+1]`` belong to centre i; ``neighbor[p]`` is the
  neighbour atom and ``vectors[p]`` = R_j + shift - R_i (A), all with |vectors[p]| < R_c; ``dist``, ``fc``,
  ``dfc`` are the distance, cutoff function and its derivative per pair (:func:`pair_terms`);
- per centre element a and output column k: ``eta[a, k]``, ``offset[a, k]`` (G2), ``gamma[a, k]``,
  ``zeta[a, k]`` (G4); ``g2_slots[a, e, :]`` lists the G2 columns of neighbour element e (-1 ends the list),
  ``g4_slots[a, e1, e2, :]`` the G4 columns of the unordered pair (e1, e2).

Three passes over pairs and triplets (j < k), each parallel over centres:
``fingerprints`` (G), ``fingerprints_vjp`` (dE/d vectors for given dE/dG: forces and virial; ``_many``: for a
committee's M networks in one pass) and
``fingerprints_jvp`` (dG along a displacement field: what force training needs). Triplet terms are
recomputed in each pass rather than stored: at 10,000 atoms there are ~10^7 triplets. Training can instead
store the Jacobian per pair once (``fingerprints_jacobian``, 12 bytes per pair and column the pair touches) and
contract it (``jacobian_vjp``/``jacobian_jvp``): no triplet pass per step. The VJP, JVP and Jacobian loops mirror
each other on purpose: numba compiles each into a tight loop, a shared mode switch would not be.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_PI = math.pi


@njit(inline="always", cache=True)
def _cutoff(r: float, rc: float) -> float:
    if r > rc:
        return 0.0
    return 0.5 * (math.cos(_PI * r / rc) + 1.0)


@njit(inline="always", cache=True)
def _cutoff_prime(r: float, rc: float) -> float:
    if r > rc:
        return 0.0
    return -0.5 * _PI / rc * math.sin(_PI * r / rc)


@njit(inline="always", cache=True)
def _power(base: float, exponent: float) -> float:
    """base**exponent with a multiplication fast path for the integer zetas everyone uses (and the 2^(1 - zeta)
    prefactor: exact for base 2, where pow() costs as much as the rest of a triplet)."""
    n = int(exponent)
    if n == exponent and -16 <= n <= 16:
        out = 1.0
        for _ in range(abs(n)):
            out *= base
        return out if n >= 0 else 1.0 / out
    return base**exponent


@njit(parallel=True, cache=True)
def fingerprints(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset, gamma, zeta):
    n_atoms = species.shape[0]
    n_columns = eta.shape[1]
    out = np.zeros((n_atoms, n_columns))
    rc2 = rc * rc
    for i in prange(n_atoms):
        a = species[i]
        start, stop = first[i], first[i + 1]
        for p in range(start, stop):
            rp = dist[p]
            fcp = fc[p]
            e = species[neighbor[p]]
            for s in range(g2_slots.shape[2]):
                k = g2_slots[a, e, s]
                if k < 0:
                    break
                x = rp - offset[a, k]
                out[i, k] += math.exp(-eta[a, k] * x * x / rc2) * fcp
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            rp = dist[p]
            rp2 = rp * rp
            fcp = fc[p]
            ep = species[neighbor[p]]
            for q in range(p + 1, stop):
                eq = species[neighbor[q]]
                if g4_slots[a, ep, eq, 0] < 0:
                    continue
                qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                jx, jy, jz = qx - px, qy - py, qz - pz
                rjk2 = jx * jx + jy * jy + jz * jz
                if rjk2 >= rc2:  # f_c(R_jk) = 0
                    continue
                rq = dist[q]
                rq2 = rq * rq
                cos = (px * qx + py * qy + pz * qz) / (rp * rq)
                if cos < -1.0:
                    cos = -1.0
                base = fcp * fc[q] * _cutoff(math.sqrt(rjk2), rc)
                rsum = rp2 + rq2 + rjk2
                last_eta = -1.0
                gauss = 0.0
                for s in range(g4_slots.shape[3]):
                    k = g4_slots[a, ep, eq, s]
                    if k < 0:
                        break
                    if eta[a, k] != last_eta:
                        last_eta = eta[a, k]
                        gauss = math.exp(-last_eta * rsum / rc2)
                    out[i, k] += _angular(cos, gamma[a, k], zeta[a, k])[0] * gauss * base
    return out


@njit(inline="always", cache=True)
def _triplet_geometry(px, py, pz, qx, qy, qz, rp, rq, fcp, fcq, dfcp, dfcq, rc):
    """cos theta, R_ij^2 + R_ik^2 + R_jk^2, the cutoff product and the gradients of all three with respect
    to the pair vectors p (= R_j - R_i) and q (= R_k - R_i), as 18 + 3 scalars."""
    rp2 = rp * rp
    rq2 = rq * rq
    jx, jy, jz = qx - px, qy - py, qz - pz
    rjk2 = jx * jx + jy * jy + jz * jz
    rjk = math.sqrt(rjk2)
    inv = 1.0 / (rp * rq)
    cos = (px * qx + py * qy + pz * qz) * inv
    if cos < -1.0:  # rounding; AMP clamps the same way (the gradient there is set to zero)
        cos = -1.0
        cpx = cpy = cpz = cqx = cqy = cqz = 0.0
    else:
        cpx, cpy, cpz = qx * inv - cos * px / rp2, qy * inv - cos * py / rp2, qz * inv - cos * pz / rp2
        cqx, cqy, cqz = px * inv - cos * qx / rq2, py * inv - cos * qy / rq2, pz * inv - cos * qz / rq2
    fcj = _cutoff(rjk, rc)
    a_p = dfcp * fcq * fcj / rp
    a_q = fcp * dfcq * fcj / rq
    a_j = fcp * fcq * _cutoff_prime(rjk, rc) / rjk if rjk > 0.0 else 0.0
    # d rsum / dp = 2 (p - j), d rsum / dq = 2 (q + j); d cut / dp = a_p p - a_j j, d cut / dq = a_q q + a_j j
    return (cos, rp2 + rq2 + rjk2, fcp * fcq * fcj,
            cpx, cpy, cpz, cqx, cqy, cqz,
            2.0 * (px - jx), 2.0 * (py - jy), 2.0 * (pz - jz), 2.0 * (qx + jx), 2.0 * (qy + jy), 2.0 * (qz + jz),
            a_p * px - a_j * jx, a_p * py - a_j * jy, a_p * pz - a_j * jz,
            a_q * qx + a_j * jx, a_q * qy + a_j * jy, a_q * qz + a_j * jz)


@njit(inline="always", cache=True)
def _angular(cos, gamma_k, zeta_k):
    """(2^(1-zeta) (1 + gamma cos)^zeta, its derivative with respect to cos)."""
    base = 1.0 + gamma_k * cos
    n = int(zeta_k)
    if n == zeta_k and 1 <= n <= 16:  # AMP's zetas: one chain of multiplications serves value and slope
        below = 1.0
        pref = 1.0
        for _ in range(n - 1):
            below *= base
            pref *= 0.5
        return below * base * pref, n * gamma_k * below * pref
    pref = _power(2.0, 1.0 - zeta_k)
    value = _power(base, zeta_k) * pref
    if base == 0.0 and zeta_k < 1.0:  # infinite slope: no finite gradient
        return value, 0.0
    return value, zeta_k * gamma_k * _power(base, zeta_k - 1.0) * pref


@njit(inline="always", cache=True)
def _g2_radial_derivative(r, fc, dfc, eta_k, offset_k, rc2):
    """dG2/dr of one neighbour at distance r."""
    x = r - offset_k
    gauss = math.exp(-eta_k * x * x / rc2)
    return gauss * (dfc - 2.0 * eta_k * x / rc2 * fc)


@njit(parallel=True, cache=True)
def fingerprints_vjp(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset, gamma,
                     zeta, weights):
    """sum_{i,k} weights[i, k] dG[i, k]/d vectors[p] for every pair p: shape (P, 3)."""
    n_atoms = species.shape[0]
    out = np.zeros((vectors.shape[0], 3))
    rc2 = rc * rc
    for i in prange(n_atoms):
        a = species[i]
        start, stop = first[i], first[i + 1]
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            rp, fcp, dfcp = dist[p], fc[p], dfc[p]
            e = species[neighbor[p]]
            radial = 0.0
            for s in range(g2_slots.shape[2]):
                k = g2_slots[a, e, s]
                if k < 0:
                    break
                radial += weights[i, k] * _g2_radial_derivative(rp, fcp, dfcp, eta[a, k], offset[a, k], rc2)
            out[p, 0] += radial * px / rp
            out[p, 1] += radial * py / rp
            out[p, 2] += radial * pz / rp
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            ep = species[neighbor[p]]
            for q in range(p + 1, stop):
                eq = species[neighbor[q]]
                if g4_slots[a, ep, eq, 0] < 0:
                    continue
                qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                jx, jy, jz = qx - px, qy - py, qz - pz
                if jx * jx + jy * jy + jz * jz >= rc2:
                    continue
                geo = _triplet_geometry(px, py, pz, qx, qy, qz, dist[p], dist[q], fc[p], fc[q], dfc[p], dfc[q], rc)
                cos, rsum, cut = geo[0], geo[1], geo[2]
                # weighted sums over this pair's columns of the coefficients of d cos, d rsum and d cut
                s_cos = s_rsum = s_cut = 0.0
                last_eta = -1.0
                gauss = 0.0
                for s in range(g4_slots.shape[3]):
                    k = g4_slots[a, ep, eq, s]
                    if k < 0:
                        break
                    w = weights[i, k]
                    if eta[a, k] != last_eta:
                        last_eta = eta[a, k]
                        gauss = math.exp(-last_eta * rsum / rc2)
                    value, slope = _angular(cos, gamma[a, k], zeta[a, k])
                    s_cos += w * slope * gauss
                    s_rsum -= w * value * gauss * last_eta / rc2
                    s_cut += w * value * gauss
                s_cos *= cut
                s_rsum *= cut
                out[p, 0] += s_cos * geo[3] + s_rsum * geo[9] + s_cut * geo[15]
                out[p, 1] += s_cos * geo[4] + s_rsum * geo[10] + s_cut * geo[16]
                out[p, 2] += s_cos * geo[5] + s_rsum * geo[11] + s_cut * geo[17]
                out[q, 0] += s_cos * geo[6] + s_rsum * geo[12] + s_cut * geo[18]
                out[q, 1] += s_cos * geo[7] + s_rsum * geo[13] + s_cut * geo[19]
                out[q, 2] += s_cos * geo[8] + s_rsum * geo[14] + s_cut * geo[20]
    return out


@njit(parallel=True, cache=True)
def fingerprints_vjp_many(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset, gamma,
                          zeta, weights):
    """``fingerprints_vjp`` for M weight sets at once (weights (M, N, K) -> (M, P, 3)): a committee of networks
    on one descriptor pays the triplet geometry, Gaussians and angular terms once, not M times. (With M = 1 it
    gives ``fingerprints_vjp``'s numbers to 1e-15 but ~7 % slower, median at 150 atoms: MD keeps the single one.)"""
    n_atoms = species.shape[0]
    n_sets = weights.shape[0]
    out = np.zeros((n_sets, vectors.shape[0], 3))
    rc2 = rc * rc
    for i in prange(n_atoms):
        a = species[i]
        start, stop = first[i], first[i + 1]
        radial = np.empty(n_sets)
        s_cos = np.empty(n_sets)
        s_rsum = np.empty(n_sets)
        s_cut = np.empty(n_sets)
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            rp, fcp, dfcp = dist[p], fc[p], dfc[p]
            e = species[neighbor[p]]
            radial[:] = 0.0
            for s in range(g2_slots.shape[2]):
                k = g2_slots[a, e, s]
                if k < 0:
                    break
                d = _g2_radial_derivative(rp, fcp, dfcp, eta[a, k], offset[a, k], rc2)
                for m in range(n_sets):
                    radial[m] += weights[m, i, k] * d
            for m in range(n_sets):
                out[m, p, 0] += radial[m] * px / rp
                out[m, p, 1] += radial[m] * py / rp
                out[m, p, 2] += radial[m] * pz / rp
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            ep = species[neighbor[p]]
            for q in range(p + 1, stop):
                eq = species[neighbor[q]]
                if g4_slots[a, ep, eq, 0] < 0:
                    continue
                qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                jx, jy, jz = qx - px, qy - py, qz - pz
                if jx * jx + jy * jy + jz * jz >= rc2:
                    continue
                geo = _triplet_geometry(px, py, pz, qx, qy, qz, dist[p], dist[q], fc[p], fc[q], dfc[p], dfc[q], rc)
                cos, rsum, cut = geo[0], geo[1], geo[2]
                s_cos[:] = 0.0
                s_rsum[:] = 0.0
                s_cut[:] = 0.0
                last_eta = -1.0
                gauss = 0.0
                for s in range(g4_slots.shape[3]):
                    k = g4_slots[a, ep, eq, s]
                    if k < 0:
                        break
                    if eta[a, k] != last_eta:
                        last_eta = eta[a, k]
                        gauss = math.exp(-last_eta * rsum / rc2)
                    value, slope = _angular(cos, gamma[a, k], zeta[a, k])
                    c_cos, c_rsum, c_cut = slope * gauss, -value * gauss * last_eta / rc2, value * gauss
                    for m in range(n_sets):
                        w = weights[m, i, k]
                        s_cos[m] += w * c_cos
                        s_rsum[m] += w * c_rsum
                        s_cut[m] += w * c_cut
                for m in range(n_sets):
                    sc, sr, sx = s_cos[m] * cut, s_rsum[m] * cut, s_cut[m]
                    out[m, p, 0] += sc * geo[3] + sr * geo[9] + sx * geo[15]
                    out[m, p, 1] += sc * geo[4] + sr * geo[10] + sx * geo[16]
                    out[m, p, 2] += sc * geo[5] + sr * geo[11] + sx * geo[17]
                    out[m, q, 0] += sc * geo[6] + sr * geo[12] + sx * geo[18]
                    out[m, q, 1] += sc * geo[7] + sr * geo[13] + sx * geo[19]
                    out[m, q, 2] += sc * geo[8] + sr * geo[14] + sx * geo[20]
    return out


@njit(parallel=True, cache=True)
def fingerprints_jvp(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset, gamma, zeta,
                     pair_displacements):
    """sum_p dG[i, k]/d vectors[p] . pair_displacements[p] for every centre i and column k: shape (N, K)."""
    n_atoms = species.shape[0]
    out = np.zeros((n_atoms, eta.shape[1]))
    rc2 = rc * rc
    for i in prange(n_atoms):
        a = species[i]
        start, stop = first[i], first[i + 1]
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            rp, fcp, dfcp = dist[p], fc[p], dfc[p]
            e = species[neighbor[p]]
            along = (px * pair_displacements[p, 0] + py * pair_displacements[p, 1]
                     + pz * pair_displacements[p, 2]) / rp
            for s in range(g2_slots.shape[2]):
                k = g2_slots[a, e, s]
                if k < 0:
                    break
                out[i, k] += _g2_radial_derivative(rp, fcp, dfcp, eta[a, k], offset[a, k], rc2) * along
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            ep = species[neighbor[p]]
            for q in range(p + 1, stop):
                eq = species[neighbor[q]]
                if g4_slots[a, ep, eq, 0] < 0:
                    continue
                qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                jx, jy, jz = qx - px, qy - py, qz - pz
                if jx * jx + jy * jy + jz * jz >= rc2:
                    continue
                geo = _triplet_geometry(px, py, pz, qx, qy, qz, dist[p], dist[q], fc[p], fc[q], dfc[p], dfc[q], rc)
                cos, rsum, cut = geo[0], geo[1], geo[2]
                upx, upy, upz = pair_displacements[p, 0], pair_displacements[p, 1], pair_displacements[p, 2]
                uqx, uqy, uqz = pair_displacements[q, 0], pair_displacements[q, 1], pair_displacements[q, 2]
                d_cos = geo[3] * upx + geo[4] * upy + geo[5] * upz + geo[6] * uqx + geo[7] * uqy + geo[8] * uqz
                d_rsum = (geo[9] * upx + geo[10] * upy + geo[11] * upz
                          + geo[12] * uqx + geo[13] * uqy + geo[14] * uqz)
                d_cut = (geo[15] * upx + geo[16] * upy + geo[17] * upz
                         + geo[18] * uqx + geo[19] * uqy + geo[20] * uqz)
                last_eta = -1.0
                gauss = 0.0
                for s in range(g4_slots.shape[3]):
                    k = g4_slots[a, ep, eq, s]
                    if k < 0:
                        break
                    if eta[a, k] != last_eta:
                        last_eta = eta[a, k]
                        gauss = math.exp(-last_eta * rsum / rc2)
                    value, slope = _angular(cos, gamma[a, k], zeta[a, k])
                    out[i, k] += gauss * (cut * (slope * d_cos - value * last_eta / rc2 * d_rsum) + value * d_cut)
    return out


# f_c(R) = (cos(pi R / R_c) + 1) / 2 as a power series in x = (R / R_c)^2: cos(pi sqrt(x)) is entire in x, and 16
# terms give f_c to 4e-16 and its derivative to 2e-15 on [0, 1] (tested): no cos or sin per pair or triplet
_FC_SERIES = np.array([1.0] + [(-1) ** n * math.pi ** (2 * n) / (2 * math.factorial(2 * n)) for n in range(1, 16)])
_FC_SERIES_PRIME = np.array([n * _FC_SERIES[n] for n in range(1, 16)])  # d f_c / dx, coefficients of x^(n-1)


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
def _pair_cutoff(r2, rc):
    """(R, f_c(R), d f_c / dR) of a pair at squared distance r2 < R_c^2."""
    r = math.sqrt(r2)
    value, slope = cutoff_of_square(r2 / (rc * rc))
    return r, value, slope * 2.0 * r / (rc * rc)


@njit(parallel=True, cache=True)
def pair_terms(vectors, rc):
    """Per pair: distance (A), cutoff value and cutoff derivative (1/A), computed once per structure."""
    n = vectors.shape[0]
    dist, fc, dfc = np.empty(n), np.empty(n), np.empty(n)
    for p in prange(n):
        r2 = vectors[p, 0] ** 2 + vectors[p, 1] ** 2 + vectors[p, 2] ** 2
        if r2 < rc * rc:
            dist[p], fc[p], dfc[p] = _pair_cutoff(r2, rc)
        else:
            dist[p], fc[p], dfc[p] = math.sqrt(r2), 0.0, 0.0
    return dist, fc, dfc


@njit(cache=True)
def pairs_within(positions, centers, neighbor, shifts, shift_vectors, cutoff):
    """The kept pairs closer than ``cutoff`` now, in their order: (first, centers, neighbor, shifts, current
    vectors R_j + shift - R_i, and :func:`pair_terms` (distance, f_c, f_c')): a Verlet list's per-step filter
    (serial: a parallel region's start costs more than this work at MD sizes), the same numbers as a fresh
    search's. Candidates are kept without a branch (a third of them fail, at random), then the distances and
    cutoff terms of the kept ones are computed in a loop the compiler vectorises."""
    n, n_atoms = centers.shape[0], positions.shape[0]
    keep = np.empty(n, dtype=np.int64)
    vectors = np.empty((n, 3))
    squared = np.empty(n)
    rc2 = cutoff * cutoff
    m = 0
    for p in range(n):
        i, j = centers[p], neighbor[p]
        x = positions[j, 0] - positions[i, 0] + shift_vectors[p, 0]
        y = positions[j, 1] - positions[i, 1] + shift_vectors[p, 1]
        z = positions[j, 2] - positions[i, 2] + shift_vectors[p, 2]
        r2 = x**2 + y**2 + z**2  # as pair_terms writes it: the same bits
        keep[m], squared[m] = p, r2
        vectors[m, 0], vectors[m, 1], vectors[m, 2] = x, y, z
        m += r2 < rc2
    dist, fc, dfc = np.empty(m), np.empty(m), np.empty(m)
    for p in range(m):
        dist[p], fc[p], dfc[p] = _pair_cutoff(squared[p], cutoff)
    kept_centers, kept_neighbor = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    kept_shifts = np.empty((m, 3), dtype=shifts.dtype)
    for p in range(m):
        q = keep[p]
        kept_centers[p], kept_neighbor[p] = centers[q], neighbor[q]
        kept_shifts[p, 0], kept_shifts[p, 1], kept_shifts[p, 2] = shifts[q, 0], shifts[q, 1], shifts[q, 2]
    first = np.searchsorted(kept_centers, np.arange(n_atoms + 1))  # as neighbors.first_offsets
    return first, kept_centers, kept_neighbor, kept_shifts, vectors[:m], dist, fc, dfc


@njit(cache=True)
def scatter_pair_gradient(n_atoms, first, neighbor, pair_gradient):
    """dE/dR of every atom from dE/d(pair vector): vector p = R_neighbor + shift - R_centre."""
    grad = np.zeros((n_atoms, 3))
    for i in range(n_atoms):
        for p in range(first[i], first[i + 1]):
            j = neighbor[p]
            for c in range(3):
                grad[j, c] += pair_gradient[p, c]
                grad[i, c] -= pair_gradient[p, c]
    return grad


@njit(parallel=True, cache=True)
def fingerprints_jacobian(species, first, neighbor, vectors, dist, fc, dfc, rc, g2_slots, g4_slots, eta, offset, gamma,
                          zeta, column_slot, width):
    """dG[centre(p), k]/d vectors[p] for every pair p and every column k the pair can touch: shape (P, width, 3),
    float32, column k of pair p (centre element a, neighbour element e) at slot ``column_slot[a, e, k]``.

    The stored Jacobian of the training images: with it the forces of one training step are a contraction
    (J^T dE/dG) instead of two passes over all triplets. A pair moves only the G2 columns of its neighbour's
    element and the G4 columns of element pairs that hold it (28 of 100 columns of ``gaussian-radial8`` on five
    elements): the other columns are zero and are not stored (12 bytes per pair and touched column)."""
    n_atoms = species.shape[0]
    out = np.zeros((vectors.shape[0], width, 3), dtype=np.float32)
    rc2 = rc * rc
    for i in prange(n_atoms):
        a = species[i]
        start, stop = first[i], first[i + 1]
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            rp, fcp, dfcp = dist[p], fc[p], dfc[p]
            e = species[neighbor[p]]
            for s in range(g2_slots.shape[2]):
                k = g2_slots[a, e, s]
                if k < 0:
                    break
                radial = _g2_radial_derivative(rp, fcp, dfcp, eta[a, k], offset[a, k], rc2) / rp
                slot = column_slot[a, e, k]
                out[p, slot, 0] += radial * px
                out[p, slot, 1] += radial * py
                out[p, slot, 2] += radial * pz
        for p in range(start, stop):
            px, py, pz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            ep = species[neighbor[p]]
            for q in range(p + 1, stop):
                eq = species[neighbor[q]]
                if g4_slots[a, ep, eq, 0] < 0:
                    continue
                qx, qy, qz = vectors[q, 0], vectors[q, 1], vectors[q, 2]
                jx, jy, jz = qx - px, qy - py, qz - pz
                if jx * jx + jy * jy + jz * jz >= rc2:
                    continue
                geo = _triplet_geometry(px, py, pz, qx, qy, qz, dist[p], dist[q], fc[p], fc[q], dfc[p], dfc[q], rc)
                cos, rsum, cut = geo[0], geo[1], geo[2]
                last_eta = -1.0
                gauss = 0.0
                for s in range(g4_slots.shape[3]):
                    k = g4_slots[a, ep, eq, s]
                    if k < 0:
                        break
                    if eta[a, k] != last_eta:
                        last_eta = eta[a, k]
                        gauss = math.exp(-last_eta * rsum / rc2)
                    value, slope = _angular(cos, gamma[a, k], zeta[a, k])
                    c_cos = gauss * cut * slope
                    c_rsum = -gauss * cut * value * last_eta / rc2
                    c_cut = gauss * value
                    sp, sq = column_slot[a, ep, k], column_slot[a, eq, k]
                    out[p, sp, 0] += c_cos * geo[3] + c_rsum * geo[9] + c_cut * geo[15]
                    out[p, sp, 1] += c_cos * geo[4] + c_rsum * geo[10] + c_cut * geo[16]
                    out[p, sp, 2] += c_cos * geo[5] + c_rsum * geo[11] + c_cut * geo[17]
                    out[q, sq, 0] += c_cos * geo[6] + c_rsum * geo[12] + c_cut * geo[18]
                    out[q, sq, 1] += c_cos * geo[7] + c_rsum * geo[13] + c_cut * geo[19]
                    out[q, sq, 2] += c_cos * geo[8] + c_rsum * geo[14] + c_cut * geo[20]
    return out


@njit(parallel=True, cache=True)
def jacobian_vjp(species, first, neighbor, pair_columns, jacobian, weights):
    """``fingerprints_vjp`` from a stored Jacobian: sum_k weights[i, k] dG[i, k]/d vectors[p] for every pair p
    of centre i, over the columns ``pair_columns[a, e]`` the pair touches (slot s holds column
    ``pair_columns[a, e, s]``; -1 ends the list)."""
    n_atoms = first.shape[0] - 1
    out = np.zeros((jacobian.shape[0], 3))
    for i in prange(n_atoms):
        a = species[i]
        for p in range(first[i], first[i + 1]):
            e = species[neighbor[p]]
            x = y = z = 0.0
            for s in range(pair_columns.shape[2]):
                k = pair_columns[a, e, s]
                if k < 0:
                    break
                w = weights[i, k]
                x += w * jacobian[p, s, 0]
                y += w * jacobian[p, s, 1]
                z += w * jacobian[p, s, 2]
            out[p, 0], out[p, 1], out[p, 2] = x, y, z
    return out


@njit(parallel=True, cache=True)
def jacobian_jvp(species, first, neighbor, pair_columns, jacobian, displacements, n_columns):
    """``fingerprints_jvp`` from a stored Jacobian, along a displacement of the atoms (N, 3): sum_p dG[i, k]/d
    vectors[p] . (u[neighbor[p]] - u[i]) for every centre i and column k (``n_columns`` columns; those no pair
    touches stay zero). The pair displacements are formed here, not as a (P, 3) array."""
    n_atoms = first.shape[0] - 1
    out = np.zeros((n_atoms, n_columns))
    for i in prange(n_atoms):
        a = species[i]
        for p in range(first[i], first[i + 1]):
            e = species[neighbor[p]]
            j = neighbor[p]
            ux = displacements[j, 0] - displacements[i, 0]
            uy = displacements[j, 1] - displacements[i, 1]
            uz = displacements[j, 2] - displacements[i, 2]
            for s in range(pair_columns.shape[2]):
                k = pair_columns[a, e, s]
                if k < 0:
                    break
                out[i, k] += jacobian[p, s, 0] * ux + jacobian[p, s, 1] * uy + jacobian[p, s, 2] * uz
    return out
