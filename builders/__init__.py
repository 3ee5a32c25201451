"""maggma builders: md_tasks -> diffusivity -> conductivity; + dielectric -> anderson_stuart.

Incremental (maggma's last_updated logic: only documents newer than their target are reprocessed) and
idempotent (keys: task_id, substitution_id). Runnable with ``mrun`` (serialise ``get_builders(...)``) or
``dopwf build``. No database calls in ``process_item``/``unary_function``.
"""

from builders.anderson_stuart import AndersonStuartBuilder
from builders.conductivity import ConductivityBuilder
from builders.diffusivity import DiffusivityBuilder

__all__ = ["AndersonStuartBuilder", "ConductivityBuilder", "DiffusivityBuilder", "get_builders", "run_builders"]


def get_builders(db, plots_dir=None) -> list:
    """The three builders on a :class:`dopant_workflows.db.ResultsDB`, in dependency order."""
    return [
        DiffusivityBuilder(db.store("md_tasks"), db.store("diffusivity")),
        ConductivityBuilder(db.store("diffusivity"), db.store("conductivity"), plots_dir=plots_dir),
        AndersonStuartBuilder(db.store("diffusivity"), db.store("dielectric"), db.store("conductivity"),
                              db.store("anderson_stuart")),
    ]


def run_builders(builders: list) -> dict[str, int]:
    """Run builders in order in this process (what ``mrun`` does serially), leaving their stores open so that
    in-memory stores shared between builders keep their data. Returns documents processed per builder."""
    counts = {}
    for builder in builders:
        builder.connect()
        processed = [builder.process_item(item) for item in builder.get_items()]
        builder.update_targets(processed)
        counts[type(builder).__name__] = len(processed)
    return counts
