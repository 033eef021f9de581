"""What the report computes: :class:`ReportOptions`, the one place its defaults are spelled.

No polars here: the command line builds its ``report`` flags' defaults from this module without loading the
analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Periods = Literal["quarters", "all"]
PERIODS: tuple[Periods, ...] = ("quarters", "all")


@dataclass(frozen=True)
class ReportOptions:
    """What the report computes; the defaults are the contract's."""

    periods: Periods = "quarters"
    series_id: str = "PRS30006032"
    period: str = "Q01"
    start_year: int = 2013
    end_year: int = 2018


DEFAULTS = ReportOptions()
"""The contract's report: ``PRS30006032`` ``Q01``, the population over 2013..2018, best years of the quarters."""
