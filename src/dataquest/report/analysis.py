"""The Part 3 analysis with polars, lazily: functions that take and return polars frames.

A BLS data file (``pr.data.0.Current``) is read in one streaming pass (bounded memory whatever its size) that
aggregates it per ``(series_id, year)``; the three results are then drawn from that small frame:

- :func:`population_stats`: mean and sample standard deviation (ddof=1) of the population, years
  ``start..end`` inclusive;
- best year: per series, the year with the largest sum of values (``quarters``: Q01..Q04, or the annual Q05
  rows for a series without quarterly rows, basis ``annual``; ``all``: every row), ties to the earliest year;
- series population: one series and period, every year, left-joined to the population (null where missing).

Sums are exact (no ``20.500000000000004``, and a tie is a tie). Values are read as ``Float64`` and summed as
integers of millionths (``round(value * 10**6)``, exact for every value with at most 6 decimals and below
about a million: BLS publishes at most 3 decimals), which is faster than reading them as decimals. The pass
also counts the values that scaling would not hold exactly (a 7th decimal, a huge value); where there is one,
the file is read again with values as ``Decimal(38, 12)`` (exact to 12 decimals). Either way the results
carry ``value`` as ``Float64``: the sum's exact decimal, correctly rounded to the nearest float (``20.5``).

The file is read by :mod:`dataquest.report.datafile`: its typed reader, or, when a file breaks that reader's
assumptions (a padded year or period, a value with trailing blanks: the reader fails or the ``padded`` count
sees it), its trimming reader. :func:`compute` runs it all for a :class:`~dataquest.report.options.ReportOptions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from dataquest.errors import ValidationError, first_line
from dataquest.population import MAX_YEAR, MIN_YEAR, PopulationRow
from dataquest.report.datafile import (
    EXACT_DTYPE,
    READ_DTYPE,
    BlsSource,
    check_data_file,
    rewind,
    scan_bls,
    scan_bls_trimmed,
    source_name,
)
from dataquest.report.document import PopulationStats
from dataquest.report.options import DEFAULTS, Periods, ReportOptions

QUARTERS: tuple[str, ...] = ("Q01", "Q02", "Q03", "Q04")
ANNUAL = "Q05"
SCALE = 10**6
"""Values are summed as integers of ``1 / SCALE``: exact for every value with at most 6 decimals."""
_MAX_SCALED = float(2**40)  # |value * SCALE| below this: the float's error stays far below 1/2 (no rounding slip)
_MAX_SUM = 2**53  # a scaled sum beyond this would not convert to Float64 exactly
POPULATION_SCHEMA = pl.Schema({"year": pl.Int32, "population": pl.Float64})


@dataclass(frozen=True)
class Results:
    """The three results: the population statistics and two small, collected frames."""

    population_stats: PopulationStats
    best_years: pl.DataFrame
    """``series_id``, ``year``, ``value`` (Float64, the exact sum correctly rounded), ``basis``; sorted by series."""
    series_population: pl.DataFrame
    """``series_id``, ``year``, ``period``, ``value`` (Float64), ``population`` (Float64 or null); by year."""


class _NeedsTrimming(Exception):
    """The typed reader's assumptions do not hold for this file: read it with trimming instead."""


class _NeedsDecimals(Exception):
    """A value that scaled integers cannot hold exactly: read the values as decimals instead."""


# --- the population ------------------------------------------------------------------------------------------
def population_frame(rows: Iterable[PopulationRow]) -> pl.DataFrame:
    """The population rows as a frame: ``year`` (Int32), ``population`` (Float64)."""
    rows = list(rows)
    return pl.DataFrame(
        {"year": [r.year for r in rows], "population": [r.population for r in rows]}, schema=POPULATION_SCHEMA
    )


# --- the three results ---------------------------------------------------------------------------------------
def population_stats(population: pl.DataFrame | pl.LazyFrame, start_year: int, end_year: int) -> pl.LazyFrame:
    """One row: ``start_year``, ``end_year``, ``years`` (rows in range), ``mean``, ``std`` (ddof=1)."""
    return (
        population.lazy()
        .filter(pl.col("year").is_between(start_year, end_year, closed="both"))
        .select(
            pl.lit(start_year).alias("start_year"),
            pl.lit(end_year).alias("end_year"),
            pl.len().cast(pl.Int64).alias("years"),
            pl.col("population").mean().alias("mean"),
            pl.col("population").std(ddof=1).alias("std"),
        )
    )


