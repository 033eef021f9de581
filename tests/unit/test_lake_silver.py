"""Silver from a survey's files: exact values, one row per key, titles, lineage, no-op, deletion, conflicts."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyiceberg")

from dataquest.lake import schema
from dataquest.lake.catalog import Lake, local_lake
from dataquest.lake.silver import update_survey
from dataquest.lake.sources import FolderSurvey
from dataquest.report.titles import read_titles
from tests.support.lake_survey import UNIQUE_ROWS, write_survey


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return local_lake(tmp_path / "lake")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_survey(tmp_path / "pr")


def rows(lake: Lake, name: str = "observations") -> pl.DataFrame:
    return pl.scan_iceberg(lake.table(name)).collect()


def snapshots(lake: Lake, name: str = "observations") -> int:
    return len(lake.table(name).snapshots())


def test_one_row_per_key_values_as_published_and_the_current_file_wins(lake: Lake, folder: Path) -> None:
    update = update_survey(lake, FolderSurvey("pr", folder))
    assert (update.status, update.rows) == ("updated", UNIQUE_ROWS)
    obs = rows(lake)
    assert obs.height == UNIQUE_ROWS
    assert obs.select("series_id", "year", "period").n_unique() == UNIQUE_ROWS
    one = obs.filter((pl.col("series_id") == "PRS30006011") & (pl.col("year") == 2012) & (pl.col("period") == "Q01"))
    assert one.get_column("value").to_list() == ["1.000"]  # the published string, trailing zeros and all
    revised = obs.filter(
        (pl.col("series_id") == "PRS30006011") & (pl.col("year") == 2013) & (pl.col("period") == "Q02")
    )
    assert revised.select("value", "footnote_codes", "source_file").row(0) == ("0.3", "R", "pr.data.0.Current")
    annual = obs.filter(pl.col("period") == "Q05")
    assert annual.height == 3
    assert obs.filter(pl.col("footnote_codes").is_null()).height == UNIQUE_ROWS - 1
    assert obs.get_column("source_version").str.starts_with("sha256:").all()


def test_series_titles_as_the_report_composes_them_and_unresolved_codes_counted(lake: Lake, folder: Path) -> None:
    update = update_survey(lake, FolderSurvey("pr", folder))
    series = rows(lake, "series").sort("series_id")
    names = ["pr.series", "pr.sector", "pr.class", "pr.measure", "pr.duration"]
    report = read_titles({n: (folder / n).read_bytes() for n in names}).sort("series_id")
    assert series.get_column("series_id").to_list() == report.get_column("series_id").to_list()
    assert series.get_column("title").to_list() == report.get_column("title").to_list()
    assert series.get_column("title_source").unique().to_list() == ["composed"]
    assert series.get_column("unresolved").to_list() == [0, 0, 1]
    assert update.unresolved == 1
    codes = json.loads(series.get_column("codes")[0])
    assert codes["sector_code"] == "3000"
    assert codes["sector"] == "Manufacturing"
    assert rows(lake, "footnotes").select("footnote_code", "footnote_text").rows() == [("R", "revised")]


def test_series_title_column_is_used_where_the_survey_has_one(lake: Lake, tmp_path: Path) -> None:
    folder = write_survey(tmp_path / "xx", "xx")
    text = (folder / "xx.series").read_text().splitlines()
    lines = [text[0] + "\tseries_title", *(f"{line}\tTitle of {line.split()[0]}" for line in text[1:])]
    (folder / "xx.series").write_text("\r\n".join(lines) + "\r\n")
    assert update_survey(lake, FolderSurvey("xx", folder)).status == "updated"
    series = rows(lake, "series").sort("series_id")
    assert series.get_column("title").to_list()[0] == "Title of PRS30006011"
    assert series.get_column("title_source").unique().to_list() == ["series_title"]


def test_a_series_file_with_titles_and_no_code_columns_builds(lake: Lake, tmp_path: Path) -> None:
    # series_id and series_title only, no mapping files: the codes are empty, one row per series all the same
    folder = tmp_path / "zz"
    folder.mkdir()
    data = "series_id        \tyear\tperiod\t       value\tfootnote_codes\r\n"
    data += "".join(f"ZZS{i:08d}       \t2020\tQ01\t{i:12}\t\r\n" for i in range(3))
    (folder / "zz.data.0.Current").write_text(data, newline="")
    titles = "".join(f"ZZS{i:08d}\tTitle {i}\r\n" for i in range(3))
    (folder / "zz.series").write_text("series_id\tseries_title\r\n" + titles, newline="")

    update = update_survey(lake, FolderSurvey("zz", folder))

    assert (update.status, update.failures) == ("updated", [])
    series = rows(lake, "series").sort("series_id")
    assert series.get_column("title").to_list() == ["Title 0", "Title 1", "Title 2"]
    assert series.get_column("codes").to_list() == ["{}"] * 3


def test_the_commit_records_each_source_version_and_sha256(lake: Lake, folder: Path) -> None:
    update_survey(lake, FolderSurvey("pr", folder))
    snapshot = lake.table("observations").current_snapshot()
    assert snapshot is not None
    props = snapshot.summary.additional_properties
    assert props["dataquest.survey"] == "pr"
    sources = json.loads(props["dataquest.sources"])
    import hashlib

    expected = hashlib.sha256((folder / "pr.data.1.AllData").read_bytes()).hexdigest()
    assert sources["pr.data.1.AllData"]["sha256"] == expected
    assert set(sources) >= {"pr.data.0.Current", "pr.series", "pr.sector", "pr.footnote"}


def test_a_no_op_commits_nothing_and_a_change_commits(lake: Lake, folder: Path) -> None:
    source = FolderSurvey("pr", folder)
    update_survey(lake, source)
    before = {n: snapshots(lake, n) for n in ("observations", "series", "footnotes")}
    assert update_survey(lake, source).status == "unchanged"
    assert {n: snapshots(lake, n) for n in before} == before
    (folder / "pr.data.0.Current").write_bytes((folder / "pr.data.0.Current").read_bytes().replace(b"0.3", b"0.4"))
    assert update_survey(lake, source).status == "updated"
    assert snapshots(lake) > before["observations"]
    assert "0.4" in rows(lake).get_column("value").to_list()


def test_a_deleted_source_file_takes_its_rows_out(lake: Lake, folder: Path) -> None:
    source = FolderSurvey("pr", folder)
    update_survey(lake, source)
    (folder / "pr.data.0.Current").unlink()
    update = update_survey(lake, source)
    assert update.status == "updated"
    obs = rows(lake)
    assert obs.filter(pl.col("year") == 2014).height == 0  # only the current file had 2014
    assert obs.get_column("source_file").unique().to_list() == ["pr.data.1.AllData"]
    assert obs.height == UNIQUE_ROWS - 1


def test_a_survey_whose_files_are_all_gone_is_removed_alone(lake: Lake, tmp_path: Path) -> None:
    pr, xx = write_survey(tmp_path / "pr"), write_survey(tmp_path / "xx", "xx")
    update_survey(lake, FolderSurvey("pr", pr))
    update_survey(lake, FolderSurvey("xx", xx))
    shutil.rmtree(xx)
    xx.mkdir()
    assert update_survey(lake, FolderSurvey("xx", xx)).status == "removed"
    assert rows(lake).get_column("survey").unique().to_list() == ["pr"]
    assert rows(lake, "series").get_column("survey").unique().to_list() == ["pr"]


def test_concurrent_updates_of_two_surveys_keep_both_commits(lake: Lake, tmp_path: Path) -> None:
    folders = {s: write_survey(tmp_path / s, s) for s in ("pr", "aa", "bb")}
    results: dict[str, str] = {}

    def run(survey: str) -> None:
        own = local_lake(lake.where)  # each writer its own catalog connection, as two Lambdas would have
        results[survey] = update_survey(own, FolderSurvey(survey, folders[survey])).status

    threads = [threading.Thread(target=run, args=(s,)) for s in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == dict.fromkeys(folders, "updated")
    fresh = local_lake(lake.where)
    assert sorted(rows(fresh).get_column("survey").unique().to_list()) == sorted(folders)
    assert rows(fresh).height == UNIQUE_ROWS * 3
    props = fresh.table("observations").properties
    assert {f"dataquest.lineage.{s}" for s in folders} <= set(props)


@pytest.mark.shared_data
def test_real_pr_folder_builds_with_the_report_titles(lake: Lake, shared_data: Path) -> None:
    real = shared_data / "bls-pr-2025-09"
    update = update_survey(lake, FolderSurvey("pr", real))
    assert update.status == "updated", update.failures
    obs = rows(lake)
    current = obs.filter(pl.col("source_file") == "pr.data.0.Current")
    assert current.height == 37239
    assert current.get_column("series_id").n_unique() == 282
    assert obs.select("series_id", "year", "period").n_unique() == obs.height
    names = ["pr.series", "pr.sector", "pr.class", "pr.measure", "pr.duration"]
    report = read_titles({n: (real / n).read_bytes() for n in names})
    series = rows(lake, "series").join(report, on="series_id", suffix="_report")
    assert series.height == report.height
    assert (series.get_column("title") == series.get_column("title_report")).all()
    assert update.unresolved == 0


def test_a_changed_data_file_rewrites_the_observations_alone_and_a_changed_mapping_the_series(
    lake: Lake, folder: Path
) -> None:
    source = FolderSurvey("pr", folder)
    update_survey(lake, source)
    before = {n: snapshots(lake, n) for n in ("observations", "series", "footnotes")}
    (folder / "pr.data.0.Current").write_bytes((folder / "pr.data.0.Current").read_bytes().replace(b"0.3", b"0.4"))
    assert update_survey(lake, source).status == "updated"
    after = {n: snapshots(lake, n) for n in before}
    assert after["observations"] > before["observations"]
    assert (after["series"], after["footnotes"]) == (before["series"], before["footnotes"])
    (folder / "pr.measure").write_bytes((folder / "pr.measure").read_bytes().replace(b"Hours worked", b"Hours"))
    assert update_survey(lake, source).status == "updated"
    assert snapshots(lake, "series") > after["series"]
    assert (
        "Manufacturing, All workers, Hours, % Change from previous quarter"
        in rows(lake, "series").get_column("title").to_list()
    )


def test_metadata_files_are_gzipped_and_a_table_made_before_is_moved_over(lake: Lake, folder: Path) -> None:
    spec = schema.TABLES["observations"]
    lake.catalog.create_table((lake.namespace, "observations"), schema=spec.schema, partition_spec=spec.partition)
    plain = lake.table("observations").metadata_location
    assert plain.endswith(".metadata.json")
    assert not plain.endswith(".gz.metadata.json")  # as tables were made before the location provider
    assert update_survey(lake, FolderSurvey("pr", folder)).status == "updated"
    for name in ("observations", "series", "expectations"):
        location = lake.table(name).metadata_location
        assert location.endswith(".gz.metadata.json"), location
        body = Path(location.removeprefix("file://")).read_bytes()
        assert (
            json.loads(gzip.decompress(body))["current-snapshot-id"] == lake.table(name).current_snapshot().snapshot_id
        )  # type: ignore[union-attr]
    assert rows(lake).height == UNIQUE_ROWS
    assert lake.table("observations").properties["write.parquet.row-group-limit"] == "131072"  # the spec's others too
