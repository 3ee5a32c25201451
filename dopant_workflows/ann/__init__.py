"""AMP-compatible Behler-Parrinello neural-network potential: descriptors, model, training, ASE calculator, AMP I/O."""
