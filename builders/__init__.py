"""maggma builders: md_tasks -> diffusivity -> conductivity (+ validation: ``validated``); + dielectric ->
anderson_stuart.

Incremental (a result is rebuilt when one of its source documents is newer than the sources it was built
from) and idempotent (keys: task_id, and '<study>/<substitution_id>' for the per-substitution documents). Every
result is grouped by study and substitution: a study never reads another's documents, and ``study=`` restricts a
build to one study. Runnable with ``mrun`` (serialise ``get_builders(...)``)
or ``dopwf build``. No database calls in ``process_item``/``unary_function``; builders compute and store, the
report plots.
"""

from builders.anderson_stuart import AndersonStuartBuilder
from builders.conductivity import ConductivityBuilder
from builders.diffusivity import DiffusivityBuilder

__all__ = ["AndersonStuartBuilder", "BuildSummary", "ConductivityBuilder", "DiffusivityBuilder", "get_builders",
           "run_builders"]


def get_builders(db, study: str | None = None) -> list:
    """The three builders on a :class:`dopant_workflows.db.ResultsDB`, in dependency order; ``study``: that
    study's documents only (default: all studies, each grouped on its own)."""
    return [
        DiffusivityBuilder(db.store("md_tasks"), db.store("diffusivity"), study=study),
        ConductivityBuilder(db.store("diffusivity"), db.store("conductivity"), db.store("validation"), study=study,
                            studies=db.store("studies"), precision=db.store("precision")),
        AndersonStuartBuilder(db.store("diffusivity"), db.store("dielectric"), db.store("conductivity"),
                              db.store("anderson_stuart"), study=study),
    ]


class BuildSummary(dict):
    """Items processed per builder (successes and failures); ``failures`` lists (builder, key, error) of the
    items that could not be built: they are not stored, and the next build tries them again."""

    def __init__(self):
        super().__init__()
        self.failures: list[tuple[str, str, str]] = []


def run_builders(builders: list) -> BuildSummary:
    """Run builders in order in this process (what ``mrun`` does serially), leaving their stores open so that
    in-memory stores shared between builders keep their data."""
    summary = BuildSummary()
    for builder in builders:
        builder.connect()
        items = [builder.process_item(item) for item in builder.get_items()]
        # an item may give several documents (the conductivity builder: a study's compositions, ranked together)
        processed = [d for item in items for d in (item if isinstance(item, list) else [item])]
        failed = [d for d in processed if d.get("state") == "failed"]  # maggma's convention for a failed item
        name = type(builder).__name__
        key = builder.targets[0].key
        summary.failures += [(name, str(d.get(key)), str(d.get("error"))) for d in failed]
        builder.update_targets([d for d in processed if d.get("state") != "failed"])
        summary[name] = len(processed)
    return summary
