"""Expectations and bad input: the survey fails alone with one line per reason; its previous state stays."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyiceberg")

from dataquest.lake.catalog import Lake, local_lake
from dataquest.lake.expectations import population_notes
from dataquest.lake.silver import update_survey
from dataquest.lake.sources import FolderSurvey
from tests.support.lake_survey import UNIQUE_ROWS, data_text, row, write_survey


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return local_lake(tmp_path / "lake")


def state(lake: Lake) -> tuple[int | None, list[tuple[object, ...]]]:
    table = lake.table("observations")
    snap = table.current_snapshot()
    frame = pl.scan_iceberg(table).collect().sort("survey", "series_id", "year", "period")
    return (snap.snapshot_id if snap else None), frame.rows()


def append_row(text: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / "pr.data.0.Current"
        path.write_bytes(path.read_bytes() + (text + "\r\n").encode())

    return change


def replace_file(name: str, content: bytes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / name).write_bytes(content)

    return change


def truncate(folder: Path) -> None:
    path = folder / "pr.data.1.AllData"
    path.write_bytes(path.read_bytes()[:-7])


def remove_data(folder: Path) -> None:
    for path in folder.glob("pr.data.*"):
        path.unlink()


CASES = [
    pytest.param(
        append_row(row("PRS30006011", 2015, "Q9", "1.0")),
        "pr.data.0.Current: expectation known-period failed: 1 row(s)",
        id="period",
    ),
    pytest.param(
        append_row(row("PRS30006011", 1066, "Q01", "1.0")),
        "pr.data.0.Current: expectation plausible-year failed",
        id="year",
    ),
    pytest.param(
        append_row(row("PRS30006011", 2015, "Q01", "")),
        "pr.data.0.Current: expectation value-present failed",
        id="value",
    ),
    pytest.param(
        append_row(row("", 2015, "Q01", "1.0")), "pr.data.0.Current: expectation non-null-keys failed", id="keys"
    ),
    pytest.param(
        append_row(row("PRS99999999", 2015, "Q01", "1.0")),
        "pr.data.0.Current: expectation series-known failed: 1 row(s), e.g. series_id='PRS99999999'",
        id="series",
    ),
    pytest.param(
        replace_file("pr.data.0.Current", data_text([row("PRS30006011", 2015, "Q01", "1.0")]).encode("utf-16")),
        "pr.data.0.Current: binary data",
        id="utf16",
    ),
    pytest.param(
        replace_file("pr.data.0.Current", b"series_id\tyear\tperiod\tvalue\r\nPRS30006011\t2015\tQ01\t\xe9\r\n"),
        "pr.data.0.Current: not UTF-8 text (a bad byte at offset 50)",
        id="latin1",
    ),
    pytest.param(truncate, "pr.data.1.AllData: truncated: the last line has no line ending", id="truncated"),
    pytest.param(
        replace_file("pr.data.0.Current", b"id\twhen\tamount\r\nPRS30006011\t2015\t1\r\n"),
        "pr.data.0.Current: unknown column layout",
        id="layout",
    ),
    pytest.param(
        replace_file("pr.sector", b"sector_code\tsector_name\r\n9999\tNowhere\r\n"),
        "pr.series: no sector_code resolves through pr.sector (0 of 3)",
        id="codes",
    ),
    pytest.param(
        append_row(row("PRS30006011", 2013, "Q01", "3.6")),
        "pr.data.0.Current: expectation unique-keys failed: 1 row(s) repeat a (series_id, year, period)",
        id="duplicate",
    ),
    pytest.param(remove_data, "pr: no data files (pr.data.*) among its files", id="no-data"),
    pytest.param(replace_file("pr.data.0.Current", b""), "pr.data.0.Current: the file is empty", id="empty"),
]


@pytest.mark.parametrize(("spoil", "message"), CASES)
def test_bad_input_fails_the_survey_alone_and_keeps_its_previous_state(
    lake: Lake, tmp_path: Path, spoil: Callable[[Path], None], message: str
) -> None:
    pr, xx = write_survey(tmp_path / "pr"), write_survey(tmp_path / "xx", "xx")
    assert update_survey(lake, FolderSurvey("pr", pr)).status == "updated"
    before = state(lake)
    spoil(pr)
    (xx / "xx.data.0.Current").write_bytes((xx / "xx.data.0.Current").read_bytes().replace(b"0.3", b"0.7"))
    failed = update_survey(lake, FolderSurvey("pr", pr))
    assert failed.status == "failed"
    assert any(f.startswith(message) for f in failed.failures), failed.failures
    assert all("\n" not in f for f in failed.failures)
    assert state(lake) == before  # pr's previous state is current: no commit
    other = update_survey(lake, FolderSurvey("xx", xx))  # another survey goes on
    assert other.status == "updated"
    obs = pl.scan_iceberg(lake.table("observations")).collect()
    assert obs.filter(pl.col("survey") == "pr").height == UNIQUE_ROWS
    assert "0.7" in obs.filter(pl.col("survey") == "xx").get_column("value").to_list()
    verdicts = pl.scan_iceberg(lake.table("expectations")).filter(pl.col("survey") == "pr").collect()
    assert verdicts.get_column("status").unique().to_list() == ["failed"]


def test_a_passing_update_records_its_verdict(lake: Lake, tmp_path: Path) -> None:
    update_survey(lake, FolderSurvey("pr", write_survey(tmp_path / "pr")))
    verdicts = pl.scan_iceberg(lake.table("expectations")).collect()
    assert verdicts.select("survey", "status").rows() == [("pr", "passed")]


def test_the_population_missing_2020_is_noted_and_another_gap_fails() -> None:
    noted = population_notes([2018, 2019, 2021], 2018, 2021, "population/nation_population.json")
    assert noted.ok
    assert noted.notes[0].startswith("population/nation_population.json: population 2020 missing")
    gap = population_notes([2018, 2021], 2018, 2021, "population/nation_population.json")
    assert gap.failures == (
        "population/nation_population.json: expectation population-years failed: 2019 missing (not a known gap)",
    )
