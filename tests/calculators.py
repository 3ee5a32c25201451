"""Cheap test calculators that misbehave on purpose."""

from ase.calculators.emt import EMT


class Killed(RuntimeError):
    """Stands for the process being killed mid-run."""


class DyingEMT(EMT):
    """EMT that raises after a number of evaluations: a process killed mid-run."""

    def __init__(self, calls):
        super().__init__()
        self.calls_left = calls

    def calculate(self, *args, **kwargs):
        self.calls_left -= 1
        if self.calls_left < 0:
            raise Killed()
        super().calculate(*args, **kwargs)


class JumpingEMT(EMT):
    """EMT whose energy jumps by 5 eV/atom after some evaluations: an unphysical event."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.calls -= 1
        if self.calls < 0:
            self.results["energy"] += 5.0 * len(self.atoms)
