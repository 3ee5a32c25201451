"""One MD trajectory analysed: D, its uncertainty, components, conductivity, Li-Li RDF first peak."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.io import read

from dopant_workflows.analysis.conductivity import nernst_einstein_conductivity_mS_cm
from dopant_workflows.analysis.diffusion import FIT_START_MSD_A2, analyze_diffusion, he_relative_error
from dopant_workflows.analysis.rdf import radial_distribution
from dopant_workflows.errors import DopwfInputError

RDF_MAX_FRAMES = 200  # the RDF is averaged over at most this many evenly spaced frames


def analyze_trajectory(path: str | Path, species: str = "Li", temperature_K: float | None = None,
                       time_step_fs: float | None = None, seed: int = 0, plots_dir: str | Path | None = None,
                       fit_start_fraction: float = 0.1, fit_start_msd_A2: float = FIT_START_MSD_A2) -> dict:
    """A JSON-ready summary (units in every key) of one trajectory; plots when ``plots_dir`` is given."""
    path = Path(path)
    if not path.is_file():
        raise DopwfInputError(f"trajectory {str(path)!r}: not found")
    try:
        frames = read(path, index=":")
    except Exception as exc:  # noqa: BLE001 - reported with the file name
        raise DopwfInputError(f"trajectory {str(path)!r}: could not be read ({exc})") from None
    if temperature_K is None:
        raise DopwfInputError("temperature_K: needed for the conductivity (e.g. --temperature-K 800)")
    diffusion = analyze_diffusion(frames, species, time_step_fs, temperature_K, fit_start_fraction, seed=seed,
                                  fit_start_msd_A2=fit_start_msd_A2)
    volume = float(frames[0].get_volume())
    n_carriers = diffusion.n_species_atoms
    sigma = sigma_std = None
    if diffusion.diffusivity_cm2_s > 0:
        sigma = nernst_einstein_conductivity_mS_cm(diffusion.diffusivity_cm2_s, temperature_K, n_carriers, volume)
        if diffusion.diffusivity_std_cm2_s:
            sigma_std = sigma * diffusion.diffusivity_std_cm2_s / diffusion.diffusivity_cm2_s
    stride = max(1, len(frames) // RDF_MAX_FRAMES)
    rdf = radial_distribution(frames[::stride], (species, species))
    summary = {
        "trajectory": str(path.resolve()), "species": species, "temperature_K": temperature_K,
        "n_frames": diffusion.n_frames, "time_between_frames_fs": diffusion.time_step_fs,
        "fit_start_fs": diffusion.fit_start_fs, "fit_end_fs": diffusion.fit_end_fs,
        "fit_start_msd_A2": diffusion.fit_start_msd_A2, "n_eff": diffusion.n_eff,
        "relative_error_he": he_relative_error(diffusion.n_eff),
        "diffusivity_cm2_s": diffusion.diffusivity_cm2_s,
        "diffusivity_std_cm2_s": diffusion.diffusivity_std_cm2_s,
        "diffusivity_kinisi_cm2_s": diffusion.diffusivity_kinisi_cm2_s,
        "diffusivity_components_cm2_s": {"a": diffusion.diffusivity_components_cm2_s[0],
                                         "b": diffusion.diffusivity_components_cm2_s[1],
                                         "c": diffusion.diffusivity_components_cm2_s[2]},
        "conductivity_mS_cm": sigma, "conductivity_std_mS_cm": sigma_std,
        "n_carriers": n_carriers, "volume_A3": volume,
        "composition": {el: int(n) for el, n in zip(*np.unique(frames[0].get_chemical_symbols(), return_counts=True),
                                                     strict=True)},
        "rdf_first_peak_A": rdf.first_peak_A,
        "warnings": list(diffusion.warnings) + ([] if rdf.first_peak_A else ["no Li-Li RDF peak found"]),
    }
    if plots_dir is not None:
        from dopant_workflows.analysis.plots import plot_msd, plot_rdf

        plots_dir = Path(plots_dir)
        summary["plots"] = {"msd": str(plot_msd(diffusion, plots_dir / "msd.png")),
                            "rdf": str(plot_rdf(rdf, plots_dir / "rdf.png"))}
    return summary
