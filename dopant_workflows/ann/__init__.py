"""AMP-compatible Behler-Parrinello neural-network potential: descriptors, model, training, ASE calculator, AMP I/O.

Public API::

    load_amp(path) -> BPNNCalculator            # an AMP 1.0.1 .amp model, AMP's numbers
    save_amp(calc_or_potential, path)           # write a .amp file AMP 1.0.1 loads
    load_potential(path) / save_potential(...)  # our checksummed model.json (or a .amp file)
    train_potential(images, TrainingSettings()) # fit on reference energies and forces
"""

from importlib import import_module

_PUBLIC = {
    "BPNNCalculator": "calculator",
    "BPNNPotential": "model",
    "GaussianDescriptor": "descriptor",
    "TrainingSettings": "settings",
    "ZernikeDescriptor": "zernike",
    "load_amp": "amp_io",
    "load_amp_potential": "amp_io",
    "load_potential": "model_io",
    "save_amp": "amp_io",
    "save_potential": "model_io",
    "train_potential": "training",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Imported on first use: reading a settings model must not load torch and compile kernels."""
    if name in _PUBLIC:
        return getattr(import_module(f"dopant_workflows.ann.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'dopant_workflows.ann' has no attribute {name!r}")
