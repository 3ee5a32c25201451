"""The MD protocol of the paper with ASE on any calculator, with checkpoints that resume exactly."""
