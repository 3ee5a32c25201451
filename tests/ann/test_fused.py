"""The fused kernel (one pass per centre atom) gives the three-step path's energies, forces and stress."""

from dataclasses import replace

import numpy as np
import pytest

from dopant_workflows.ann.amp_io import load_amp_potential
from dopant_workflows.ann.fused import pack_networks
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.network import AtomicNeuralNetwork, ElementNetwork

from .conftest import MODEL_IMAGES, REFERENCE_DIR


def _assert_same(potential, atoms, **kwargs):
    fused = potential.evaluate(atoms, forces=True, stress=True, **kwargs)
    steps = potential.evaluate(atoms, forces=True, stress=True, fused_kernel=False, **kwargs)
    assert fused.energy_eV == pytest.approx(steps.energy_eV, abs=1e-10)
    np.testing.assert_allclose(fused.energies_eV, steps.energies_eV, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fused.forces_eV_A, steps.forces_eV_A, rtol=0, atol=1e-10)
    # 1e-11 eV/A^3 = 1.6e-9 GPa: the fused kernel's f_c(R_jk) is a power series (to 4e-16), the three steps' a cosine
    np.testing.assert_allclose(fused.stress_eV_A3, steps.stress_eV_A3, rtol=0, atol=1e-11)
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
    assert pack_networks([AtomicNeuralNetwork(networks)], lgps_potential.descriptor.max_functions) is None
    potential = BPNNPotential(lgps_potential.descriptor, AtomicNeuralNetwork(networks))
    result = potential.evaluate(amp_images[0], forces=True)
    assert np.all(np.isfinite(result.forces_eV_A))


def test_cutoff_power_series_is_the_cosine_cutoff():
    """The fused kernel's f_c(R_jk) from R_jk^2 alone: the cosine cutoff and its derivative to rounding on
    [0, R_c], exactly zero at R_c."""
    from dopant_workflows.ann.fused import cutoff_of_square

    rc = 6.5
    for r in np.linspace(0.0, rc, 4001):
        value, slope = cutoff_of_square((r / rc) ** 2)
        assert value == pytest.approx(0.5 * (np.cos(np.pi * r / rc) + 1.0), abs=5e-16)
        # d f_c / dR = (d f_c / dx) 2 R / R_c^2
        assert slope * 2.0 * r / rc**2 == pytest.approx(-0.5 * np.pi / rc * np.sin(np.pi * r / rc), abs=1e-15)
    assert cutoff_of_square(1.0)[0] == 0.0
