"""``python -m limiter``: the same command line as ``limiter``."""

import sys

from limiter.cli import main

sys.exit(main())
