"""`dopwf`, the command line (console script ``dopwf = dopant_workflows.cli:main``).

``dopwf`` builds the parser and runs a command; each other module adds the subcommands of one stage: ``ann``
(dopwf ann ...), ``engines`` (aimd), ``md`` (md, analyze, arrhenius), ``study`` (submit, run, build, report, lpad,
status: the FireWorks side); ``types`` holds the argparse types that refuse a bad option at the door. The top of the
package's layers: it may import anything, nothing imports it.
"""

from dopant_workflows.cli.dopwf import build_parser, main

__all__ = ["build_parser", "main"]
