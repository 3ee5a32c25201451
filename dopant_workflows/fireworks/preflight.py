"""What would make Fireworks fizzle hours later, checked before a study is submitted or run.

``check_study`` needs only the study (cells the engine can handle); ``check_worker`` checks one worker's
environment (results database reachable, runs directory, VASP): on the embedded runner the worker is this
machine; on a cluster each Firetask checks its own worker when it starts (``task_helpers.worker_setting``).
"""

from __future__ import annotations

from dopant_workflows.errors import DopwfInputError


def check_study(study, substitutions) -> None:
    """The engines can simulate every cell of the study: the reference engine, and CP2K wherever the study runs it
    (engine, labels, dielectric_calculation) with each of its settings' basis sets and pseudopotentials."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.cp2k.inputs import check_cell

    cells = [AseAtomsAdaptor.get_atoms(sub.structure) for sub in substitutions]
    for settings in study.cp2k_settings_in_use():
        for atoms in cells:
            check_cell(atoms, settings)
    if study.engine in ("vasp", "cp2k"):
        return  # POTCARs and the VASP command belong to the worker: check_worker; CP2K's command too
    from dopant_workflows.engines.universal import check_elements, parse_engine

    for atoms in cells:
        check_elements(atoms, parse_engine(study.engine))


def check_worker(env: dict | None, study) -> None:
    """One worker's env (my_fworker.yaml): results database reachable, runs directory set, VASP where needed."""
    from dopant_workflows.db import ResultsDB

    env = env or {}
    for name in ("db_file", "runs_dir"):
        if not env.get(name):
            raise DopwfInputError(f"my_fworker.yaml: env.{name} is not set (dopwf init writes it)")
    ResultsDB.from_file(env["db_file"]).check_reachable()
    if study.engine == "vasp":
        from dopant_workflows.engines.vasp.inputs import check_vasp_available
        from dopant_workflows.structures.hosts import load_host

        check_vasp_available(env.get("vasp_cmd"), load_host(study.host))
    from dopant_workflows.engines.cp2k.settings import cp2k_available

    for settings in study.cp2k_settings_in_use():
        problem = cp2k_available(settings)
        if problem:
            raise DopwfInputError(f"this study runs CP2K, and this worker cannot: {problem}")
