"""The best year per series from silver's rows: the report's answer, in one cheaper pass over typed columns.

:func:`best_years` gives exactly what :func:`dataquest.report.analysis.compute` gives as ``best_years`` for the
same rows (``series_id``, ``year``, ``value`` as the exact sum correctly rounded to ``Float64``, ``basis``, by
series), with the report's arithmetic: values summed as integers of millionths (``analysis.SCALE``), ties to
the earliest year. What differs is the pass: each value string is cast to a float once, each row's parts
(quarterly, annual, every row) become plain integer columns, and the group-by only adds columns up, where the
report's aggregation evaluates a conditional per part inside each group (2.4x slower at 100x ``pr``).

Silver's rows are trimmed and one per key (its expectations), so the report's padding merge has nothing to do.
Where its other assumptions fail (a value the millionths cannot hold exactly, a sum past 2**53, a row without a
value or year, a year out of range) the answer is the report's own: :func:`analysis.compute` over the same rows,
which then reads decimals or names the bad row.
"""

from __future__ import annotations

import polars as pl

from dataquest.population import MAX_YEAR, MIN_YEAR
from dataquest.report import analysis
from dataquest.report.options import Periods, ReportOptions

_MAX_SCALED = float(2**40)  # as analysis: |value * SCALE| below this keeps the float's error far below 1/2
_MAX_SUM = 2**53


def best_years(rows: pl.LazyFrame, periods: Periods = "quarters") -> pl.DataFrame:
    """Per series the year with the largest sum of ``rows`` (``series_id``, ``year``, ``period``, ``value``)."""
    sums = _sums(rows, periods)
    if not _clean(sums, periods):
        population = analysis.population_frame([])
        return analysis.compute(rows, population, ReportOptions(periods=periods)).best_years
    best = analysis.best_years(sums, periods).collect()
    return best.with_columns(_as_float(pl.col("value")).alias("value"))


def _sums(rows: pl.LazyFrame, periods: Periods) -> pl.DataFrame:
    """Per ``(series_id, year)``: the parts' integer sums and counts, and the rows the fast path cannot take."""
    scaled = pl.col("scaled")
    units = scaled.round().cast(pl.Int64)
    period = pl.col("period")
    parts = {"total": pl.lit(True)} if periods == "all" else {"q": period.is_in(analysis.QUARTERS)}
    if periods != "all":
        parts["a"] = period == analysis.ANNUAL
    columns = []
    for name, cond in parts.items():
        columns += [pl.when(cond).then(units).otherwise(0).alias(f"{name}_sum"), cond.cast(pl.Int64).alias(f"{name}_n")]
    odd = ((scaled - scaled.round()).abs() >= 1e-3) | (scaled.abs() >= _MAX_SCALED) | scaled.is_null()
    return (
        rows.select(
            "series_id",
            "year",
            (pl.col("value").cast(pl.Float64, strict=False) * analysis.SCALE).alias("scaled"),
            "period",
        )
        .select("series_id", "year", *columns, odd.cast(pl.Int64).alias("odd"))
        .group_by("series_id", "year")
        .agg(pl.all().sum())
        .rename({"total_sum": "total", "total_n": "n"}, strict=False)
        .collect(engine="streaming")
    )


def _clean(sums: pl.DataFrame, periods: Periods) -> bool:
    """No row the fast path cannot sum exactly, every key present, every year plausible, every sum < 2**53."""
    sum_columns = ["total"] if periods == "all" else ["q_sum", "a_sum"]
    checks = sums.select(
        (pl.col("odd").sum() == 0).alias("exact"),
        (pl.col("series_id").null_count() + pl.col("year").null_count() == 0).alias("keyed"),
        pl.col("year").is_between(MIN_YEAR, MAX_YEAR, closed="both").all().alias("plausible"),
        (pl.max_horizontal(pl.col(sum_columns).abs().max()).fill_null(0) < _MAX_SUM).alias("fits"),
        (pl.len() > 0).alias("rows"),
    ).row(0)
    return all(checks)


def _as_float(value: pl.Expr) -> pl.Expr:
    """An integer of millionths as the ``Float64`` nearest its exact decimal (as the report converts its sums)."""
    units = value.abs()
    sign = pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    fraction = (units % analysis.SCALE).cast(pl.String).str.zfill(len(str(analysis.SCALE)) - 1)
    return pl.concat_str(sign, (units // analysis.SCALE).cast(pl.String), pl.lit("."), fraction).cast(pl.Float64)
