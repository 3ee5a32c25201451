"""AMP-compatible Behler-Parrinello neural-network potential: descriptors, model, training, ASE calculator, AMP I/O.

Public API::

    load_amp(path) -> BPNNCalculator            # an AMP 1.0.1 .amp model, AMP's numbers
    save_amp(calc_or_potential, path)           # write a .amp file AMP 1.0.1 loads
    load_potential(path) / save_potential(...)  # our checksummed model.json (or a .amp file)
    train_potential(images, TrainingSettings()) # fit on reference energies and forces
"""

from dopant_workflows.ann.amp_io import load_amp, load_amp_potential, save_amp
from dopant_workflows.ann.calculator import BPNNCalculator
from dopant_workflows.ann.descriptor import GaussianDescriptor
from dopant_workflows.ann.model import BPNNPotential
from dopant_workflows.ann.model_io import load_potential, save_potential

__all__ = [
    "BPNNCalculator",
    "BPNNPotential",
    "GaussianDescriptor",
    "load_amp",
    "load_amp_potential",
    "load_potential",
    "save_amp",
    "save_potential",
]