def year_sums(data: pl.LazyFrame, *, periods: Periods, period: str, exact: bool = False) -> pl.LazyFrame:
    """The one pass over the data: per ``(series_id, year)``, the sums and counts every result needs.

    ``total``/``n`` (``all``) or ``q_sum``/``q_n`` and ``a_sum``/``a_n`` (``quarters``); ``p_sum``/``p_n`` for
    ``period``; ``padded`` and ``empty`` (rows without a value) count rows to refuse. Sums are integers of
    ``1 / SCALE`` (``inexact`` counts the values they cannot hold), or with ``exact`` decimals of the values read
    as ``EXACT_DTYPE``.
    """
    per = pl.col("period")
    if exact:
        value, zero, inexact = pl.col("value").cast(EXACT_DTYPE), pl.lit(0).cast(EXACT_DTYPE), pl.lit(0)
    else:
        scaled = pl.col("value").cast(pl.Float64) * SCALE
        value, zero = scaled.round().cast(pl.Int64), pl.lit(0, dtype=pl.Int64)
        fits = ((scaled - scaled.round()).abs() < 1e-3) & (scaled.abs() < _MAX_SCALED)
        inexact = fits.not_().sum()

    def part(cond: pl.Expr, name: str) -> list[pl.Expr]:
        return [pl.when(cond).then(value).otherwise(zero).sum().alias(f"{name}_sum"), cond.sum().alias(f"{name}_n")]

    if periods == "all":
        sums = [value.sum().alias("total"), pl.len().alias("n")]
    else:
        sums = [*part(per.is_in(QUARTERS), "q"), *part(per == ANNUAL, "a")]
    return data.group_by("series_id", "year").agg(
        *sums,
        *part(per == period, "p"),
        pl.col("padded").sum(),
        pl.col("value").is_null().sum().alias("empty"),
        inexact.alias("inexact"),
    )


def best_years(sums: pl.DataFrame | pl.LazyFrame, periods: Periods) -> pl.LazyFrame:
    """Per series, the year with the largest sum (ties to the earliest year), sorted by series."""
    lf = sums.lazy()
    if periods == "all":
        cand = lf.select("series_id", "year", pl.col("total").alias("value"), pl.lit("all").alias("basis"))
    else:
        has_q = pl.col("q_n").sum().over("series_id") > 0
        cand = (
            lf.with_columns(has_q.alias("has_q"))
            .filter(pl.when(pl.col("has_q")).then(pl.col("q_n") > 0).otherwise(pl.col("a_n") > 0))
            .select(
                "series_id",
                "year",
                pl.when(pl.col("has_q")).then(pl.col("q_sum")).otherwise(pl.col("a_sum")).alias("value"),
                pl.when(pl.col("has_q")).then(pl.lit("quarters")).otherwise(pl.lit("annual")).alias("basis"),
            )
        )
    # No sort of the whole frame: the maximum per series, then the earliest year that reaches it.
    top = pl.col("value").max()
    return (
        cand.group_by("series_id")
        .agg(pl.col("year").filter(pl.col("value") == top).min(), top.alias("value"), pl.col("basis").first())
        .with_columns(pl.col("series_id").cast(pl.String).str.strip_chars())
        .sort("series_id")
    )


def series_population(
    sums: pl.DataFrame | pl.LazyFrame, population: pl.DataFrame | pl.LazyFrame, series_id: str, period: str
) -> pl.LazyFrame:
    """Every year of ``series_id``/``period`` with ``population`` (null where the API has no such year)."""
    lf = sums.lazy()
    if isinstance(lf.collect_schema()["series_id"], pl.Categorical):
        # Compare the few distinct ids, not every row's: the ids written with padding that trim to series_id.
        ids = lf.select(pl.col("series_id").unique()).collect().get_column("series_id")
        wanted = ids.filter(ids.cast(pl.String).str.strip_chars() == series_id)
        lf = lf.filter(pl.col("series_id").is_in(wanted.implode()))
    else:
        lf = lf.filter(pl.col("series_id").str.strip_chars() == series_id)
    return (
        lf.filter(pl.col("p_n") > 0)
        .select(
            pl.lit(series_id).alias("series_id"),
            "year",
            pl.lit(period).alias("period"),
            pl.col("p_sum").alias("value"),
        )
        .join(population.lazy().select("year", "population"), on="year", how="left")
        .sort("year")
    )


# --- the whole computation -----------------------------------------------------------------------------------
def compute(
    data: BlsSource | pl.LazyFrame,
    population: pl.DataFrame | pl.LazyFrame,
    options: ReportOptions = DEFAULTS,
    *,
    source: str | None = None,
) -> Results:
    """The three results from a BLS data file (a path, bytes, a binary file) or a frame of its four columns.

    A file is read by :func:`scan_bls`, or by :func:`scan_bls_trimmed` where the typed reader's assumptions
    fail. A frame (``series_id``, ``year``, ``period``, ``value``, already trimmed) is aggregated as it is.
    """
    name = source or source_name(data)
    periods, series_id, period = options.periods, options.series_id, options.period
    stats = PopulationStats(
        **population_stats(population, options.start_year, options.end_year).collect().row(0, named=True)
    )
    if not isinstance(data, pl.LazyFrame):
        check_data_file(data, name)
    try:
        sums = _read_sums(data, periods, period, name, exact=False)
    except _NeedsDecimals:
        sums = _read_sums(data, periods, period, name, exact=True)
    sums = _merge_padding_variants(sums)
    _check_sums(sums, name)
    joined = series_population(sums, population, series_id, period).collect()
    if (
        joined.height
        and series_population(sums.filter(pl.col("p_n") > 1), population, series_id, period).collect().height
    ):
        raise ValidationError(f"{name}: {series_id} has more than one {period} row in a year; expected one")
    best = best_years(sums, periods).collect()
    return Results(
        population_stats=stats,
        best_years=best.with_columns(_as_float(pl.col("value"), best.schema["value"]).alias("value")),
        series_population=joined.with_columns(_as_float(pl.col("value"), joined.schema["value"]).alias("value")),
    )


