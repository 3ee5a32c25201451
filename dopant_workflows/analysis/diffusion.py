"""Li diffusion from an MD trajectory: MSD with framework drift removed, D by the standard estimator, its
uncertainty from kinisi (Bayesian, full MSD covariance; pymatgen's D_sigma underestimates it, its issue #449),
and D along the three lattice directions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from dopant_workflows.errors import DopwfInputError

A2_PER_FS_TO_CM2_PER_S = 0.1  # 1 A^2/fs = 1e-16 cm^2 / 1e-15 s
MIN_FRAMES = 20
#: He, Zhu, Epstein, Mo, npj Comput Mater 4, 18 (2018): fit the MSD from ~0.5 a^2 per ion on (a ~ 3 A, one hop):
#: before that it is vibration and the first, correlated part of a hop, not diffusion
HOP_LENGTH_A = 3.0
FIT_START_MSD_A2 = 0.5 * HOP_LENGTH_A**2
#: the fit starts at the latest at this fraction of the lags up to half the run
LATEST_FIT_START = 0.6


def he_relative_error(n_eff: float) -> float | None:
    """He et al.'s empirical relative error of D from one trajectory, 3.43 / sqrt(N_eff) + 0.04, with N_eff the
    total mean squared displacement of all diffusing ions over a^2 (a cross-check of kinisi's error)."""
    return 3.43 / np.sqrt(n_eff) + 0.04 if n_eff > 0 else None


@dataclass(frozen=True)
class DiffusionResult:
    species: str
    temperature_K: float | None
    diffusivity_cm2_s: float  # standard estimator: slope of the MSD / 6
    diffusivity_std_cm2_s: float | None  # kinisi posterior standard deviation
    diffusivity_kinisi_cm2_s: float | None  # kinisi posterior mean
    diffusivity_components_cm2_s: tuple[float, float, float]  # along a, b, c: slope of the 1D MSD / 2
    time_step_fs: float  # between frames
    fit_start_fs: float
    n_frames: int
    n_species_atoms: int
    warnings: tuple[str, ...]
    msd_time_fs: np.ndarray = field(repr=False)
    msd_A2: np.ndarray = field(repr=False)
    fit_intercept_A2: float = 0.0
    fit_end_fs: float | None = None  # the last lag fitted (half the run)
    fit_start_msd_A2: float | None = None  # the MSD per ion where the fit starts
    n_eff: float | None = None  # He et al.'s N_eff: total MSD of all diffusing ions at the last lag fitted, over a^2


def unwrapped_positions(frames: Sequence[Atoms]) -> np.ndarray:
    """Positions (n_frames, n_atoms, 3) as stored; refuses wrapped trajectories (a jump of more than half a
    cell between consecutive frames means the positions were wrapped back into the cell)."""
    positions = np.array([f.positions for f in frames])
    cell = frames[0].cell.array
    steps = np.diff(positions, axis=0)
    frac_steps = steps @ np.linalg.inv(cell)
    if np.any(np.abs(frac_steps) > 0.5):
        frame, atom = np.argwhere(np.abs(frac_steps).max(axis=2) > 0.5)[0]
        raise DopwfInputError(
            f"trajectory: atom {atom} jumps by more than half a cell between frames {frame} and {frame + 1}: "
            "positions are wrapped; unwrapped positions are needed (write MD positions without wrapping)")
    return positions


def remove_framework_drift(positions: np.ndarray, mobile: np.ndarray) -> np.ndarray:
    """Subtract the displacement of the framework's centre (all non-mobile atoms) from every atom."""
    framework = ~mobile
    if not framework.any():
        return positions
    drift = positions[:, framework].mean(axis=1) - positions[0, framework].mean(axis=0)
    return positions - drift[:, None, :]


def msd_A2(positions: np.ndarray, max_lag: int) -> np.ndarray:
    """MSD per lag 0..max_lag averaged over all time origins and atoms, per axis: shape (max_lag + 1, 3).

    O(T log T) with the FFT autocorrelation (the nMoldyn algorithm):
    MSD(m) = [sum_t x(t)^2 + x(t+m)^2] / (T - m) - 2 [sum_t x(t) x(t+m)] / (T - m).
    """
    n_t = positions.shape[0]
    x = positions.reshape(n_t, -1)  # (T, atoms * 3)
    squares = x**2
    # sum over origins of x(t)^2 + x(t+m)^2, for every lag m
    cumulative = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(squares, axis=0)])
    lags = np.arange(max_lag + 1)
    tail = cumulative[n_t] - cumulative[lags]  # sum_{t >= m} x(t)^2
    head = cumulative[n_t - lags]  # sum_{t < T - m} x(t)^2
    size = 2 * n_t
    spectrum = np.fft.rfft(x, n=size, axis=0)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[: max_lag + 1]
    per_column = (head + tail - 2.0 * correlation) / (n_t - lags)[:, None]
    per_column[0] = 0.0
    return per_column.reshape(max_lag + 1, -1, 3).mean(axis=1)


