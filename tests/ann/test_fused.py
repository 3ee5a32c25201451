"""The fused kernel (one pass per centre atom) gives the three-step path's energies, forces and stress."""

from dataclasses import replace

import numpy as np
import pytest

from dopant_workflows.ann.amp_io import load_amp_potential
from dopant_workflows.ann.committee import committee_evaluate
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.fused import _H_SERIES_TOLERANCE, _JACOBIAN_MEMBERS, h_series, pack_networks
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork
from dopant_workflows.ann.symmetry_functions import make_g2, make_g4

from .conftest import MODEL_IMAGES, REFERENCE_DIR


def _assert_same(potential, atoms, **kwargs):
    fused = potential.evaluate(atoms, forces=True, stress=True, **kwargs)
    steps = potential.evaluate(atoms, forces=True, stress=True, fused_kernel=False, **kwargs)
    assert fused.energy_eV == pytest.approx(steps.energy_eV, abs=1e-10)
    np.testing.assert_allclose(fused.energies_eV, steps.energies_eV, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fused.forces_eV_A, steps.forces_eV_A, rtol=0, atol=1e-10)
    # 1e-11 eV/A^3 = 1.6e-9 GPa: the fused kernel's f_c(R_jk) is a power series (to 4e-16), the three steps' a cosine;
    # and 1e-11 relative: the small Li2S cube's diagonal (~12 eV/A^3) sums thousands of pair terms, whose order
    # alone moves it by ~1e-12 relative
    np.testing.assert_allclose(fused.stress_eV_A3, steps.stress_eV_A3, rtol=1e-11, atol=1e-11)
    assert np.abs(fused.forces_eV_A).max() > 0.1  # not a trivially zero case
    return fused


@pytest.mark.parametrize("model", sorted(MODEL_IMAGES))
def test_fused_equals_three_steps_on_the_amp_models(model, amp_images):
    potential = load_amp_potential(REFERENCE_DIR / f"{model}.amp")
    for atoms in amp_images[MODEL_IMAGES[model]]:
        _assert_same(potential, atoms)


