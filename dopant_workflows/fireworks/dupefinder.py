"""The study's duplicate finder: a Firework is a duplicate of one already launched with the same Firetasks.

FireWorks' ``DupeFinderExact`` compares whole specs, and a study's specs grow at run time: parents push their frame
files and MD records into their children's specs (``_push``) in the order they finish. With two workers (``dopwf run
--workers 2``) that order differs from run to run, so a study added again after an interruption got Fireworks whose
specs matched nothing and ran a second time, beside the original in the same run directory (seen: two
active-learning round 1 of one study at once). The Firetasks are what a Firework does: their parameters hold every
setting, and the run paths are named by a hash of all a run depends on (``names.run_tag``), so equal tasks are the
same work, whatever was pushed, whichever spec keys a powerup set (``_priority``, ``_category``, device).
"""

from __future__ import annotations

from fireworks.features.dupefinder import DupeFinderBase
from fireworks.utilities.fw_utilities import explicit_serialize


@explicit_serialize
class DupeFinderSameTasks(DupeFinderBase):
    """Duplicates: launched Fireworks whose ``_tasks`` (names and parameters) equal this one's."""

    def query(self, spec):
        return {"$and": [{"launches": {"$ne": []}}, {"spec._tasks": spec["_tasks"]}]}
