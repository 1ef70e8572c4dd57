"""``python -m syncer.fakehub``: see ``syncer.fakehub.cli``."""

import sys

from .cli import main

sys.exit(main())
