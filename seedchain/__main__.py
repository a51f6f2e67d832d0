"""``python -m seedchain``: the same as the ``seedchain`` console script."""

import sys

from seedchain.cli import main

sys.exit(main())
