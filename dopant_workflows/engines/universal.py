"""Universal ML potentials that stand in for DFT on a laptop: weights ship inside their wheels, load offline.

- ``chgnet`` (default): CHGNet, pretrained model 0.3.0 (shipped in the ``chgnet`` wheel from 0.3.8 on; the
  yanked chgnet 0.3.0 *package* on PyPI lacks the weights).
- ``sevenn``: SevenNet-0 (11 Jul 2024), shipped in the ``sevenn`` wheel.

One engine per data set: their absolute energies differ by ~0.25 eV/atom.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache

from ase import Atoms

from dopant_workflows.errors import DopwfInputError

log = logging.getLogger(__name__)

#: Elements with enough training data in both models' data sets (Materials Project, Z <= 83 minus noble gases
#: and a few sparsely covered ones). A structure outside this list is refused before any MD.
COVERED_ELEMENTS = frozenset(
    "H Li Be B C N O F Na Mg Al Si P S Cl K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Rb Sr Y Zr Nb Mo Tc "
    "Ru Rh Pd Ag Cd In Sn Sb Te I Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg "
    "Tl Pb Bi".split()
)


@dataclass(frozen=True)
class UniversalModel:
    engine: str  # "chgnet" or "sevenn"
    model: str  # model identifier recorded in provenance
    package_version: str


ENGINES = {"chgnet": "CHGNet 0.3.0", "sevenn": "SevenNet-0 (11Jul2024)"}


def parse_engine(text: str) -> str:
    """'embedded' / 'embedded:chgnet' -> 'chgnet'; 'embedded:sevenn' -> 'sevenn'."""
    name = text.split(":", 1)[1] if text.startswith("embedded:") else ("chgnet" if text == "embedded" else text)
    if name not in ENGINES:
        raise DopwfInputError(
            f"engine {text!r}: unknown embedded model; expected embedded, embedded:chgnet or embedded:sevenn"
        )
    return name


def check_elements(atoms: Atoms, engine: str) -> None:
    missing = sorted(set(atoms.get_chemical_symbols()) - COVERED_ELEMENTS)
    if missing:
        raise DopwfInputError(f"structure {atoms.get_chemical_formula()}: element(s) {missing} are not covered by "
                              f"the embedded model {ENGINES[engine]}")


@lru_cache(maxsize=2)
def _chgnet_model():
    from chgnet.model import CHGNet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CHGNet.load(model_name="0.3.0", verbose=False)


@lru_cache(maxsize=1)
def _chgnet_calculator_class():
    """CHGNet's ASE calculator, asked only for what the caller wants.

    CHGNetCalculator runs task "efsm" on every call: its stress is a second backward pass through the graph
    (``create_graph=True``), which more than doubles an MD step's cost at 150 atoms (0.22-0.25 s vs 0.10 s a
    call: bench/results/embedded_aimd.md) for a number NVT MD never reads. Here a call that asks for energy or
    forces runs "ef" (the same forces, bit for bit: the same graph and backward pass); one that asks for stress or
    magnetic moments runs "efsm". ``stress_with_forces = True`` makes every call "efsm": a driver sets it for the
    steps whose frames it stores with their stress, so that the stress comes with the step's own call.
    """
    from chgnet.model.dynamics import CHGNetCalculator

    class ForcesFirstCHGNetCalculator(CHGNetCalculator):
        stress_with_forces = False

        def calculate(self, atoms=None, properties=None, system_changes=None, task=None):
            if task is None:
                wanted = set(properties or ("energy", "forces", "stress", "magmoms"))
                task = "efsm" if self.stress_with_forces or wanted & {"stress", "magmoms"} else "ef"
            super().calculate(atoms=atoms, properties=properties, system_changes=system_changes, task=task)

    return ForcesFirstCHGNetCalculator


def make_calculator(engine: str, device: str = "cpu"):
    """(ASE calculator, provenance) for an embedded engine; nothing is downloaded."""
    from importlib.metadata import version

    if engine == "chgnet":
        try:
            model = _chgnet_model()
        except FileNotFoundError as exc:
            raise DopwfInputError(
                f"engine chgnet: the installed chgnet {version('chgnet')} has no bundled 0.3.0 weights ({exc}); "
                "install chgnet>=0.3.8"
            ) from None
        return (_chgnet_calculator_class()(model=model, use_device=device),
                UniversalModel("chgnet", "CHGNet 0.3.0", version("chgnet")))
    if engine == "sevenn":
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator("7net-0", device=device), UniversalModel("sevenn", "SevenNet-0_11Jul2024",
                                                                            version("sevenn"))
    raise DopwfInputError(f"engine {engine!r}: expected one of {sorted(ENGINES)}")
