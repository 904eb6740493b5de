"""Entry point: `python -m bench [--quick] [--scenarios writes,mixed,queries] ...`."""

import sys

from .run import main

sys.exit(main())
