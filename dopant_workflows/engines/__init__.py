"""Reference engines that stand in for DFT: ``vasp`` (custodian, clusters) and ``embedded`` (universal ML
potential, laptops). Both produce the same training-image format (:mod:`dopant_workflows.engines.frames`)."""
