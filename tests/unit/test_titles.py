"""Series titles: pr.series joined with its four mapping files, from a folder or S3, and into the report."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dataquest.config import BLS_DATA_KEY, POPULATION_KEY
from dataquest.errors import ValidationError
from dataquest.report import builder as report
from dataquest.report import titles
from dataquest.report.builder import ReportOptions
from tests.support.report_inputs import PR32_TITLE, mapping_files, population_bytes, series_codes, write_inputs

BUCKET = "dq-titles-test"


def test_each_series_gets_sector_class_measure_duration_in_that_order() -> None:
    frame = titles.read_titles(mapping_files())
    assert frame.columns == ["series_id", "title"]
    assert frame.height == len(series_codes())
    assert frame.filter(pl.col("series_id") == "PRS30006032").get_column("title").to_list() == [PR32_TITLE]
    assert frame.filter(pl.col("series_id") == "PRS84003091").row(0) == (
        "PRS84003091",
        "Business, Employees, Labor productivity (output per hour), % Change same quarter 1 year ago",
    )
    assert frame.get_column("title").null_count() == 0


def test_a_code_missing_from_a_mapping_leaves_its_part_out() -> None:
    files = mapping_files()
    files["pr.class"] = b"class_code\tclass_text\tdisplay_level\r\n3\tEmployees\t0\r\n"
    frame = titles.read_titles(files)
    assert frame.filter(pl.col("series_id") == "PRS30006032").get_column("title").to_list() == [
        "Manufacturing, Hours worked, % Change from previous quarter"
    ]


def test_a_mapping_file_without_its_columns_is_an_error_naming_it() -> None:
    files = {**mapping_files(), "pr.measure": b"code\tname\r\n01\tEmployment\r\n"}
    with pytest.raises(ValidationError, match=r"pr\.measure: no column\(s\) \['measure_code', 'measure_text'\]"):
        titles.read_titles(files)


def test_from_a_folder_or_none_when_a_file_is_missing(tmp_path: Path) -> None:
    for name, body in mapping_files().items():
        (tmp_path / name).write_bytes(body)
    assert_frame_equal(titles.titles_from_folder(tmp_path), titles.read_titles(mapping_files()))  # type: ignore[arg-type]
    (tmp_path / "pr.duration").unlink()
    assert titles.titles_from_folder(tmp_path) is None


def test_from_s3_next_to_the_data_or_none_when_a_file_is_missing(s3: Any) -> None:
    for name, body in mapping_files().items():
        s3.put_object(Bucket=BUCKET, Key=f"bls/pr/{name}", Body=body)
    found = titles.titles_from_s3(s3, BUCKET, "bls/pr/")
    assert found is not None
    assert_frame_equal(found, titles.read_titles(mapping_files()))
    s3.delete_object(Bucket=BUCKET, Key="bls/pr/pr.sector")
    assert titles.titles_from_s3(s3, BUCKET, "bls/pr/") is None


def test_with_titles_puts_the_title_after_the_id_and_keeps_unknown_series() -> None:
    frame = pl.DataFrame({"series_id": ["PRS30006032", "PRSXXXX"], "year": [2018, 2019]})
    joined = titles.with_titles(frame, titles.read_titles(mapping_files()))
    assert joined.to_dicts() == [
        {"series_id": "PRS30006032", "title": PR32_TITLE, "year": 2018},
        {"series_id": "PRSXXXX", "title": None, "year": 2019},
    ]
    assert titles.with_titles(frame, None) is frame


def test_report_from_files_titles_every_row_and_the_csvs(tmp_path: Path) -> None:
    data, pop = write_inputs(tmp_path)
    computed = report.report_from_files(data, pop, ReportOptions())
    doc = computed.document
    assert all(r["title"] for r in doc["best_years"])
    assert {r["title"] for r in doc["series_population"]} == {PR32_TITLE}
    files = report.render_files(computed)
    rows = list(csv.DictReader(io.StringIO(files["series_population.csv"].decode())))
    assert list(rows[0]) == ["series_id", "title", "year", "period", "value", "population"]
    assert rows[0]["title"] == PR32_TITLE
    best = list(csv.DictReader(io.StringIO(files["best_years.csv"].decode())))
    assert [r["title"] for r in best] == [r["title"] for r in doc["best_years"]]
    assert f"| PRS30006032 | {PR32_TITLE} |" in files["report.md"].decode()
    assert titles.MISSING_NOTE not in files["report.md"].decode()
    # The terminal table: the columns after the title line up.
    lines = report.render_text(computed).splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("Best year per series"))) + 1 :][:4]
    assert {line.index(" quarters") for line in table[1:]} | {table[0].index(" basis")} == {table[0].index(" basis")}


def test_without_the_mapping_files_the_report_has_ids_only_and_says_so(tmp_path: Path) -> None:
    data, pop = write_inputs(tmp_path, titles=False)
    computed = report.report_from_files(data, pop, ReportOptions())
    doc = computed.document
    assert not any("title" in r for r in (*doc["best_years"], *doc["series_population"]))
    files = report.render_files(computed)
    assert files["best_years.csv"].decode().splitlines()[0] == "series_id,year,value,basis"
    assert titles.MISSING_NOTE in files["report.md"].decode()
    assert titles.MISSING_NOTE in files["report.html"].decode()
    assert report.render_text(computed).startswith(titles.MISSING_NOTE)


def test_unreadable_mapping_files_leave_the_report_with_ids_only_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, pop = write_inputs(tmp_path)
    (data.parent / "pr.sector").write_bytes(b"no tabs here\r\n")
    with caplog.at_level(logging.WARNING, logger="dataquest"):
        doc = report.report_from_files(data, pop, ReportOptions()).document
    assert not any("title" in r for r in doc["best_years"])
    warned = [r for r in caplog.records if r.getMessage() == "series titles unreadable: ids only"]
    assert len(warned) == 1
    assert "pr.sector" in warned[0].__dict__["fields"]["error"]


def test_run_report_reads_the_titles_next_to_the_data_in_s3(s3: Any, tmp_path: Path) -> None:
    data, _ = write_inputs(tmp_path)
    s3.put_object(Bucket=BUCKET, Key=BLS_DATA_KEY, Body=data.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=population_bytes())
    untitled = report.run_report(s3, BUCKET, upload=False).document
    assert "title" not in untitled["best_years"][0]
    for name, body in mapping_files().items():
        s3.put_object(Bucket=BUCKET, Key=f"bls/pr/{name}", Body=body)
    result = report.run_report(s3, BUCKET)
    assert {r["title"] for r in result.document["series_population"]} == {PR32_TITLE}
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/latest/report.json")["Body"].read())
    assert stored["best_years"][0]["title"] == result.document["best_years"][0]["title"]


@pytest.mark.shared_data
def test_real_titles(shared_data: Path) -> None:
    frame = titles.titles_from_folder(shared_data / "bls-pr-2025-09")
    assert frame is not None
    assert frame.height == 282
    assert frame.get_column("title").null_count() == 0
    assert dict(frame.iter_rows())["PRS30006032"] == PR32_TITLE
