"""The lake's best-year pass over silver's rows gives the report's answer, exactly, in every case."""

from __future__ import annotations

import polars as pl
import pytest

from dataquest.errors import ValidationError
from dataquest.lake import best
from dataquest.report import analysis
from dataquest.report.options import Periods, ReportOptions

ROWS = [
    # quarterly series, a tie between 2019 and 2020 (earliest wins), values that float sums would drift on
    ("PRS1", 2019, "Q01", "0.1"),
    ("PRS1", 2019, "Q02", "0.2"),
    ("PRS1", 2019, "Q05", "9.0"),
    ("PRS1", 2020, "Q01", "0.3"),
    ("PRS1", 2021, "Q03", "-1.5"),
    # annual-only series: its basis is "annual"
    ("PRS2", 2018, "Q05", "20.5"),
    ("PRS2", 2019, "Q05", "20.25"),
    # negative sums only
    ("PRS3", 2001, "Q01", "-3.125"),
    ("PRS3", 2002, "Q04", "-0.001"),
]


def frame(rows: list[tuple[str, int, str, str | None]]) -> pl.LazyFrame:
    schema = {"series_id": pl.String, "year": pl.Int32, "period": pl.String, "value": pl.String}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def report(rows: pl.LazyFrame, periods: Periods) -> pl.DataFrame:
    return analysis.compute(rows, analysis.population_frame([]), ReportOptions(periods=periods)).best_years


@pytest.mark.parametrize("periods", ["quarters", "all"])
def test_best_years_equal_the_reports(periods: Periods) -> None:
    rows = frame(ROWS)
    got = best.best_years(rows, periods)
    assert got.equals(report(rows, periods))
    assert got.height == 3


def test_the_sums_are_exact_and_ties_go_to_the_earliest_year() -> None:
    got = {r["series_id"]: r for r in best.best_years(frame(ROWS)).to_dicts()}
    assert got["PRS1"] == {"series_id": "PRS1", "year": 2019, "value": 0.3, "basis": "quarters"}
    assert got["PRS2"] == {"series_id": "PRS2", "year": 2018, "value": 20.5, "basis": "annual"}
    assert got["PRS3"]["year"] == 2002
    assert got["PRS3"]["value"] == -0.001


def test_a_value_millionths_cannot_hold_takes_the_reports_decimal_path() -> None:
    rows = frame([*ROWS, ("PRS4", 2010, "Q01", "0.0000001"), ("PRS4", 2010, "Q02", "0.0000002")])
    got = best.best_years(rows)
    assert got.equals(report(rows, "quarters"))
    assert got.filter(pl.col("series_id") == "PRS4").get_column("value").item() == pytest.approx(3e-7, abs=0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("PRS5", 2010, "Q01", None), "a row has an empty series_id, year or value"),
        (("PRS5", 1066, "Q01", "1.0"), "year 1066"),
    ],
)
def test_a_row_the_report_refuses_is_refused_the_same_way(row: tuple[str, int, str, str | None], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        best.best_years(frame([*ROWS, row]))
