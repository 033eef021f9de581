"""``python -m dataquest.cli``: the ``dataquest`` command where its console script is not on PATH (the images)."""

import sys

from dataquest.cli import main

sys.exit(main())
