"""Active learning (DP-GEN's concurrent learning, beyond the paper): a committee of networks explores with ANN-MD
on the cells that will be simulated; frames where the committee disagrees (maximum force deviation between two
trust levels) are labelled by the reference engine and added; the committee is retrained; until fewer than a
few per cent of explored frames exceed the lower trust level. ``settings`` and ``deviation`` are pure."""