def _reshaped(net: ElementNetwork, hidden: tuple[int, ...], rng) -> ElementNetwork:
    sizes = (len(net.fp_min), *hidden, 1)
    weights = tuple(rng.normal(0, 0.5, (n_in + 1, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
    return replace(net, weights=weights)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
def test_fused_with_other_activations_and_per_element_widths(activation, lgps_potential, amp_images):
    """Elements with networks of different widths (same depth) and every activation AMP offers."""
    rng = np.random.default_rng(3)
    widths = [(5, 5), (7, 3), (2, 9), (4, 4)]
    networks = {el: _reshaped(net, widths[n % len(widths)], rng)
                for n, (el, net) in enumerate(sorted(lgps_potential.network.networks.items()))}
    potential = BPNNPotential(lgps_potential.descriptor, AtomicNeuralNetwork(networks, activation))
    assert potential.packed_network is not None
    atoms = amp_images[0].copy()
    atoms.rattle(0.05, seed=1)
    _assert_same(potential, atoms)


def test_energy_only_call(lgps_potential, amp_images):
    atoms = amp_images[0]
    energy_only = lgps_potential.evaluate(atoms, forces=False)
    assert energy_only.forces_eV_A is None
    assert energy_only.energy_eV == pytest.approx(lgps_potential.evaluate(atoms, fused_kernel=False).energy_eV,
                                                  abs=1e-10)


def test_networks_of_different_depths_use_the_three_steps(lgps_potential, amp_images):
    rng = np.random.default_rng(4)
    elements = sorted(lgps_potential.network.networks)
    networks = {el: _reshaped(net, (5, 5) if el == elements[0] else (6,), rng)
                for el, net in lgps_potential.network.networks.items()}
    assert pack_networks([AtomicNeuralNetwork(networks)], lgps_potential.descriptor) is None
    potential = BPNNPotential(lgps_potential.descriptor, AtomicNeuralNetwork(networks))
    result = potential.evaluate(amp_images[0], forces=True)
    assert np.all(np.isfinite(result.forces_eV_A))


def test_cutoff_power_series_is_the_cosine_cutoff():
    """The fused kernel's f_c(R_jk) from R_jk^2 alone: the cosine cutoff and its derivative to rounding on
    [0, R_c], exactly zero at R_c."""
    from dopant_workflows.ann.kernels import cutoff_of_square

    rc = 6.5
    for r in np.linspace(0.0, rc, 4001):
        value, slope = cutoff_of_square((r / rc) ** 2)
        assert value == pytest.approx(0.5 * (np.cos(np.pi * r / rc) + 1.0), abs=5e-16)
        # d f_c / dR = (d f_c / dx) 2 R / R_c^2
        assert slope * 2.0 * r / rc**2 == pytest.approx(-0.5 * np.pi / rc * np.sin(np.pi * r / rc), abs=1e-15)
    assert cutoff_of_square(1.0)[0] == 0.0


@pytest.mark.parametrize("eta", [0.005, 0.05, 0.1])
def test_triplet_factor_series_is_cutoff_times_gaussian(eta):
    """H(x) = f_c(x) exp(-eta x), x = (R_jk / R_c)^2, and its slope by the series the kernel uses (AMP's G4 eta
    0.005 and the lsips_custom model's 0.05 among them)."""
    x = np.linspace(0.0, 1.0, 1001)
    direct = 0.5 * (np.cos(np.pi * np.sqrt(x)) + 1.0) * np.exp(-eta * x)
    coefficients = h_series(eta)
    series = np.polynomial.polynomial.polyval(x, coefficients)
    np.testing.assert_allclose(series, direct, rtol=0, atol=_H_SERIES_TOLERANCE)
    h = 1e-6
    inner = x[(x > h) & (x < 1 - h)]
    numeric = (np.polynomial.polynomial.polyval(inner + h, coefficients)
               - np.polynomial.polynomial.polyval(inner - h, coefficients)) / (2 * h)
    slope = np.polynomial.polynomial.polyval(inner, coefficients[1:] * np.arange(1, len(coefficients)))
    np.testing.assert_allclose(slope, numeric, rtol=0, atol=1e-8)


def test_wide_gaussians_and_fractional_zeta(lgps_potential, amp_images):
    """G4 shapes the AMP reference models lack: an eta whose series would not be accurate (the kernel falls back
    to f_c's series times exp per triplet), non-integer zeta (powers by exp/log) and zeta 16 (the longest chain
    of products): the same energies, forces and stress as the three steps, alone and in committees."""
    elements = sorted(lgps_potential.network.networks)
    functions = make_g2(elements, [0.05, 4.0]) + make_g4(elements, [0.005, 2.0], [1.0, 2.5, 16.0], [1.0, -1.0])
    descriptor = GaussianDescriptor(tuple(elements), {el: tuple(functions) for el in elements})
    tables = descriptor.angular_tables
    assert list(tables.group_direct) == [0, 1] and -1 in tables.shape_power and 16 in tables.shape_power
    rng = np.random.default_rng(5)
    atoms = amp_images[0].copy()
    atoms.rattle(0.05, seed=2)
    fingerprints = descriptor.fingerprints(atoms)[0]
    networks = {}
    for el in elements:
        weights = (rng.normal(0, 0.5, (len(functions) + 1, 5)), rng.normal(0, 0.5, (6, 5)), rng.normal(0, 0.5, (6, 1)))
        networks[el] = ElementNetwork(weights, fingerprints.min(axis=0), fingerprints.max(axis=0) + 1e-3, 1.3, -2.0)
    potential = BPNNPotential(descriptor, AtomicNeuralNetwork(networks))
    _assert_same(potential, atoms)
    # committees on these groups and shapes, each member as if alone: 2 members take a pass over the triplets
    # each, 4 the per-pair Jacobian (fused._JACOBIAN_MEMBERS)
    other = BPNNPotential(descriptor, AtomicNeuralNetwork(
        {el: replace(n, weights=tuple(w * (1 + 0.2 * rng.standard_normal(w.shape)) for w in n.weights))
         for el, n in networks.items()}))
    assert _JACOBIAN_MEMBERS == 4
    for members in ([potential, other], [other, potential, potential, other]):
        for member, result in zip(members, committee_evaluate(members, atoms), strict=True):
            alone = member.evaluate(atoms, forces=True, fused_kernel=False)
            assert result.energy_eV == pytest.approx(alone.energy_eV, abs=1e-10)
            np.testing.assert_allclose(result.forces_eV_A, alone.forces_eV_A, rtol=0, atol=1e-10)
