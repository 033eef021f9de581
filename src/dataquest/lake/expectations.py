"""The expectations every update checks before it commits; a failure keeps the survey's previous state current.

Each rule is checked per source file, and each failure is one line naming the file and the rule::

    pr.data.1.AllData: expectation known-period failed: 2 row(s), e.g. series_id=PRS30006011 year=1995 period=Q9

The rules: ``non-null-keys`` (series_id, year as a number, period), ``value-present``, ``known-period`` (the
survey's ``<s>.period`` file where it has one, else BLS's codes: M01..M13, Q01..Q05, S01..S03, A01; M13 and
Q05 are the annual figures), ``plausible-year`` (1800 up to next year), ``series-known`` (every observation's
series is in the survey's series file), ``unique-keys`` (no key twice in one file). The population's missing
2020 (ACS 1-year estimates were not released for 2020) is a *noted* expectation: :func:`population_notes` says
so, and fails only on other gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MIN_YEAR = 1800
BLS_PERIODS = frozenset(
    [f"M{m:02d}" for m in range(1, 14)] + [f"Q{q:02d}" for q in range(1, 6)] + ["S01", "S02", "S03", "A01"]
)
POPULATION_GAPS = {2020: "no ACS 1-year estimate was released for 2020 (the pandemic year); noted, not a failure"}


@dataclass(frozen=True)
class Verdicts:
    """The rules' verdicts: ``failures`` (one line each) and ``notes`` (expected gaps)."""

    failures: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


def rules(periods: frozenset[str], max_year: int, known: pl.Series) -> dict[str, pl.Expr]:
    blank = {c: pl.col(c).is_null() | (pl.col(c) == "") for c in ("series_id", "period", "value")}
    return {
        "non-null-keys": blank["series_id"] | pl.col("year").is_null() | blank["period"],
        "value-present": blank["value"],
        "known-period": ~blank["period"] & ~pl.col("period").is_in(list(periods)),
        "plausible-year": pl.col("year").is_not_null() & ~pl.col("year").is_between(MIN_YEAR, max_year),
        "series-known": ~blank["series_id"] & ~pl.col("series_id").is_in(known.implode()),
    }


def known_periods(table: pl.DataFrame | None) -> frozenset[str] | None:
    """The codes of a survey's ``<s>.period`` file (its ``period`` column), or ``None`` without one."""
    if table is None or "period" not in table.columns:
        return None
    return frozenset(table.get_column("period").drop_nulls().to_list())


def population_notes(years: list[int], start: int, end: int, source: str) -> Verdicts:
    """The population's years in ``start..end``: a known gap (2020) is noted, any other missing year fails."""
    missing = sorted(set(range(start, end + 1)) - set(years))
    notes = tuple(f"{source}: population {y} missing: {POPULATION_GAPS[y]}" for y in missing if y in POPULATION_GAPS)
    failures = tuple(
        f"{source}: expectation population-years failed: {y} missing (not a known gap)"
        for y in missing
        if y not in POPULATION_GAPS
    )
    return Verdicts(failures=failures, notes=notes)
