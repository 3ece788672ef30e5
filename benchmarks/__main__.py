"""``python -m benchmarks``: the same as the ``sgbench`` command."""

import sys

from .cli import main

sys.exit(main())
