"""Gold: the report's results as tables, and the named queries' SQL run by DuckDB, against the polars report."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyiceberg")
pytest.importorskip("duckdb")

from dataquest.lake import gold
from dataquest.lake.catalog import Lake, local_lake
from dataquest.lake.silver import update_survey
from dataquest.lake.sources import FolderSurvey
from dataquest.population import parse_population
from dataquest.report import analysis
from dataquest.report.options import ReportOptions
from tests.support.lake_duckdb import over_lake
from tests.support.lake_survey import POPULATION, write_survey

KEY = "population/nation_population.json"


def build(lake: Lake, folder: Path, population: bytes) -> gold.GoldUpdate:
    assert update_survey(lake, FolderSurvey("pr", folder)).status == "updated"
    gold.update_population(lake, population, KEY, "v1")
    return gold.refresh_gold(lake)


def table(lake: Lake, name: str) -> pl.DataFrame:
    return pl.scan_iceberg(lake.table(name)).collect()


def report(folder: Path, population: bytes, periods: str = "quarters") -> analysis.Results:
    rows = parse_population(population, source=KEY)
    options = ReportOptions(periods=periods)  # type: ignore[arg-type]
    return analysis.compute(folder / "pr.data.0.Current", analysis.population_frame(rows), options)


def duck(lake: Lake, name: str) -> list[tuple[object, ...]]:
    con = over_lake(lake)
    return [tuple(r) for r in con.execute(gold.named_query(name)).fetchall()]


def check_all_three(lake: Lake, folder: Path, population: bytes) -> None:
    """Gold == the polars report on the same files == DuckDB running the named queries over silver."""
    for periods in ("quarters", "all"):
        expected = report(folder, population, periods).best_years.select("series_id", "year", "value", "basis")
        got = table(lake, "best_years").filter(pl.col("periods") == periods).sort("series_id")
        assert got.select(expected.columns).rows() == expected.rows()
    expected_best = report(folder, population).best_years
    sql_best = duck(lake, "best_years")
    assert [(s, y, float(v), b) for s, y, v, b in sql_best] == expected_best.select(
        "series_id", "year", "value", "basis"
    ).rows()
    assert all(isinstance(r[2], Decimal) for r in sql_best)  # summed as decimals: no float drift

    results = report(folder, population)
    stats = table(lake, "population_stats").row(0, named=True)
    assert stats == results.population_stats.__dict__
    (sql_stats,) = duck(lake, "population_stats")
    assert sql_stats[:3] == (2013, 2018, stats["years"])
    assert sql_stats[3] == pytest.approx(stats["mean"], rel=1e-12)
    assert sql_stats[4] == pytest.approx(stats["std"], rel=1e-12)

    joined = results.series_population.select("series_id", "year", "period", "value", "population")
    assert table(lake, "series_population").select(joined.columns).rows() == joined.rows()
    sql_joined = duck(lake, "series_population")
    assert [(s, y, p, float(v), pop) for s, y, p, v, pop in sql_joined] == joined.rows()


def test_gold_and_named_queries_agree_with_the_report_on_a_generated_survey(tmp_path: Path) -> None:
    lake = local_lake(tmp_path / "lake")
    folder = write_survey(tmp_path / "pr")
    population = json.dumps(POPULATION).encode()
    update = build(lake, folder, population)
    assert update.status == "updated"
    check_all_three(lake, folder, population)
    best = table(lake, "best_years").filter(pl.col("periods") == "quarters").sort("series_id")
    # 2013: 3.5 + 0.3 (the current file's revision, not AllData's 0.1); the annual-only series: basis annual.
    assert best.select("series_id", "year", "value", "basis").rows() == [
        ("PRS30006011", 2013, 3.8, "quarters"),
        ("PRS30006032", 2014, 2.0, "quarters"),
        ("PRS88888881", 2013, 10.75, "annual"),
    ]
    assert best.get_column("title")[0] == "Manufacturing, All workers, Employment, % Change same quarter 1 year ago"
    snapshot = lake.table("best_years").current_snapshot()
    assert snapshot is not None
    inputs = json.loads(snapshot.summary.additional_properties["dataquest.inputs"])
    assert inputs["observations"] == lake.table("observations").current_snapshot().snapshot_id  # type: ignore[union-attr]


def test_gold_waits_for_the_population(tmp_path: Path) -> None:
    lake = local_lake(tmp_path / "lake")
    update_survey(lake, FolderSurvey("pr", write_survey(tmp_path / "pr")))
    assert gold.refresh_gold(lake).status == "waiting"
    assert table(lake, "best_years").height == 0


@pytest.mark.shared_data
def test_real_data_gives_the_published_answers_in_gold_and_in_sql(tmp_path: Path, shared_data: Path) -> None:
    lake = local_lake(tmp_path / "lake")
    folder = shared_data / "bls-pr-2025-09"
    population = (shared_data / "population" / "acs1-nation.tesseract.json").read_bytes()
    update = build(lake, folder, population)
    assert update.notes == [f"population: population 2020 missing: {gold.expectations.POPULATION_GAPS[2020]}"]
    check_all_three(lake, folder, population)
    stats = table(lake, "population_stats").row(0, named=True)
    assert stats["mean"] == 322069808.0
    assert stats["std"] == pytest.approx(4158441.040908, abs=1e-6)
    best = {
        (r["periods"], r["series_id"]): (r["year"], r["value"]) for r in table(lake, "best_years").iter_rows(named=True)
    }
    assert best["all", "PRS30006011"] == (2022, 20.5)
    assert best["all", "PRS30006013"] == (1998, 705.895)
    assert best["all", "PRS88003203"] == (2024, 583.441)
    assert best["quarters", "PRS30006013"] == (1998, 564.713)
    assert sum(1 for k in best if k[0] == "all") == 282
    sp = table(lake, "series_population")
    assert sp.height == 31
    assert sp.filter(pl.col("year") == 2018).select("value", "population").row(0) == (0.5, 327167439.0)
    assert sp.filter(pl.col("year") == 2020).get_column("population").to_list() == [None]
    annual = [r for r in duck(lake, "best_years") if r[3] == "annual"]
    assert len(annual) == 45