def analyze_diffusion(frames: Sequence[Atoms], species: str = "Li", time_step_fs: float | None = None,
                      temperature_K: float | None = None, fit_start_fraction: float = 0.1,
                      uncertainty: bool = True, seed: int = 0,
                      fit_start_msd_A2: float = FIT_START_MSD_A2) -> DiffusionResult:
    """D of ``species`` from unwrapped frames. Time between frames: ``frames[i].info['time_fs']`` when
    present, else ``time_step_fs``. The MSD is fitted to half of the run, from ``fit_start_fraction`` of it or
    from where the MSD per ion first reaches ``fit_start_msd_A2`` (He et al.'s 0.5 a^2), whichever is later; an
    MSD that never gets there in time is fitted from ``fit_start_fraction`` with a warning (D rests on less than a
    hop per ion)."""
    if len(frames) < MIN_FRAMES:
        raise DopwfInputError(f"trajectory: {len(frames)} frames; need at least {MIN_FRAMES} for an MSD fit")
    symbols = np.array(frames[0].get_chemical_symbols())
    mobile = symbols == species
    if not mobile.any():
        present = ", ".join(sorted(set(symbols.tolist())))
        raise DopwfInputError(f"trajectory: no {species} atoms (species present: {present})")
    times = [f.info.get("time_fs") for f in frames]
    if all(t is not None for t in times):
        steps = np.diff(np.array(times, dtype=float))
        if not np.allclose(steps, steps[0], rtol=1e-6) or steps[0] <= 0:
            raise DopwfInputError("trajectory: frames are not evenly spaced in time_fs")
        dt = float(steps[0])
    elif time_step_fs:
        dt = float(time_step_fs)
    else:
        raise DopwfInputError("trajectory: frames carry no time_fs; give the time between frames (--time-step-fs)")
    notes = []
    if temperature_K is not None and temperature_K < 5:
        raise DopwfInputError(f"temperature_K={temperature_K}: below 5 K; is it in K?")
    positions = remove_framework_drift(unwrapped_positions(frames), mobile)
    cell = frames[0].cell.array
    li = positions[:, mobile]
    max_lag = len(frames) // 2
    msd_xyz = msd_A2(li, max_lag)
    lattice_dirs = cell / np.linalg.norm(cell, axis=1)[:, None]
    projected = np.einsum("tak,dk->tad", li, lattice_dirs)
    msd_abc = msd_A2(projected, max_lag)
    lags = np.arange(max_lag + 1) * dt
    start = max(1, int(fit_start_fraction * len(frames)))
    if max_lag - start < 3:
        raise DopwfInputError(f"trajectory: {len(frames)} frames leave too few lags for the fit")
    total = msd_xyz.sum(axis=1)
    # the fit keeps at least the last 40 % of the lags up to half the run: a window of a few lags gives kinisi a
    # degenerate posterior (measured: a 4-lag window, sigma_D ~ 1e38) and the standard estimator a noisy slope
    latest = max(start, int(LATEST_FIT_START * max_lag))
    reached = np.nonzero(total >= fit_start_msd_A2)[0] if fit_start_msd_A2 > 0 else np.array([0])
    if len(reached) and reached[0] <= latest:
        start = max(start, int(reached[0]))
    else:
        start = latest
        where = (f"reaches {fit_start_msd_A2:g} A^2 only at {lags[reached[0]] / 1000:.2g} ps" if len(reached) else
                 f"reaches only {total[max_lag]:.2g} A^2 by half the run")
        notes.append(f"the MSD per {species} {where}, beyond the fit's latest start ({lags[latest] / 1000:.2g} ps): "
                     f"D rests on less than one hop ({fit_start_msd_A2:g} A^2 = 0.5 a^2, a = {HOP_LENGTH_A:g} A) "
                     "per ion in part of its window; run longer or hotter")
    n_eff = float(total[max_lag] * mobile.sum() / HOP_LENGTH_A**2)
    slope, intercept = np.polyfit(lags[start:], total[start:], 1)
    components = tuple(float(np.polyfit(lags[start:], msd_abc[start:, k], 1)[0] / 2 * A2_PER_FS_TO_CM2_PER_S)
                       for k in range(3))
    diffusivity = float(slope / 6 * A2_PER_FS_TO_CM2_PER_S)
    if diffusivity <= 0:
        notes.append("MSD does not grow: no diffusion resolved (D <= 0); run longer or hotter")
    mean_k = std_k = None
    if uncertainty:
        mean_k, std_k = _kinisi(frames, positions, species, dt, lags[start], seed)
        if std_k is not None and not (np.isfinite(std_k) and std_k < 1e3 * max(abs(diffusivity), 1e-30)):
            notes.append(f"kinisi's posterior of D is degenerate (sigma {std_k:.3g} cm^2/s): no error for this run")
            mean_k = std_k = None
    return DiffusionResult(species, temperature_K, diffusivity, std_k, mean_k, components, dt, float(lags[start]),
                           len(frames), int(mobile.sum()), tuple(notes), lags, total, float(intercept),
                           float(lags[max_lag]), float(total[start]), n_eff)


def _kinisi(frames, positions, species, dt_fs, start_fs, seed) -> tuple[float | None, float | None]:
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    drift_free = []
    for frame, pos in zip(frames, positions, strict=True):
        copy = frame.copy()
        copy.calc = None
        copy.positions = pos
        drift_free.append(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # at most ~100 time intervals up to half the run: the posterior is as good, the cost 50x lower
        n_half = max(2, len(frames) // 2)
        intervals = np.unique(np.linspace(1, n_half, min(100, n_half)).round().astype(int)) * dt_fs
        analyzer = DiffusionAnalyzer.from_ase(drift_free, specie=species, time_step=sc.scalar(dt_fs, unit="fs"),
                                              step_skip=sc.scalar(1, unit="dimensionless"),
                                              dt=sc.array(dims=["time interval"], values=intervals, unit="fs"),
                                              progress=False)
        analyzer.diffusion(start_dt=sc.scalar(start_fs, unit="fs"), progress=False,
                           random_state=np.random.RandomState(seed))
    samples = analyzer.D.to(unit="cm^2/s").values
    return float(np.mean(samples)), float(np.std(samples, ddof=1))
