"""run_report against moto's in-process S3: keys from input versions, skip on a second run, errors naming
what to run; the report files; the CLI (`report` and `fetch-population`)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import statistics
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataquest import cli
from dataquest.config import POPULATION_KEY
from dataquest.errors import InputMissingError
from dataquest.report import builder as report
from dataquest.report import s3 as report_s3
from dataquest.report.builder import BLS_DATA_KEY, ReportOptions, run_report
from tests.unit.test_analysis import bls_bytes, quarters

BUCKET = "dq-report-test"
DATA = bls_bytes(
    [
        *quarters("PRS30006032", 2017, "0.4", "7.0", "9.8", "3.3", annual="5"),
        *quarters("PRS30006032", 2018, "0.5", "1", "1", "1", annual="1"),
        *quarters("PRS30006032", 2020, "-7", "1", "1", "1"),
        ("PRS88003203", 2017, "Q05", "583.441"),
        ("PRS88003203", 2018, "Q05", "12"),
    ]
)
POPULATION = json.dumps(
    {
        "data": [
            {"Year": 2013, "Population": 316128839.0},
            {"Year": 2017, "Population": 325719178.0},
            {"Year": 2018, "Population": 327167439.0},
        ]
    }
).encode()
EXPECTED = {
    "population_stats": {
        "start_year": 2013,
        "end_year": 2018,
        "years": 3,
        "mean": pytest.approx((316128839 + 325719178 + 327167439) / 3),
        "std": pytest.approx(statistics.stdev([316128839, 325719178, 327167439]), rel=1e-12),
    },
    "best_years": [
        {"series_id": "PRS30006032", "year": 2017, "value": 20.5, "basis": "quarters"},
        {"series_id": "PRS88003203", "year": 2017, "value": 583.441, "basis": "annual"},
    ],
    "series_population": [
        {"series_id": "PRS30006032", "year": 2017, "period": "Q01", "value": 0.4, "population": 325719178},
        {"series_id": "PRS30006032", "year": 2018, "period": "Q01", "value": 0.5, "population": 327167439},
        {"series_id": "PRS30006032", "year": 2020, "period": "Q01", "value": -7.0, "population": None},
    ],
    "population": [
        {"year": 2013, "population": 316128839},
        {"year": 2017, "population": 325719178},
        {"year": 2018, "population": 327167439},
    ],
}


def _put_inputs(s3: Any, data: bytes = DATA, population: bytes = POPULATION) -> None:
    s3.put_object(Bucket=BUCKET, Key=BLS_DATA_KEY, Body=data)
    s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=population)


def _keys(s3: Any, prefix: str = "reports/") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def _etag(s3: Any, key: str) -> str:
    return str(s3.head_object(Bucket=BUCKET, Key=key)["ETag"]).strip('"')


def _count_puts(s3: Any) -> list[str]:
    puts: list[str] = []
    s3.meta.events.register("before-call.s3.PutObject", lambda params, **kw: puts.append(params["Key"]))
    return puts


# --- run_report ------------------------------------------------------------------------------------------------
def test_writes_the_report_files_under_the_input_versions_and_latest(s3: Any) -> None:
    _put_inputs(s3)
    result = run_report(s3, BUCKET)
    prefix = f"reports/{_etag(s3, BLS_DATA_KEY)}_{_etag(s3, POPULATION_KEY)}/"
    files = ["best_years.csv", "report.html", "report.json", "report.md", "series_population.csv"]
    assert result.prefix == prefix
    assert result.skipped is False
    assert _keys(s3) == sorted([prefix + f for f in files] + ["reports/latest/" + f for f in files])
    assert sorted(result.keys) == _keys(s3)
    assert {k: v for k, v in result.document.items() if k != "inputs"} == EXPECTED
    assert result.document["inputs"] == {
        "bls": {"key": BLS_DATA_KEY, "version": _etag(s3, BLS_DATA_KEY)},
        "population": {"key": POPULATION_KEY, "version": _etag(s3, POPULATION_KEY)},
    }
    for where in (prefix, "reports/latest/"):
        stored = json.loads(s3.get_object(Bucket=BUCKET, Key=where + "report.json")["Body"].read())
        assert stored == result.document


def test_the_csvs_and_markdown_hold_the_results(s3: Any) -> None:
    _put_inputs(s3)
    prefix = run_report(s3, BUCKET).prefix

    def text(name: str) -> str:
        return str(s3.get_object(Bucket=BUCKET, Key=prefix + name)["Body"].read().decode())

    assert list(csv.reader(io.StringIO(text("best_years.csv")))) == [
        ["series_id", "year", "value", "basis"],
        ["PRS30006032", "2017", "20.5", "quarters"],
        ["PRS88003203", "2017", "583.441", "annual"],
    ]
    assert list(csv.reader(io.StringIO(text("series_population.csv"))))[-1] == [
        "PRS30006032",
        "2020",
        "Q01",
        "-7.0",
        "",
    ]
    md = text("report.md")
    assert "| PRS30006032 | 2017 | 20.5 | quarters |" in md
    assert "| PRS30006032 | 2020 | Q01 | -7.0 | - |" in md
    assert s3.head_object(Bucket=BUCKET, Key=prefix + "report.json")["ContentType"] == "application/json"


def test_a_versioned_bucket_keys_the_report_by_version_ids(s3: Any) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    _put_inputs(s3)
    bls_v = s3.head_object(Bucket=BUCKET, Key=BLS_DATA_KEY)["VersionId"]
    pop_v = s3.head_object(Bucket=BUCKET, Key=POPULATION_KEY)["VersionId"]
    result = run_report(s3, BUCKET)
    assert result.document["inputs"]["bls"]["version"] == bls_v
    assert result.document["inputs"]["population"]["version"] == pop_v
    assert result.prefix == f"reports/{report_s3._safe(bls_v)}_{report_s3._safe(pop_v)}/"


def test_the_same_inputs_give_the_same_keys_and_a_second_run_skips(s3: Any) -> None:
    _put_inputs(s3)
    first = run_report(s3, BUCKET)
    puts = _count_puts(s3)
    second = run_report(s3, BUCKET)
    assert second.skipped is True
    assert second.prefix == first.prefix
    assert second.keys == ()
    assert second.document == first.document
    assert puts == []


def test_force_computes_and_writes_again_to_the_same_keys(s3: Any) -> None:
    _put_inputs(s3)
    first = run_report(s3, BUCKET)
    again = run_report(s3, BUCKET, force=True)
    assert again.skipped is False
    assert again.keys == first.keys


def test_a_new_population_version_gives_a_new_folder(s3: Any) -> None:
    _put_inputs(s3)
    first = run_report(s3, BUCKET)
    s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=POPULATION.replace(b"316128839", b"316128840"))
    second = run_report(s3, BUCKET)
    assert second.skipped is False
    assert second.prefix != first.prefix
    latest = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/latest/report.json")["Body"].read())
    assert latest["inputs"]["population"]["version"] == _etag(s3, POPULATION_KEY)


def test_other_options_get_their_own_folder_and_are_not_skipped(s3: Any) -> None:
    _put_inputs(s3)
    default = run_report(s3, BUCKET)
    every = run_report(s3, BUCKET, ReportOptions(periods="all"))
    assert every.skipped is False
    assert every.prefix != default.prefix
    assert every.prefix.startswith(default.prefix.rstrip("/") + "_")
    assert [r["basis"] for r in every.document["best_years"]] == ["all", "all"]
    assert every.document["best_years"][0]["value"] == 20.5 + 5


def test_upload_false_computes_and_writes_nothing(s3: Any) -> None:
    _put_inputs(s3)
    result = run_report(s3, BUCKET, upload=False)
    assert result.document["best_years"] == EXPECTED["best_years"]
    assert _keys(s3) == []


@pytest.mark.parametrize(
    ("missing", "command"), [(BLS_DATA_KEY, "dataquest sync-bls"), (POPULATION_KEY, "dataquest fetch-population")]
)
def test_a_missing_input_is_an_error_naming_the_key_and_what_to_run(s3: Any, missing: str, command: str) -> None:
    _put_inputs(s3)
    s3.delete_object(Bucket=BUCKET, Key=missing)
    with pytest.raises(InputMissingError) as info:  # a StorageError, which the CLI reports
        run_report(s3, BUCKET)
    assert f"s3://{BUCKET}/{missing} does not exist" in str(info.value)
    assert f"run `{command}` first" in str(info.value)
    assert info.value.key == missing
    assert _keys(s3) == []


def test_latest_is_left_alone_when_an_input_changes_while_computing(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_inputs(s3)
    build = report.build_report

    def build_then_change(*args: Any, **kwargs: Any) -> report.Report:
        doc = build(*args, **kwargs)
        s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=POPULATION + b" ")
        return doc

    monkeypatch.setattr(report, "build_report", build_then_change)
    result = run_report(s3, BUCKET)
    assert _keys(s3, result.prefix) != []
    assert _keys(s3, "reports/latest/") == []


def test_the_three_results_are_logged_as_structured_events(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    _put_inputs(s3)
    logging.getLogger("dataquest").propagate = True
    with caplog.at_level(logging.INFO, logger="dataquest"):
        run_report(s3, BUCKET)
    fields = {r.getMessage(): getattr(r, "fields", {}) for r in caplog.records}
    assert fields["population stats"]["years"] == 3
    assert fields["best years"]["best_years"] == EXPECTED["best_years"]
    assert fields["series population"]["rows"] == 3


# --- local files -----------------------------------------------------------------------------------------------
@pytest.fixture
def local_inputs(tmp_path: Path) -> tuple[Path, Path]:
    data, pop = tmp_path / "pr.data.0.Current", tmp_path / "population.json"
    data.write_bytes(DATA)
    pop.write_bytes(POPULATION)
    return data, pop


def test_report_from_files_names_each_file_and_its_sha256(local_inputs: tuple[Path, Path]) -> None:
    import hashlib

    data, pop = local_inputs
    doc = report.report_from_files(data, pop, ReportOptions()).document
    assert {k: v for k, v in doc.items() if k != "inputs"} == EXPECTED
    assert doc["inputs"] == {
        "bls": {"key": str(data), "version": hashlib.sha256(DATA).hexdigest()},
        "population": {"key": str(pop), "version": hashlib.sha256(POPULATION).hexdigest()},
    }


def test_write_local_writes_the_report_files(local_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    computed = report.report_from_files(*local_inputs, ReportOptions())
    paths = report.write_local(computed, tmp_path / "out" / "nested")
    assert sorted(p.name for p in paths) == [
        "best_years.csv",
        "report.html",
        "report.json",
        "report.md",
        "series_population.csv",
    ]
    assert json.loads((tmp_path / "out" / "nested" / "report.json").read_text()) == computed.document


# --- the CLI ---------------------------------------------------------------------------------------------------
def test_cli_report_from_local_files_prints_exactly_the_document(
    local_inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DQ_BUCKET", raising=False)
    data, pop = local_inputs
    code = cli.main(["report", "--data-file", str(data), "--population-file", str(pop), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("\n") == 1
    assert json.loads(out) == report.report_from_files(data, pop, ReportOptions()).document


def test_cli_report_text_shows_tables_and_writes_out(
    local_inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, pop = local_inputs
    out_dir = tmp_path / "out"
    code = cli.main(
        ["report", "--data-file", str(data), "--population-file", str(pop), "--periods", "all", "--out", str(out_dir)]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "US population 2013..2018 (3 years)" in text
    assert "PRS30006032     2017          25.5  all" in text
    assert json.loads((out_dir / "report.json").read_text())["best_years"][0]["basis"] == "all"


def test_cli_report_needs_both_local_files(local_inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["report", "--data-file", str(local_inputs[0]), "--json"])
    captured = capsys.readouterr()
    assert code == cli.EXIT_USAGE
    assert "give both --data-file and --population-file" in captured.err
    assert "error" in json.loads(captured.out)


def test_cli_report_names_a_missing_local_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["report", "--data-file", str(tmp_path / "nope"), "--population-file", str(tmp_path / "p")])
    assert code == cli.EXIT_FAILED
    assert f"--data-file {tmp_path / 'nope'}: no such file" in capsys.readouterr().err


def test_cli_report_from_s3(s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQ_BUCKET", BUCKET)
    _put_inputs(s3)
    assert cli.main(["report", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli.main(["report"]) == 0
    text = capsys.readouterr().out
    assert "already at s3://" in text
    assert first["best_years"] == EXPECTED["best_years"]
    assert _keys(s3, "reports/latest/") != []


def test_cli_report_from_s3_without_inputs_fails_clearly(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQ_BUCKET", BUCKET)
    assert cli.main(["report"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert err == (
        f"dataquest report: error: s3://{BUCKET}/{BLS_DATA_KEY} does not exist: the report needs it; "
        "run `dataquest sync-bls` first"
    )


def test_cli_fetch_population(s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQ_BUCKET", BUCKET)
    monkeypatch.setenv("DQ_POPULATION_URL", "https://pop.example.test/data")
    monkeypatch.setenv("DQ_REQUEST_INTERVAL", "0")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=POPULATION)

    from dataquest.http import client as httpclient

    monkeypatch.setattr(
        httpclient, "build_client", lambda ua, **kw: httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert cli.main(["fetch-population", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli.main(["fetch-population", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert seen == ["https://pop.example.test/data"] * 2
    assert first["written"] is True
    assert second == {**first, "written": False}
    assert first["rows"] == 3


def test_cli_fetch_population_bad_payload_fails_with_one_line(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQ_BUCKET", BUCKET)
    monkeypatch.setenv("DQ_POPULATION_URL", "https://pop.example.test/data")
    from dataquest.http import client as httpclient

    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>oops</html>"))
    monkeypatch.setattr(httpclient, "build_client", lambda ua, **kw: httpx.Client(transport=transport))
    assert cli.main(["fetch-population", "--json"]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    assert "not JSON" in json.loads(captured.out)["error"]
    assert captured.err.count("\n") == 1
    assert _keys(s3, "population/") == []


def test_the_cli_report_flags_default_to_the_one_options_object() -> None:
    args = cli.build_parser().parse_args(["report"])
    flags = ReportOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ReportOptions)})
    assert flags == ReportOptions() == ReportOptions("quarters", "PRS30006032", "Q01", 2013, 2018)
