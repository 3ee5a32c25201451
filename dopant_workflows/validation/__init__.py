"""Validation of a trained network against its reference engine (the paper's section 3.2, Fig. 5a): D(T) from
reference MD and from ANN-MD of the same cell, both Arrhenius fits, and the network's errors on frames of its own
ANN-MD relabelled by the reference. ``settings`` and ``compare`` are pure (no MD, no torch)."""
