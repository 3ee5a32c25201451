"""One CP2K single point under custodian: write the input, run, correct what custodian's CP2K handlers know how to
fix, validate the output, parse it into an ASE Atoms with a SinglePointCalculator (energy eV, forces eV/A, stress).

Handlers (as atomate2's CP2K jobs): StdErrHandler, UnconvergedScfErrorHandler (OT DIIS -> CG -> 3-point line search
-> IRAC with rotations, restarting from the last wavefunction), DivergingScfErrorHandler, FrozenJobErrorHandler,
AbortHandler (Cholesky failures), NumericalPrecisionHandler, and WalltimeHandler when a wall time is set; validator:
Cp2kOutputValidator (the program ended and its SCF converged). Corrections land in custodian.json beside the run.

Resumable: a run directory that already holds a finished, converged output of the same input is read, not rerun.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from custodian import Custodian
from custodian.cp2k.handlers import (
    AbortHandler,
    DivergingScfErrorHandler,
    FrozenJobErrorHandler,
    NumericalPrecisionHandler,
    StdErrHandler,
    UnconvergedScfErrorHandler,
    WalltimeHandler,
)
from custodian.cp2k.jobs import Cp2kJob
from custodian.cp2k.validators import Cp2kOutputValidator
from custodian.custodian import CustodianError

from dopant_workflows.engines.cp2k.inputs import INPUT_FILE, OUTPUT_FILE, PROJECT, check_cell, single_point_text
from dopant_workflows.engines.cp2k.outputs import ENDED, NOT_CONVERGED, read_single_point
from dopant_workflows.engines.cp2k.settings import Cp2kSettings, cp2k_available
from dopant_workflows.errors import DopwfInputError


class Cp2kRunError(RuntimeError):
    """CP2K failed in a way custodian's handlers could not correct (the run directory keeps the evidence)."""


ASKED_FILE = "asked.inp"  # the input as we wrote it, before custodian's corrections: what a resumed run compares
GUESS_FILE = "guess.wfn"  # a nearby frame's wavefunction, copied in to start the SCF
WFN_FILE = f"{PROJECT}-RESTART.wfn"  # the converged wavefunction CP2K writes


class ThreadedCp2kJob(Cp2kJob):
    """custodian's Cp2kJob with the settings' OpenMP threads in the child's environment, and a terminate that stops
    this job's own process (Cp2kJob's runs ``killall cp2k.psmp``, which would also kill other workers' runs)."""

    def __init__(self, cp2k_cmd: list[str], threads: int = 1):
        super().__init__(cp2k_cmd, input_file=INPUT_FILE, output_file=OUTPUT_FILE)
        self.threads = threads  # as an attribute of its own name: custodian records the job with monty's as_dict
        self._process: subprocess.Popen | None = None

    def run(self, directory="./"):
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads)}
        with (open(os.path.join(directory, self.output_file), "w") as out,
              open(os.path.join(directory, self.stderr_file), "w", buffering=1) as err):
            self._process = subprocess.Popen([*self.cp2k_cmd, "-i", self.input_file], cwd=directory, stdout=out,
                                             stderr=err, env=env)
        return self._process

    def terminate(self, directory="./") -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def handlers(settings: Cp2kSettings, run_dir: Path) -> list:
    # StdErrHandler opens its file relative to the working directory, not custodian's run directory: give its path
    found = [StdErrHandler(std_err=str(run_dir.resolve() / "std_err.txt")),
             UnconvergedScfErrorHandler(input_file=INPUT_FILE, output_file=OUTPUT_FILE),
             DivergingScfErrorHandler(output_file=OUTPUT_FILE, input_file=INPUT_FILE),
             FrozenJobErrorHandler(input_file=INPUT_FILE, output_file=OUTPUT_FILE, timeout=settings.frozen_timeout_s),
             AbortHandler(input_file=INPUT_FILE, output_file=OUTPUT_FILE),
             NumericalPrecisionHandler(input_file=INPUT_FILE, output_file=OUTPUT_FILE)]
    if settings.walltime_s:
        found.append(WalltimeHandler(output_file=OUTPUT_FILE))
    return found


