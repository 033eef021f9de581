"""Silver's streamed build: blocks of a file, precedence across blocks, unique keys in and out of BLS order."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyiceberg")

from pyiceberg.io.pyarrow import schema_to_pyarrow

from dataquest.lake import parse, schema, stream
from dataquest.lake.catalog import local_lake
from dataquest.lake.commit import replace_with_files
from dataquest.lake.silver import update_survey
from dataquest.lake.sources import FolderSurvey
from tests.support.lake_survey import ALL_DATA, CURRENT, data_text, row, write_survey

ARROW = schema_to_pyarrow(schema.TABLES["observations"].schema)
IDS = pl.Series(["PRS30006011", "PRS30006032", "PRS88888881"])


def write(tmp_path: Path, name: str, rows: list[str]) -> parse.DataFile:
    path = tmp_path / name
    path.write_text(data_text(rows), newline="")
    return parse.DataFile(path, name, None)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "BLOCK", 64)  # one or two lines per block: every boundary case is crossed


def run(tmp_path: Path, files: list[parse.DataFile]) -> tuple[stream.Written, pl.DataFrame]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    written = stream.write_observations(files, "pr", out, ARROW, series_ids=IDS)
    frame = pl.read_parquet(written.paths) if written.paths else pl.DataFrame()
    return written, frame


@pytest.mark.usefixtures("small_blocks")
def test_small_blocks_give_the_same_rows_and_the_earlier_file_wins(tmp_path: Path) -> None:
    current = write(tmp_path, "pr.data.0.Current", CURRENT)
    alldata = write(tmp_path, "pr.data.1.AllData", ALL_DATA)
    written, frame = run(tmp_path, [current, alldata])
    assert written.failures == []
    assert written.rows == frame.height == 10
    assert frame.select(parse.KEYS).n_unique() == 10
    revised = frame.filter((pl.col("year") == 2013) & (pl.col("period") == "Q02"))
    assert revised.select("value", "source_file").row(0) == ("0.3", "pr.data.0.Current")
    assert frame.filter(pl.col("value") == "1.000").height == 1  # the published string, never a float
    assert pq_field_ids(written.paths[0]) == list(range(1, 9))


def pq_field_ids(path: Path) -> list[int]:
    import pyarrow.parquet as pq

    return [int(f.metadata[b"PARQUET:field_id"]) for f in pq.read_schema(path)]


@pytest.mark.usefixtures("small_blocks")
def test_a_key_repeated_across_blocks_in_bls_order_is_counted(tmp_path: Path) -> None:
    rows = [*ALL_DATA[:3], ALL_DATA[2], *ALL_DATA[3:]]  # 2012 Q05 twice, adjacent (as a repeated line would be)
    written, _ = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", rows)])
    assert written.failures == [
        "pr.data.1.AllData: expectation unique-keys failed: 1 row(s) repeat a (series_id, year, period) of the same "
        "file"
    ]


@pytest.mark.usefixtures("small_blocks")
def test_a_key_repeated_far_apart_out_of_order_is_counted_by_the_exact_fallback(tmp_path: Path) -> None:
    rows = [*ALL_DATA, ALL_DATA[0], ALL_DATA[5]]  # the series come back after others: not in BLS order
    written, _ = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", rows)])
    assert written.failures == [
        "pr.data.1.AllData: expectation unique-keys failed: 2 row(s) repeat a (series_id, year, period) of the same "
        "file"
    ]


def test_files_out_of_order_without_repeats_pass(tmp_path: Path) -> None:
    written, frame = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", list(reversed(ALL_DATA)))])
    assert (written.failures, frame.height) == ([], len(ALL_DATA))


def test_rule_failures_are_counted_over_every_block_with_one_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "BLOCK", 64)
    rows = [*ALL_DATA, row("PRS30006011", 2014, "Q9", "1.0"), row("PRS30006011", 2015, "Q9", "2.0")]
    written, _ = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", rows)])
    assert written.failures == [
        "pr.data.1.AllData: expectation known-period failed: 2 row(s), e.g. series_id='PRS30006011' year=2014 "
        "period='Q9' value='1.0'"
    ]


def test_a_line_with_too_many_fields_fails_the_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pr.data.1.AllData"
    path.write_text(data_text(ALL_DATA) + "PRS30006011\t2014\tQ01\t1.0\t\textra\tmore\r\n", newline="")
    with pytest.raises(Exception, match=r"^pr\.data\.1\.AllData: cannot read its rows: "):
        run(tmp_path, [parse.DataFile(path, path.name, None)])


def test_a_failed_commit_deletes_the_copied_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = local_lake(tmp_path / "lake")
    written, _ = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", ALL_DATA)])

    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("the catalog is gone")

    monkeypatch.setattr("dataquest.lake.commit._commit", refuse)
    with pytest.raises(RuntimeError):
        replace_with_files(lake, "observations", "pr", written.paths, summary={})
    assert not list((tmp_path / "lake" / "warehouse").rglob("*.parquet"))


def test_an_update_writes_one_data_file_per_data_file_and_scans_prune_by_their_statistics(tmp_path: Path) -> None:
    lake = local_lake(tmp_path / "lake")
    update = update_survey(lake, FolderSurvey("pr", write_survey(tmp_path / "pr")))
    assert update.status == "updated"
    files = lake.table("observations").inspect.files().to_pylist()
    assert len(files) == 2  # pr.data.0.Current's rows and AllData's remaining rows, each as it was written
    planned = lake.table("observations").scan(row_filter="year = 2014").plan_files()  # only the current file has 2014
    assert [task.file.record_count for task in planned] == [len(CURRENT)]


@pytest.mark.usefixtures("small_blocks")
def test_rows_of_an_unknown_series_are_counted_once_per_file_with_an_example(tmp_path: Path) -> None:
    unknown = [row("PRS99999999", 2012, "Q01", "1.0"), row("PRS99999999", 2012, "Q02", "2.0")]
    written, _ = run(tmp_path, [write(tmp_path, "pr.data.1.AllData", [*ALL_DATA[:5], *unknown, *ALL_DATA[5:]])])
    assert written.failures == [
        "pr.data.1.AllData: expectation series-known failed: 2 row(s), e.g. series_id='PRS99999999' year=2012 "
        "period='Q01' value='1.0'"
    ]
