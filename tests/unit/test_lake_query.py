"""`dataquest build-lake`, `query` (JSON, CSV, --as-of, one-line errors, the scan limit) and `revisions`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("pyiceberg")

from dataquest.cli import main
from tests.support.lake_survey import POPULATION, write_survey

Q = "SELECT value FROM observations WHERE series_id = 'PRS30006011' AND year = 2013 AND period = 'Q02'"


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv("DQ_BUCKET", raising=False)
    monkeypatch.delenv("DQ_QUERY_SCAN_LIMIT", raising=False)
    folder = write_survey(tmp_path / "pr")
    population = tmp_path / "population.json"
    population.write_text(json.dumps(POPULATION))
    lake = tmp_path / "lake"
    argv = ["build-lake", "--lake", str(lake), "--data-dir", str(folder), "--population-file", str(population)]
    assert main([*argv, "--json"]) == 0
    return lake, folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_answers_as_json_and_csv(built: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    lake, _ = built
    sql = "SELECT series_id, year, value, basis FROM best_years WHERE periods = 'quarters' ORDER BY series_id"
    code, out, _ = run(capsys, "query", sql, "--lake", str(lake), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["columns"] == ["series_id", "year", "value", "basis"]
    assert doc["rows"][0] == {"series_id": "PRS30006011", "year": 2013, "value": 3.8, "basis": "quarters"}
    code, out, _ = run(capsys, "query", "SELECT mean, years FROM population_stats", "--lake", str(lake), "--csv")
    assert (code, out) == (0, "mean,years\n135.0,6\n")


@pytest.mark.parametrize(
    ("sql", "env", "message"),
    [
        ("SELEC * FROM series", {}, "the query failed: sql parser error"),
        ("SELECT * FROM nowhere", {}, "the query failed: relation 'nowhere' was not found (tables: best_years,"),
        ("SELECT count(*) FROM observations", {"DQ_QUERY_SCAN_LIMIT": "100"}, "the query would scan "),
    ],
)
def test_a_bad_query_is_one_line_on_stderr(  # noqa: PLR0917 - fixtures and parameters
    built: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sql: str,
    env: dict[str, str],
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, err = run(capsys, "query", sql, "--lake", str(built[0]))
    assert code == 1
    assert out == ""
    lines = [line for line in err.splitlines() if line.startswith("dataquest query:")]
    assert len(lines) == 1
    assert lines[0].startswith(f"dataquest query: error: {message}")
    assert "Traceback" not in err


def test_a_scan_limit_that_is_not_a_number_is_a_usage_error_naming_the_variable(
    built: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQ_QUERY_SCAN_LIMIT", "lots")
    code, out, err = run(capsys, "query", "SELECT 1 FROM series", "--lake", str(built[0]))
    assert (code, out) == (2, "")
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("dataquest query: error: DQ_QUERY_SCAN_LIMIT='lots' is not a whole number in plain digits (0-9)")
    )


def test_as_of_answers_from_the_tables_as_they_stood(
    built: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lake, folder = built
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    current = folder / "pr.data.0.Current"
    current.write_bytes(current.read_bytes().replace(b"0.3", b"0.9"))
    assert main(["build-lake", "--lake", str(lake), "--data-dir", str(folder)]) == 0
    _, now, _ = run(capsys, "query", Q, "--lake", str(lake), "--json")
    _, then, _ = run(capsys, "query", Q, "--lake", str(lake), "--json", "--as-of", between)
    assert json.loads(now)["rows"] == [{"value": "0.9"}]
    assert json.loads(then)["rows"] == [{"value": "0.3"}]
    _, before_any, _ = run(capsys, "query", Q, "--lake", str(lake), "--json", "--as-of", "2001-01-01T00:00:00")
    assert json.loads(before_any)["rows"] == []
    code, out, _ = run(capsys, "revisions", "PRS30006011", "--lake", str(lake), "--since", between, "--json")
    assert code == 0
    found = json.loads(out)["revisions"]
    assert [(r["year"], r["period"], r["before"], r["after"]) for r in found] == [(2013, "Q02", "0.3", "0.9")]
    code, _, err = run(capsys, "query", Q, "--lake", str(lake), "--as-of", "yesterday")
    assert code == 2
    assert "--as-of 'yesterday' is not an ISO 8601 time" in err


def test_build_lake_reports_a_failed_survey(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_survey(tmp_path / "pr")
    (folder / "pr.data.1.AllData").write_bytes(b"\xff\xfe garbage\r\n")
    code, out, err = run(capsys, "build-lake", "--lake", str(tmp_path / "lake"), "--data-dir", str(folder), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["surveys"][0]["status"] == "failed"
    assert "pr.data.1.AllData: not UTF-8 text (a bad byte at offset 0)" in doc["error"]
    assert "dataquest build-lake: error: pr.data.1.AllData: not UTF-8 text" in err


@pytest.mark.shared_data
def test_the_quest_answers_from_gold_on_the_real_files(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DQ_BUCKET", raising=False)
    lake = str(tmp_path / "lake")
    data, population = shared_data / "bls-pr-2025-09", shared_data / "population" / "acs1-nation.tesseract.json"
    assert main(["build-lake", "--lake", lake, "--data-dir", str(data), "--population-file", str(population)]) == 0
    _, out, _ = run(capsys, "query", "SELECT mean, std FROM population_stats", "--lake", lake, "--json")
    (stats,) = json.loads(out)["rows"]
    assert stats["mean"] == 322069808.0
    assert stats["std"] == pytest.approx(4158441.040908, abs=1e-6)
    sql = "SELECT year, value FROM best_years WHERE periods = 'all' AND series_id = 'PRS30006011'"
    _, out, _ = run(capsys, "query", sql, "--lake", lake, "--json")
    assert json.loads(out)["rows"] == [{"year": 2022, "value": 20.5}]
    sql = "SELECT value, population FROM series_population WHERE year = 2018"
    _, out, _ = run(capsys, "query", sql, "--lake", lake, "--json")
    assert json.loads(out)["rows"] == [{"value": 0.5, "population": 327167439.0}]
