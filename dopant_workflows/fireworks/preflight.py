"""What would make Fireworks fizzle hours later, checked before a study is submitted or run.

``check_study`` needs only the study (cells the engine can handle); ``check_worker`` checks one worker's
environment (results database reachable, runs directory, VASP): on the embedded runner the worker is this
machine; on a cluster each Firetask checks its own worker when it starts (``task_helpers.worker_setting``).
"""

from __future__ import annotations

from dopant_workflows.errors import DopwfInputError


def check_study(study, substitutions) -> None:
    """The engine can simulate every cell of the study."""
    if study.engine == "vasp":
        return  # POTCARs and the VASP command belong to the worker: check_worker
    from pymatgen.io.ase import AseAtomsAdaptor

    from dopant_workflows.engines.universal import check_elements, parse_engine

    for sub in substitutions:
        check_elements(AseAtomsAdaptor.get_atoms(sub.structure), parse_engine(study.engine))


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
