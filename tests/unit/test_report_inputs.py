"""The report's read boundary: every input that is not a BLS data file (or a population JSON) is refused with one
line, and ``reports/latest/`` (in S3) or ``--out`` (locally) stays as it was."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataquest.config import LATEST_REPORT_PREFIX, POPULATION_KEY
from dataquest.errors import StorageError, ValidationError
from dataquest.report import datafile
from dataquest.report.builder import BLS_DATA_KEY, ReportOptions, report_from_files, run_report
from tests.unit.test_report import DATA, POPULATION

BUCKET = "dq-report-inputs-test"
HEADER = b"series_id        \tyear\tperiod\t       value\tfootnote_codes\r\n"

# name -> (bytes, what the one line says)
BAD_DATA: dict[str, tuple[bytes, str]] = {
    "0 bytes": (b"", "the file is empty"),
    "blanks only": (b"  \r\n\r\n", "the file is empty"),
    "header only": (HEADER, "a header but no data rows"),
    "header only, no line end": (HEADER.rstrip(), "a header but no data rows"),
    "binary with NUL": (bytes(range(256)) * 8, "binary data (a NUL byte at offset 0)"),
    "NUL after a good start": (HEADER + b"PRS1\t2018\tQ01\t1\x00\r\n", "binary data"),
    "not UTF-8": (HEADER + b"PRS\xff\xfe\t2018\tQ01\t1\r\n", "not UTF-8"),
    "no BLS columns": (b"a\tb\r\n1\t2\r\n", "no column(s)"),
    "escape sequences in the header": (b"\x1b[2J\x1b[31m\tx\r\n1\t2\r\n", "no column(s)"),
    "a year that is not a number": (HEADER + b"PRS1\tabc\tQ01\t1\t\r\n", "cannot read it"),
    "a year past Int32": (HEADER + b"PRS1\t99999999999\tQ01\t1\t\r\n", "cannot read it"),
    "an implausible year": (HEADER + b"PRS1\t-5\tQ01\t1\t\r\n", "not a plausible year"),
    "year 9999": (HEADER + b"PRS1\t9999\tQ01\t1\t\r\n", "not a plausible year"),
    "a value of 1e400": (HEADER + b"PRS1\t2018\tQ01\t1e400\t\r\n", "cannot read it"),
    "a value of 41 digits": (HEADER + b"PRS1\t2018\tQ01\t" + b"9" * 41 + b"\t\r\n", "cannot read it"),
    "sums that overflow": (
        HEADER + b"PRS1\t2018\tQ01\t" + b"9" * 26 + b"\t\r\n" + b"PRS1\t2018\tQ02\t" + b"9" * 26 + b"\t\r\n",
        "cannot read it",
    ),
    "a short row": (HEADER + b"PRS1\t2018\r\n", "empty series_id, year or value"),
}


@pytest.mark.parametrize(("body", "says"), BAD_DATA.values(), ids=BAD_DATA.keys())
def test_a_bad_data_file_is_refused_with_one_printable_line(tmp_path: Path, body: bytes, says: str) -> None:
    data = tmp_path / "pr.data.0.Current"
    data.write_bytes(body)
    pop = tmp_path / "population.json"
    pop.write_bytes(POPULATION)
    with pytest.raises(ValidationError) as info:
        report_from_files(data, pop, ReportOptions())
    message = str(info.value)
    assert says in message
    assert str(data) in message
    assert message.isprintable(), message  # no raw bytes, no escape sequences, one line
    assert len(message) < 500


@pytest.mark.parametrize(("body", "says"), BAD_DATA.values(), ids=BAD_DATA.keys())
def test_a_bad_data_file_in_s3_leaves_reports_latest_untouched(s3: Any, body: bytes, says: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=BLS_DATA_KEY, Body=DATA)
    s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=POPULATION)
    run_report(s3, BUCKET)
    latest = {
        o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=LATEST_REPORT_PREFIX)["Contents"]
    }
    before = s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["KeyCount"]
    s3.put_object(Bucket=BUCKET, Key=BLS_DATA_KEY, Body=body)
    with pytest.raises(ValidationError, match=re.escape(says)):
        run_report(s3, BUCKET)
    after = {k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in latest}
    assert after == latest
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["KeyCount"] == before  # no new folder either


def test_the_check_reads_only_the_head_of_a_file(tmp_path: Path) -> None:
    data = tmp_path / "big"
    data.write_bytes(HEADER + b"PRS1\t2018\tQ01\t1\t\r\n" * 10_000 + b"\x00")  # a NUL past the head
    datafile.check_data_file(data, "big")  # the head is text: polars then reads the whole file


def test_a_multibyte_character_cut_by_the_head_is_not_an_error(tmp_path: Path) -> None:
    data = tmp_path / "utf8"
    data.write_bytes(b"x" * (datafile.HEAD_BYTES - 1) + "é".encode())
    datafile.check_data_file(data, "utf8")


LOCAL_PATHS = {
    "a directory": ("dir", "is a directory, not a file"),
    "a missing file": ("missing", "no such file"),
    "a device": ("/dev/null", "not a regular file"),
}


@pytest.mark.parametrize(("which", "says"), LOCAL_PATHS.values(), ids=LOCAL_PATHS.keys())
@pytest.mark.parametrize("flag", ["--data-file", "--population-file"])
def test_a_path_that_is_not_a_file_says_what_it_is(tmp_path: Path, which: str, says: str, flag: str) -> None:
    good_data, good_pop = tmp_path / "data", tmp_path / "pop.json"
    good_data.write_bytes(DATA)
    good_pop.write_bytes(POPULATION)
    (tmp_path / "dir").mkdir()
    bad = Path(which) if which.startswith("/") else tmp_path / which
    data, pop = (bad, good_pop) if flag == "--data-file" else (good_data, bad)
    with pytest.raises(StorageError, match=f"{flag} .*{says}"):
        report_from_files(data, pop, ReportOptions())


def test_an_unreadable_data_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, pop = tmp_path / "data", tmp_path / "pop.json"
    data.write_bytes(DATA)
    pop.write_bytes(POPULATION)
    real_open = Path.open

    def deny(self: Path, *args: Any, **kw: Any) -> Any:
        if self == data:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kw)

    monkeypatch.setattr(Path, "open", deny)  # a chmod 0 file is readable by root, who runs CI
    with pytest.raises(ValidationError, match="cannot be read \\(Permission denied\\)"):
        report_from_files(data, pop, ReportOptions())


def test_an_oversized_population_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    data, pop = tmp_path / "data", tmp_path / "pop.json"
    data.write_bytes(DATA)
    with pop.open("wb") as f:
        f.truncate(11 * 1024 * 1024)  # sparse: no 11 MB written
    with pytest.raises(ValidationError, match=r"over the \d+-byte cap"):
        report_from_files(data, pop, ReportOptions())
