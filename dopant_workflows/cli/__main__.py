"""``python -m dopant_workflows.cli``: the same as ``dopwf``."""

import sys

from dopant_workflows.cli.dopwf import main

sys.exit(main())