def run_input(run_dir: str | Path, text: str, settings: Cp2kSettings, max_errors: int = 5,
              polling_time_step_s: float = 5.0, files: dict[str, Path] | None = None) -> tuple[bool, list[dict]]:
    """Run the CP2K input ``text`` in ``run_dir`` under custodian, unless the directory already holds a finished,
    converged run of the same input. ``files``: {name: source} copied into the run directory first (e.g. an SCF
    guess). Returns (whether CP2K ran, custodian's corrections)."""
    run_dir = Path(run_dir)
    if _finished_same_input(run_dir, text):
        return False, corrections(run_dir)
    problem = cp2k_available(settings)
    if problem:
        raise DopwfInputError(f"engine cp2k: {problem}")
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (run_dir / OUTPUT_FILE, run_dir / "custodian.json", *run_dir.glob(f"{PROJECT}-*")):
        stale.unlink(missing_ok=True)  # a different input's wavefunction or trajectory must not carry over
    for name, source in (files or {}).items():
        shutil.copyfile(source, run_dir / name)
    (run_dir / INPUT_FILE).write_text(text)
    (run_dir / ASKED_FILE).write_text(text)
    job = ThreadedCp2kJob(settings.command_line(), settings.threads)
    try:
        Custodian(handlers(settings, run_dir), [job], validators=[Cp2kOutputValidator(OUTPUT_FILE)],
                  max_errors=max_errors, directory=str(run_dir), polling_time_step=polling_time_step_s,
                  monitor_freq=1).run()
    except CustodianError as exc:
        raise Cp2kRunError(f"CP2K run in {run_dir} failed under custodian after {len(corrections(run_dir))} "
                           f"correction(s): {exc}") from exc
    return True, corrections(run_dir)


def run_static(run_dir: str | Path, atoms: Atoms, settings: Cp2kSettings | None = None, max_errors: int = 5,
               polling_time_step_s: float = 5.0, wfn_guess: Path | None = None) -> Atoms:
    """A CP2K single point of ``atoms``: a copy with CP2K's energy (eV), forces (eV/A) and stress (eV/A^3, when
    ``settings.stress``) as its calculator's results, ``info["engine"] = "cp2k"``, ``info["level_of_theory"]`` and
    ``info["cp2k_corrections"]`` (how many corrections custodian made). ``wfn_guess``: the converged wavefunction
    file of a nearby frame of the same atoms, to start the SCF from (fewer SCF steps; the same result within
    ``eps_scf``)."""
    settings = settings or Cp2kSettings()
    check_cell(atoms, settings)
    guess = wfn_guess if wfn_guess is not None and Path(wfn_guess).is_file() else None
    text = single_point_text(atoms, settings, GUESS_FILE if guess else None)
    _, made = run_input(run_dir, text, settings, max_errors, polling_time_step_s,
                        files={GUESS_FILE: guess} if guess else None)
    result = read_single_point(Path(run_dir) / OUTPUT_FILE, len(atoms))
    labelled = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    labelled.calc = SinglePointCalculator(labelled, energy=result.energy_eV, forces=result.forces_eV_A,
                                          **({} if result.stress_eV_A3 is None else {"stress": result.stress_eV_A3}))
    labelled.info.update(engine="cp2k", level_of_theory=settings.label(), cp2k_scf_steps=result.scf_steps,
                         cp2k_corrections=len(made))
    return labelled


def corrections(run_dir: str | Path) -> list[dict]:
    log = Path(run_dir) / "custodian.json"
    if not log.is_file():
        return []
    return [c for run in json.loads(log.read_text()) for c in run.get("corrections", [])]


def _finished_same_input(run_dir: Path, text: str) -> bool:
    asked, output = run_dir / ASKED_FILE, run_dir / OUTPUT_FILE
    if not asked.is_file() or asked.read_text() != text or not output.is_file():
        return False
    content = output.read_text(errors="replace")
    return ENDED in content and NOT_CONVERGED not in content
