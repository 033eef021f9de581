"""dataquest: BLS time.series mirrored to S3, DataUSA population, and a polars report.

Importing the package sets one default for polars, which reads it when polars itself is imported (later:
dataquest imports polars only where a report is computed): ``_RJEM_MALLOC_CONF``, the options of polars'
allocator (jemalloc), to :data:`POLARS_ALLOCATOR` unless the environment already has a value, which then wins.
"""

import os

__version__ = "0.1.0"

POLARS_ALLOCATOR = "dirty_decay_ms:10,muzzy_decay_ms:0"
"""Freed memory goes back to the system after 10 ms, not after polars' default 500 ms (``polars/__init__.py``).

The report's aggregation allocates and frees a few hundred MB in well under a second, so with the default the
pages it has already freed still count in its peak. ``make bench-analysis`` measures the peak with this value; run it
with ``_RJEM_MALLOC_CONF`` set to polars' default to see the difference (the figures are in docs/, with the
command). ``dirty_decay_ms:0`` lowers the peak a little more but costs system time.
"""

os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_ALLOCATOR)
