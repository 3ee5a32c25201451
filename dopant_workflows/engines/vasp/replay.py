"""Replay of recorded VASP runs in place of VASP (atomate's ``use_fake_vasp``), as a custodian Job.

A reference directory holds ``inputs/`` (what the run must be given) and ``outputs/`` (what VASP wrote);
optionally ``outputs_attempt1/`` replayed on the first attempt only (e.g. a run that hits a VASP error custodian
must correct). The job checks the inputs in the run directory against ``inputs/`` (the INCAR keys that matter,
KPOINTS mesh and style, POSCAR species and counts, POTCAR symbols from POTCAR or POTCAR.spec), then copies
the outputs in, and records what it saw in ``replay.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from custodian.custodian import Job
from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar

INCAR_KEYS = ("ENCUT", "ISMEAR", "SIGMA", "ISPIN", "IBRION", "MDALGO", "POTIM", "ISYM", "NSW", "TEBEG", "TEEND",
              "LEPSILON", "SMASS")


class ReplayMismatch(RuntimeError):
    """The inputs written for a run differ from those of the reference run it replays."""


def _potcar_symbols(run_dir: Path) -> list[str]:
    spec = run_dir / "POTCAR.spec"
    if spec.exists():
        return spec.read_text().split()
    from pymatgen.io.vasp.inputs import Potcar

    return Potcar.from_file(run_dir / "POTCAR").symbols


def check_inputs(run_dir: Path, reference_inputs: Path) -> None:
    problems = []
    mine, ref = Incar.from_file(run_dir / "INCAR"), Incar.from_file(reference_inputs / "INCAR")
    for key in INCAR_KEYS:
        if mine.get(key) != ref.get(key):
            problems.append(f"INCAR {key}: {mine.get(key)!r}, reference {ref.get(key)!r}")
    k_mine, k_ref = Kpoints.from_file(run_dir / "KPOINTS"), Kpoints.from_file(reference_inputs / "KPOINTS")
    if (k_mine.style, list(map(tuple, k_mine.kpts))) != (k_ref.style, list(map(tuple, k_ref.kpts))):
        problems.append(f"KPOINTS: {k_mine.style} {k_mine.kpts}, reference {k_ref.style} {k_ref.kpts}")
    p_mine = Poscar.from_file(run_dir / "POSCAR", check_for_potcar=False)
    p_ref = Poscar.from_file(reference_inputs / "POSCAR", check_for_potcar=False)
    if (p_mine.site_symbols, p_mine.natoms) != (p_ref.site_symbols, p_ref.natoms):
        problems.append(f"POSCAR: {p_mine.site_symbols} {p_mine.natoms}, reference {p_ref.site_symbols} {p_ref.natoms}")
    if _potcar_symbols(run_dir) != _potcar_symbols(reference_inputs):
        problems.append(f"POTCAR: {_potcar_symbols(run_dir)}, reference {_potcar_symbols(reference_inputs)}")
    if problems:
        raise ReplayMismatch(f"{run_dir} vs {reference_inputs}: " + "; ".join(problems))


class ReplayVaspJob(Job):
    """A custodian Job that replays ``reference_dir`` instead of running VASP."""

    def __init__(self, reference_dir: str | Path):
        self.reference_dir = Path(reference_dir)

    def setup(self, directory="./"):
        pass

    def run(self, directory="./"):
        run_dir = Path(directory)
        check_inputs(run_dir, self.reference_dir / "inputs")
        log_path = run_dir / "replay.json"
        attempts = json.loads(log_path.read_text()) if log_path.exists() else []
        first_attempt = self.reference_dir / "outputs_attempt1"
        source = first_attempt if not attempts and first_attempt.is_dir() else self.reference_dir / "outputs"
        for path in source.iterdir():
            shutil.copy(path, run_dir / path.name)
        attempts.append({"outputs": source.name, "incar": Incar.from_file(run_dir / "INCAR").as_dict()})
        log_path.write_text(json.dumps(attempts, indent=1, default=str))
        return subprocess.Popen(["true"])  # custodian waits on a process

    def postprocess(self, directory="./"):
        pass

    @property
    def name(self):
        return f"ReplayVaspJob({self.reference_dir.name})"