def _check_sums(sums: pl.DataFrame, name: str) -> None:
    """Refuse a file with no data rows, an implausible year, or a row without a series id, year or value."""
    if not sums.height:
        raise ValidationError(
            f"{name}: the file has a header but no data rows; expected a BLS data file with rows (the report "
            "was not written)"
        )
    odd = sums.filter(~pl.col("year").is_between(MIN_YEAR, MAX_YEAR, closed="both"))
    if odd.height:
        raise ValidationError(
            f"{name}: year {odd.get_column('year')[0]} (series {str(odd.get_column('series_id')[0]).strip()!r}) is "
            f"not a plausible year ({MIN_YEAR}..{MAX_YEAR}); expected a BLS data file"
        )
    empty = sums.filter((pl.col("empty") > 0) | pl.col("year").is_null() | pl.col("series_id").is_null())
    if empty.height:
        raise ValidationError(
            f"{name}: cannot read it as a BLS data file: a row has an empty series_id, year or value "
            f"(first at series {empty.get_column('series_id')[0]!r}, year {empty.get_column('year')[0]})"
        )


def _read_sums(
    data: BlsSource | pl.LazyFrame, periods: Periods, period: str, name: str, *, exact: bool
) -> pl.DataFrame:
    """The per-(series, year) sums of a file (typed reader, else trimming reader) or of a frame."""
    dtype = EXACT_DTYPE if exact else READ_DTYPE
    if isinstance(data, pl.LazyFrame):
        frame = data if "padded" in data.collect_schema().names() else data.with_columns(pl.lit(False).alias("padded"))
        return _aggregate(frame, periods, period, name, exact=exact)
    try:
        return _aggregate(scan_bls(rewind(data), dtype), periods, period, name, exact=exact)
    except _NeedsTrimming:
        return _aggregate(scan_bls_trimmed(rewind(data), dtype), periods, period, name, exact=exact)


def _as_float(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A sum as ``Float64``: the float nearest its exact decimal value (``20.5``, not ``20.500000000000004``)."""
    # Through the decimal's digits, which polars parses with correct rounding. Not ``value / SCALE``: polars
    # divides a column by a scalar as a multiplication by its reciprocal, off by one ulp for a third of the values.
    if dtype == pl.Int64:
        units = value.abs()
        sign = pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        fraction = (units % SCALE).cast(pl.String).str.zfill(len(str(SCALE)) - 1)
        return pl.concat_str(sign, (units // SCALE).cast(pl.String), pl.lit("."), fraction).cast(pl.Float64)
    return value.cast(pl.String).cast(pl.Float64)


def _aggregate(frame: pl.LazyFrame, periods: Periods, period: str, name: str, *, exact: bool) -> pl.DataFrame:
    typed = isinstance(frame.collect_schema().get("series_id"), pl.Categorical)
    try:
        sums = year_sums(frame, periods=periods, period=period, exact=exact).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        if typed:
            raise _NeedsTrimming from exc
        raise ValidationError(f"{name}: cannot read it as a BLS data file: {first_line(exc)}") from exc
    if typed and int(sums.get_column("padded").sum()):
        raise _NeedsTrimming
    if not exact and (int(sums.get_column("inexact").sum()) or _largest_sum(sums) >= _MAX_SUM):
        raise _NeedsDecimals
    return sums


def _largest_sum(sums: pl.DataFrame) -> int:
    columns = [c for c in ("total", "q_sum", "a_sum", "p_sum") if c in sums.columns]
    largest = sums.select(pl.max_horizontal(pl.col(columns).abs().max())).item()
    return int(largest or 0)


def _merge_padding_variants(sums: pl.DataFrame) -> pl.DataFrame:
    """Merge the rows of a series written with different padding (rare); series ids otherwise stay as read.

    Only the distinct ids are trimmed and compared; results trim their ids at the end, on few rows.
    """
    ids = sums.get_column("series_id").unique()
    if ids.cast(pl.String).str.strip_chars().n_unique() == ids.len():
        return sums
    value_columns = [c for c in sums.columns if c not in ("series_id", "year")]
    return (
        sums.with_columns(pl.col("series_id").cast(pl.String).str.strip_chars())
        .group_by("series_id", "year")
        .agg(pl.col(value_columns).sum())
    )
