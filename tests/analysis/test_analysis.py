"""Analysis against analytic cases and the paper's numbers."""

import math

import numpy as np
import pytest
from ase import Atoms

from dopant_workflows.analysis.arrhenius import BOLTZMANN_EV_K, fit_arrhenius
from dopant_workflows.analysis.conductivity import (
    anderson_stuart_barrier_eV,
    effective_radius_A,
    nernst_einstein_conductivity_mS_cm,
)
from dopant_workflows.analysis.diffusion import analyze_diffusion
from dopant_workflows.analysis.rdf import radial_distribution
from dopant_workflows.errors import DopwfInputError


def _random_walk(d_a2_fs=1e-3, n_li=40, n_frames=400, dt_fs=10.0, drift_A_fs=0.0, seed=0):
    """Li random walkers with a known D among a rigid S framework that may drift as a whole."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=math.sqrt(2 * d_a2_fs * dt_fs), size=(n_frames, n_li, 3))
    li = np.cumsum(steps, axis=0) + rng.uniform(0, 20, size=(n_li, 3))
    framework = rng.uniform(0, 20, size=(16, 3))
    frames = []
    for n, positions in enumerate(li):
        shift = drift_A_fs * dt_fs * n * np.array([1.0, 0.5, 0.0])
        atoms = Atoms(["Li"] * n_li + ["S"] * 16, positions=np.vstack([positions + shift, framework + shift]),
                      cell=[20, 20, 20], pbc=True)
        atoms.info["time_fs"] = n * dt_fs
        frames.append(atoms)
    return frames


def test_random_walk_diffusivity_is_recovered_within_its_uncertainty():
    result = analyze_diffusion(_random_walk(), "Li")
    true = 1e-3 * 0.1  # A^2/fs -> cm^2/s
    assert result.diffusivity_std_cm2_s > 0
    assert abs(result.diffusivity_kinisi_cm2_s - true) < 3 * result.diffusivity_std_cm2_s
    assert abs(result.diffusivity_cm2_s - true) < 3 * result.diffusivity_std_cm2_s
    assert result.diffusivity_components_cm2_s == pytest.approx([true] * 3, rel=0.35)
    assert result.time_step_fs == 10.0 and result.n_species_atoms == 40


def test_framework_drift_is_removed():
    still = analyze_diffusion(_random_walk(seed=2), "Li", uncertainty=False)
    drifting = analyze_diffusion(_random_walk(seed=2, drift_A_fs=0.01), "Li", uncertainty=False)
    assert drifting.diffusivity_cm2_s == pytest.approx(still.diffusivity_cm2_s, rel=1e-9)
    frozen = _random_walk(d_a2_fs=0.0, seed=3, drift_A_fs=0.02)
    assert abs(analyze_diffusion(frozen, "Li", uncertainty=False).diffusivity_cm2_s) < 1e-12


def test_bad_trajectories():
    frames = _random_walk(n_frames=50)
    with pytest.raises(DopwfInputError, match="need at least 20"):
        analyze_diffusion(frames[:10], "Li")
    with pytest.raises(DopwfInputError, match="no Na atoms"):
        analyze_diffusion(frames, "Na")
    with pytest.raises(DopwfInputError, match="wrapped"):  # fast walkers leave the cell and get wrapped back
        analyze_diffusion([_wrapped(f) for f in _random_walk(d_a2_fs=0.3, n_frames=60)], "Li")
    for f in frames:
        del f.info["time_fs"]
    with pytest.raises(DopwfInputError, match="time-step-fs"):
        analyze_diffusion(frames, "Li")


def _wrapped(frame):
    frame = frame.copy()
    frame.wrap()
    return frame


def test_arrhenius_gives_back_an_exact_law():
    ea, d0 = 0.26, 2e-3
    t = np.array([600.0, 700.0, 800.0, 900.0, 1000.0])
    d = d0 * np.exp(-ea / (BOLTZMANN_EV_K * t))
    fit = fit_arrhenius(t, d)
    assert fit.activation_energy_eV == pytest.approx(ea, rel=1e-10)
    assert fit.prefactor_cm2_s == pytest.approx(d0, rel=1e-9)
    value, lower, upper = fit.extrapolate(300.0)
    assert value == pytest.approx(d0 * math.exp(-ea / (BOLTZMANN_EV_K * 300)), rel=1e-8)
    assert lower <= value <= upper and fit.linear


def test_arrhenius_with_errors_flags_a_bent_line():
    t = np.array([400.0, 500.0, 600.0, 700.0, 800.0, 900.0])
    d = np.where(t < 550, 1e-3 * np.exp(-0.45 / (BOLTZMANN_EV_K * t)), 1e-4 * np.exp(-0.2 / (BOLTZMANN_EV_K * t)))
    fit = fit_arrhenius(t, d, diffusivity_errors_cm2_s=0.02 * d)
    assert not fit.linear and "not one straight line" in fit.warnings[0]
    good = fit_arrhenius(t, 1e-3 * np.exp(-0.3 / (BOLTZMANN_EV_K * t)), 0.05 * np.ones(6) * 1e-6)
    assert good.activation_energy_eV == pytest.approx(0.3, rel=1e-6)


@pytest.mark.parametrize(
    ("t", "d", "message"),
    [([600], [1e-6], "need at least 2"), ([600, 600], [1e-6, 2e-6], "need at least 2"),
     ([600, 700], [1e-6, 0.0], "must be positive"), ([0.6, 0.7, 0.8], [1e-6, 2e-6, 3e-6], "are they in K"),
     ([-600, 700], [1e-6, 2e-6], "positive K")],
)
def test_arrhenius_bad_input(t, d, message):
    with pytest.raises(DopwfInputError, match=message):
        fit_arrhenius(t, d)


def test_nernst_einstein_reproduces_the_papers_lgps_conductivity():
    # Table 2: LGPS DFT-MD, D(300 K) = 7.88e-8 cm^2/s, 20 Li in the 952 A^3 cell -> about 10 mS/cm
    sigma = nernst_einstein_conductivity_mS_cm(7.88e-8, 300.0, 20, 952.35)
    assert sigma == pytest.approx(10.3, abs=0.1)
    assert nernst_einstein_conductivity_mS_cm(7.88e-8, 300.0, 20, 952.35, haven_ratio=0.5) == pytest.approx(2 * sigma)
    with pytest.raises(DopwfInputError, match="diffusivity_cm2_s"):
        nernst_einstein_conductivity_mS_cm(-1e-8, 300.0, 20, 952.35)


def test_anderson_stuart_reproduces_the_papers_table_3():
    volume, n_total = 3 * 952.35, 150
    r_li = effective_radius_A(volume, 60, n_total)
    # Eq. 5 radii of the text: 0.63, 0.79, 0.91 A for 1, 2, 3 Cl
    assert [round(effective_radius_A(volume, n, n_total), 2) for n in (1, 2, 3)] == [0.62, 0.79, 0.9]
    # Table 3 rows (lambda 3.35 A, its r_anion and eps_r): 0.31, 0.28, 0.29 eV
    barriers = [anderson_stuart_barrier_eV(3.35, r_li, r_a, eps)
                for r_a, eps in ((0.63, 5.14), (0.79, 5.24), (0.91, 4.92))]
    assert barriers == pytest.approx([0.31, 0.28, 0.29], abs=0.015)
    # larger anion radius and larger eps_r both lower the barrier (the paper's argument)
    assert anderson_stuart_barrier_eV(3.35, r_li, 0.9, 5.0) < anderson_stuart_barrier_eV(3.35, r_li, 0.6, 5.0)
    assert anderson_stuart_barrier_eV(3.35, r_li, 0.8, 6.0) < anderson_stuart_barrier_eV(3.35, r_li, 0.8, 5.0)
    with pytest.raises(DopwfInputError, match="epsilon_r"):
        anderson_stuart_barrier_eV(3.35, r_li, 0.8, 0.0)


def test_rdf_of_a_simple_cubic_lattice_peaks_at_the_lattice_constant():
    atoms = Atoms("Li", positions=[[0, 0, 0]], cell=[3.2, 3.2, 3.2], pbc=True).repeat((4, 4, 4))
    result = radial_distribution([atoms], ("Li", "Li"), r_max_A=6.0)
    assert result.first_peak_A == pytest.approx(3.2, abs=0.05)
    ideal = Atoms("Li50", positions=np.random.default_rng(0).uniform(0, 12, (50, 3)), cell=[12, 12, 12], pbc=True)
    frames = []
    for seed in range(40):
        frame = ideal.copy()
        frame.positions = np.random.default_rng(seed).uniform(0, 12, (50, 3))
        frames.append(frame)
    gas = radial_distribution(frames, ("Li", "Li"), r_max_A=5.0, bin_width_A=0.25)
    assert np.mean(gas.g[8:]) == pytest.approx(1.0, abs=0.08)  # ideal gas: g = 1
    assert gas.first_peak_A is None  # its fluctuations above 1 are noise, not a coordination shell
    within = np.abs(gas.g[4:] - 1.0) < 3 * gas.g_stderr[4:]  # the error bars cover g = 1 where pairs exist
    assert within.mean() > 0.9


def test_rdf_peak_of_a_noisy_lattice_is_kept_and_of_random_walkers_is_not():
    rng = np.random.default_rng(3)
    lattice = Atoms("Li", positions=[[0, 0, 0]], cell=[3.0, 3.0, 3.0], pbc=True).repeat((4, 4, 4))
    thermal = []
    for _ in range(20):  # vibrating about lattice sites: a broadened but real first shell at 3 A
        frame = lattice.copy()
        frame.positions += rng.normal(scale=0.25, size=frame.positions.shape)
        thermal.append(frame)
    assert radial_distribution(thermal, r_max_A=5.0).first_peak_A == pytest.approx(3.0, abs=0.15)
    walkers = lattice.copy()  # independent random walkers (no interactions) started on the lattice
    walkers.positions += rng.normal(scale=3.0, size=walkers.positions.shape)
    frames = []
    for _ in range(50):
        walkers.positions += rng.normal(scale=0.3, size=walkers.positions.shape)
        frames.append(walkers.copy())
    assert radial_distribution(frames, r_max_A=5.0).first_peak_A is None


def test_fft_msd_equals_the_direct_average():
    from dopant_workflows.analysis.diffusion import msd_A2

    x = np.cumsum(np.random.default_rng(0).normal(size=(300, 7, 3)), axis=0)
    direct = np.zeros((151, 3))
    for lag in range(1, 151):
        direct[lag] = np.mean((x[lag:] - x[:-lag]) ** 2, axis=(0, 1))
    assert msd_A2(x, 150) == pytest.approx(direct, abs=1e-9)


def test_the_fit_starts_where_the_msd_reaches_half_a_hop_squared_and_never_too_late():
    """MSD = 6 D t for a random walk: with D = 1e-3 A^2/fs it reaches 4.5 A^2 at 750 fs (frame 75 of 400, after
    10 % = 40 frames): the fit starts there. With D ten times smaller it would get there only at 7.5 ps, far
    beyond the run: the fit starts at its latest allowed lag (60 % of the way to half the run) and says why."""
    fast = analyze_diffusion(_random_walk(d_a2_fs=1e-3), "Li", uncertainty=False)
    assert 600.0 <= fast.fit_start_fs <= 900.0 and fast.fit_start_msd_A2 >= 4.5 and not fast.warnings
    assert fast.fit_end_fs == 2000.0
    assert fast.n_eff == pytest.approx(40 * 6 * 1e-3 * 2000.0 / 9.0, rel=0.2)  # 40 walkers x MSD(2 ps) / a^2
    slow = analyze_diffusion(_random_walk(d_a2_fs=1e-4), "Li", uncertainty=False)
    assert slow.fit_start_fs == pytest.approx(0.6 * 2000.0, abs=10.0)
    assert any("beyond the fit's latest start" in w for w in slow.warnings)
    off = analyze_diffusion(_random_walk(d_a2_fs=1e-3), "Li", uncertainty=False, fit_start_msd_A2=0.0)
    assert off.fit_start_fs == 400.0  # the 10 % of the run alone
