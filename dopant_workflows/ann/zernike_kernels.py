"""Compiled (numba) kernels for AMP's Zernike descriptor and its exact derivatives.

AMP 1.0.1 (``amp.descriptor.zernike``, after Khorshidi & Peterson, Comput. Phys. Commun. 207, 310 (2016)): for
centre atom i and every (n, l) with n - l even, l <= n <= nmax,

    G_i(n, l) = sum_{m=0..l} w_m |c_i(n, l, m)|^2,   w_0 = 1, w_m = 2,
    c_i(n, l, m) = sum_j g(a_i, e_j) conj(Z_nlm((R_j - R_i) / R_c)) f_c(|R_j - R_i|),

Z_nlm the 3D Zernike functions of Novotni & Klein in AMP's Cartesian form. That form factorises exactly (the
multinomial sum over alpha, beta is |u|^(2 nu)) into a radial polynomial in rho^2 = |u|^2 and a solid harmonic:

    Z_nlm(u) = P_nl(rho^2) H_lm(u),  P_nl = sum_nu q(nu, k, l) rho^(2 nu) (k = (n - l)/2),
    H_lm = K_lm sum (monomials x^a y^b z^c, a + b + c = l),

so a pair evaluates the (lmax + 1)(lmax + 2)/2 solid harmonics once and every Z_nlm is one product; the tables
(monomials with their complex coefficients, q) are built once by :mod:`dopant_workflows.ann.zernike`.

Layout as in :mod:`dopant_workflows.ann.kernels`: pairs sorted by centre (``first``, ``neighbor``, ``vectors`` =
R_j + shift - R_i, ``fc``/``dfc`` per pair); ``density[a, e]`` is AMP's ``Gs[centre][neighbour]``. Triples
t = (n, l, m) run over ``triple_function[t]`` (output column of (n, l)), ``triple_lm[t]`` (solid harmonic index)
and ``triple_weight[t]`` (w_m). Each centre's c(t) is summed over its pairs first, then a second pass over the
same pairs forms the derivatives (VJP, JVP or the stored Jacobian), which all need c. Those three repeat their pair
loop on purpose, as :mod:`dopant_workflows.ann.kernels` does: numba compiles each into a tight loop, a shared mode
switch would not be.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def _pair_values(vx, vy, vz, rc, lmax, term_lm, term_a, term_b, term_c, term_coef, radial_q, radial_k,
                 xp, yp, zp, harmonics, radial, gradient: bool, d_harmonics, d_radial):
    """Solid harmonics H_lm (and dH/du) and radial polynomials P (and dP/d rho^2) of one pair, u = v / R_c."""
    x, y, z = vx / rc, vy / rc, vz / rc
    rho2 = x * x + y * y + z * z
    xp[0] = yp[0] = zp[0] = 1.0
    for d in range(1, lmax + 1):
        xp[d], yp[d], zp[d] = xp[d - 1] * x, yp[d - 1] * y, zp[d - 1] * z
    harmonics[:] = 0.0
    if gradient:
        d_harmonics[:] = 0.0
    for s in range(term_lm.shape[0]):
        a, b, c = term_a[s], term_b[s], term_c[s]
        coef = term_coef[s]
        harmonics[term_lm[s]] += coef * (xp[a] * yp[b] * zp[c])
        if gradient:
            lm = term_lm[s]
            if a > 0:
                d_harmonics[lm, 0] += coef * (a * xp[a - 1] * yp[b] * zp[c])
            if b > 0:
                d_harmonics[lm, 1] += coef * (b * xp[a] * yp[b - 1] * zp[c])
            if c > 0:
                d_harmonics[lm, 2] += coef * (c * xp[a] * yp[b] * zp[c - 1])
    for f in range(radial_q.shape[0]):
        value = radial_q[f, 0]
        slope = 0.0
        power = 1.0  # rho^2 to the (nu - 1)
        for nu in range(1, radial_k[f] + 1):
            slope += nu * radial_q[f, nu] * power
            power *= rho2
            value += radial_q[f, nu] * power
        radial[f] = value
        d_radial[f] = slope


@njit(inline="always", cache=True)
def _scratch(lmax, n_lm, n_radial, n_triples):
    """Per-centre work arrays: powers of x, y, z; H_lm and dH_lm/du; P and dP/d rho^2; c(t); dZ~_t/dv."""
    return (np.empty(lmax + 1), np.empty(lmax + 1), np.empty(lmax + 1), np.empty(n_lm, dtype=np.complex128),
            np.empty((n_lm, 3), dtype=np.complex128), np.empty(n_radial), np.empty(n_radial),
            np.empty(n_triples, dtype=np.complex128), np.empty((n_triples, 3), dtype=np.complex128))


@njit(inline="always", cache=True)
def _centre_sums(i, first, neighbor, species, vectors, fc, rc, density, lmax, term_lm, term_a, term_b, term_c,
                 term_coef, radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial,
                 d_harmonics, d_radial, c):
    """c(t) of centre i (complex, over its pairs)."""
    a = species[i]
    c[:] = 0.0
    for p in range(first[i], first[i + 1]):
        g = density[a, species[neighbor[p]]] * fc[p]
        if g == 0.0:
            continue
        _pair_values(vectors[p, 0], vectors[p, 1], vectors[p, 2], rc, lmax, term_lm, term_a, term_b, term_c,
                     term_coef, radial_q, radial_k, xp, yp, zp, harmonics, radial, False, d_harmonics, d_radial)
        for t in range(c.shape[0]):
            c[t] += g * np.conj(radial[triple_function[t]] * harmonics[triple_lm[t]])


@njit(inline="always", cache=True)
def _pair_gradient(vx, vy, vz, rc, g_density, fcp, dfcp, dist, lmax, term_lm, term_a, term_b, term_c, term_coef,
                   radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial, d_harmonics,
                   d_radial, dZ):
    """dZ~_t/d v (complex (T, 3)) of one pair, Z~_t = g Z_t(v / R_c) f_c(|v|)."""
    _pair_values(vx, vy, vz, rc, lmax, term_lm, term_a, term_b, term_c, term_coef, radial_q, radial_k,
                 xp, yp, zp, harmonics, radial, True, d_harmonics, d_radial)
    ux, uy, uz = vx / rc, vy / rc, vz / rc
    inv_r = 1.0 / dist
    for t in range(dZ.shape[0]):
        f, lm = triple_function[t], triple_lm[t]
        h, pr = harmonics[lm], radial[f]
        two_dp_h = 2.0 * d_radial[f] * h
        value = pr * h * dfcp * inv_r
        dZ[t, 0] = g_density * (fcp / rc * (two_dp_h * ux + pr * d_harmonics[lm, 0]) + value * vx)
        dZ[t, 1] = g_density * (fcp / rc * (two_dp_h * uy + pr * d_harmonics[lm, 1]) + value * vy)
        dZ[t, 2] = g_density * (fcp / rc * (two_dp_h * uz + pr * d_harmonics[lm, 2]) + value * vz)


@njit(parallel=True, cache=True)
def fingerprints(species, first, neighbor, vectors, dist, fc, dfc, rc, density, lmax, n_lm, term_lm, term_a,
                 term_b, term_c, term_coef, radial_q, radial_k, triple_function, triple_lm, triple_weight,
                 n_functions):
    """G (N, n_functions)."""
    n_atoms, n_triples = species.shape[0], triple_function.shape[0]
    out = np.zeros((n_atoms, n_functions))
    for i in prange(n_atoms):
        xp, yp, zp, harmonics, d_harmonics, radial, d_radial, c, dZ = _scratch(lmax, n_lm, radial_q.shape[0],
                                                                             n_triples)
        _centre_sums(i, first, neighbor, species, vectors, fc, rc, density, lmax, term_lm, term_a, term_b, term_c,
                     term_coef, radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial,
                     d_harmonics, d_radial, c)
        for t in range(n_triples):
            out[i, triple_function[t]] += triple_weight[t] * (c[t].real ** 2 + c[t].imag ** 2)
    return out


@njit(parallel=True, cache=True)
def fingerprints_vjp(species, first, neighbor, vectors, dist, fc, dfc, rc, density, lmax, n_lm, term_lm, term_a,
                     term_b, term_c, term_coef, radial_q, radial_k, triple_function, triple_lm, triple_weight,
                     n_functions, weights):
    """sum_k weights[i, k] dG[i, k]/d vectors[p] for every pair p of centre i: (P, 3)."""
    n_atoms, n_triples = species.shape[0], triple_function.shape[0]
    out = np.zeros((vectors.shape[0], 3))
    for i in prange(n_atoms):
        xp, yp, zp, harmonics, d_harmonics, radial, d_radial, c, dZ = _scratch(lmax, n_lm, radial_q.shape[0],
                                                                             n_triples)
        _centre_sums(i, first, neighbor, species, vectors, fc, rc, density, lmax, term_lm, term_a, term_b, term_c,
                     term_coef, radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial,
                     d_harmonics, d_radial, c)
        # d|c|^2 = 2 Re(conj(c) dc), dc = conj(dZ~): sum_t A_t conj(dZ~_t) with A_t = 2 w_t dE/dG conj(c_t)
        coefficient = np.empty(n_triples, dtype=np.complex128)
        for t in range(n_triples):
            coefficient[t] = 2.0 * triple_weight[t] * weights[i, triple_function[t]] * np.conj(c[t])
        a = species[i]
        for p in range(first[i], first[i + 1]):
            g = density[a, species[neighbor[p]]]
            if g == 0.0 or fc[p] == 0.0:
                continue
            _pair_gradient(vectors[p, 0], vectors[p, 1], vectors[p, 2], rc, g, fc[p], dfc[p], dist[p], lmax,
                           term_lm, term_a, term_b, term_c, term_coef, radial_q, radial_k, triple_function,
                           triple_lm, xp, yp, zp, harmonics, radial, d_harmonics, d_radial, dZ)
            for k in range(3):
                total = 0.0
                for t in range(n_triples):
                    total += (coefficient[t] * np.conj(dZ[t, k])).real
                out[p, k] = total
    return out


@njit(parallel=True, cache=True)
def fingerprints_jvp(species, first, neighbor, vectors, dist, fc, dfc, rc, density, lmax, n_lm, term_lm, term_a,
                     term_b, term_c, term_coef, radial_q, radial_k, triple_function, triple_lm, triple_weight,
                     n_functions, pair_displacements):
    """dG (N, n_functions) along displacements of the pair vectors (P, 3)."""
    n_atoms, n_triples = species.shape[0], triple_function.shape[0]
    out = np.zeros((n_atoms, n_functions))
    for i in prange(n_atoms):
        xp, yp, zp, harmonics, d_harmonics, radial, d_radial, c, dZ = _scratch(lmax, n_lm, radial_q.shape[0],
                                                                             n_triples)
        dc = np.zeros(n_triples, dtype=np.complex128)
        _centre_sums(i, first, neighbor, species, vectors, fc, rc, density, lmax, term_lm, term_a, term_b, term_c,
                     term_coef, radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial,
                     d_harmonics, d_radial, c)
        a = species[i]
        for p in range(first[i], first[i + 1]):
            g = density[a, species[neighbor[p]]]
            if g == 0.0 or fc[p] == 0.0:
                continue
            _pair_gradient(vectors[p, 0], vectors[p, 1], vectors[p, 2], rc, g, fc[p], dfc[p], dist[p], lmax,
                           term_lm, term_a, term_b, term_c, term_coef, radial_q, radial_k, triple_function,
                           triple_lm, xp, yp, zp, harmonics, radial, d_harmonics, d_radial, dZ)
            ux, uy, uz = pair_displacements[p, 0], pair_displacements[p, 1], pair_displacements[p, 2]
            for t in range(n_triples):
                dc[t] += np.conj(dZ[t, 0] * ux + dZ[t, 1] * uy + dZ[t, 2] * uz)
        for t in range(n_triples):
            out[i, triple_function[t]] += 2.0 * triple_weight[t] * (np.conj(c[t]) * dc[t]).real
    return out


@njit(parallel=True, cache=True)
def fingerprints_jacobian(species, first, neighbor, vectors, dist, fc, dfc, rc, density, lmax, n_lm, term_lm,
                          term_a, term_b, term_c, term_coef, radial_q, radial_k, triple_function, triple_lm,
                          triple_weight, n_functions):
    """dG[centre(p), k]/d vectors[p] for every pair p and column k: (P, n_functions, 3) float32 (a pair moves
    every column: all neighbours share one density)."""
    n_atoms, n_triples = species.shape[0], triple_function.shape[0]
    out = np.zeros((vectors.shape[0], n_functions, 3), dtype=np.float32)
    for i in prange(n_atoms):
        xp, yp, zp, harmonics, d_harmonics, radial, d_radial, c, dZ = _scratch(lmax, n_lm, radial_q.shape[0],
                                                                             n_triples)
        _centre_sums(i, first, neighbor, species, vectors, fc, rc, density, lmax, term_lm, term_a, term_b, term_c,
                     term_coef, radial_q, radial_k, triple_function, triple_lm, xp, yp, zp, harmonics, radial,
                     d_harmonics, d_radial, c)
        a = species[i]
        column = np.empty((n_functions, 3))
        for p in range(first[i], first[i + 1]):
            g = density[a, species[neighbor[p]]]
            if g == 0.0 or fc[p] == 0.0:
                continue
            _pair_gradient(vectors[p, 0], vectors[p, 1], vectors[p, 2], rc, g, fc[p], dfc[p], dist[p], lmax,
                           term_lm, term_a, term_b, term_c, term_coef, radial_q, radial_k, triple_function,
                           triple_lm, xp, yp, zp, harmonics, radial, d_harmonics, d_radial, dZ)
            column[:] = 0.0
            for t in range(n_triples):
                w = 2.0 * triple_weight[t]
                for k in range(3):
                    column[triple_function[t], k] += w * (np.conj(c[t]) * np.conj(dZ[t, k])).real
            for f in range(n_functions):
                for k in range(3):
                    out[p, f, k] = column[f, k]
    return out
