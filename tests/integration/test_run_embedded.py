"""``dataquest run`` end to end: moto in-process, the handlers, the relay, the report files in ``--out``.

Against a local BLS/DataUSA stand-in (tests.support.bls_site): a small generated tree whose answers are
computed here, and the real pr files and population response (``shared_data``: tests/data) with the known answers.
The helpers at the top (``small_tree``, ``publish``, ``pipeline_env``) are shared with the other
integration tests of the handlers.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dataquest import cli
from tests.conftest import ROOT
from tests.support.bls_calendar import Event
from tests.support.bls_site import BlsSite

pytestmark = pytest.mark.integration

POPULATION_PATH = "/tesseract/data.jsonrecords"
REPORT_FILES = {"report.json", "best_years.csv", "series_population.csv", "report.md", "report.html"}


@dataclass(frozen=True)
class Tree:
    """A small BLS survey folder and population response, with the answers the report must give."""

    files: dict[str, bytes]
    population: bytes
    mean: float
    std: float
    q01_years: list[int]
    population_by_year: dict[int, int]


def small_tree() -> Tree:
    """pr.data.0.Current in BLS's format (padded, tab-separated, CRLF) and a tesseract population response."""
    header = "series_id        \tyear\tperiod\t       value\tfootnote_codes\r\n"
    rows: list[str] = []
    for year in range(2011, 2020):
        for q in range(1, 6):
            value = round(0.1 * q + (year - 2010) / 10, 1)
            rows.append(f"PRS30006032       \t{year}\tQ0{q}\t{value:12}\t\r\n")
            rows.append(f"PRS30006011       \t{year}\tQ0{q}\t{value + 1:12}\t\r\n")
    rows += [f"PRS88003203       \t{year}\tQ05\t{100 + year % 7:12}\t\r\n" for year in range(2011, 2020)]
    data = (header + "".join(rows)).encode()
    series = (
        b"series_id\tseries_title\r\nPRS30006032\tManufacturing, output per hour\r\n"
        b"PRS30006011\tNonfarm business, labor productivity\r\nPRS88003203\tNonfinancial corporations, hours\r\n"
    )
    # 2020 missing, as in the real ACS 1-year data: the left join gives it no population (and 2011, 2012 neither)
    population_by_year = {year: 310_000_000 + (year - 2010) * 2_345_678 for year in range(2013, 2022) if year != 2020}
    population = json.dumps(
        {
            "data": [
                {"Nation ID": "01000US", "Nation": "United States", "Year": y, "Population": float(p)}
                for y, p in sorted(population_by_year.items(), reverse=True)
            ]
        }
    ).encode()
    in_window = [population_by_year[y] for y in range(2013, 2019) if y in population_by_year]
    return Tree(
        files={"pr/pr.data.0.Current": data, "pr/pr.series": series},
        population=population,
        mean=statistics.mean(in_window),
        std=statistics.stdev(in_window),
        q01_years=list(range(2011, 2020)),
        population_by_year=population_by_year,
    )


def shared_tree(shared_data: Path) -> Tree:
    folder = shared_data / "bls-pr-2025-09"
    return Tree(
        files={f"pr/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())},
        population=(shared_data / "population" / "acs1-nation.tesseract.json").read_bytes(),
        mean=322069808.0,
        std=4158441.04,
        q01_years=list(range(1995, 2026)),
        population_by_year={2018: 327167439},
    )


def publish(site: BlsSite, tree: Tree) -> None:
    for path, body in tree.files.items():
        site.put(path, body)
    site.serve(POPULATION_PATH, tree.population)


def pipeline_env(site: BlsSite, **extra: str) -> dict[str, str]:
    """The environment a process of the pipeline needs to read from ``site``."""
    return {
        "DQ_CONTACT": "dataquest-tests@example.org",
        "DQ_BLS_BASE_URL": site.base_url,
        "DQ_POPULATION_URL": site.url(POPULATION_PATH),
        "DQ_REQUEST_INTERVAL": "0",
        **extra,
    }


def check_report(doc: dict[str, object], tree: Tree) -> None:
    stats = doc["population_stats"]
    assert isinstance(stats, dict)
    assert (stats["start_year"], stats["end_year"]) == (2013, 2018)
    assert stats["mean"] == pytest.approx(tree.mean, abs=0.01)
    assert stats["std"] == pytest.approx(tree.std, abs=0.01)
    rows = doc["series_population"]
    assert isinstance(rows, list)
    assert [r["year"] for r in rows] == tree.q01_years
    assert {(r["series_id"], r["period"]) for r in rows} == {("PRS30006032", "Q01")}
    by_year = {r["year"]: r["population"] for r in rows}
    for year, population in tree.population_by_year.items():
        if year in by_year:
            assert by_year[year] == population


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``dataquest ARGS`` in a fresh process with ``env``; its local lake in a folder of its own (never the repo's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DQ_", "AWS_ENDPOINT"))}
    with tempfile.TemporaryDirectory(prefix="dq-lake-") as lake:
        return subprocess.run(
            [sys.executable, "-m", "dataquest.cli", *args],
            env={**clean, "DQ_LAKE_DIR": lake, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def test_run_on_a_small_generated_tree(site: BlsSite, tmp_path: Path) -> None:
    tree = small_tree()
    publish(site, tree)
    out = tmp_path / "out"
    proc = run_cli(["run", "--json", "--out", str(out)], pipeline_env(site))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # exactly one JSON document on stdout
    # the planner planned both files and sent them in one message; the transfer handler uploaded them
    assert summary["ingest"]["uploaded"] == 0
    assert summary["ingest"]["planned"] == {"pr": {"files": 2, "bytes": sum(len(b) for b in tree.files.values())}}
    assert summary["transfers"] == {
        "batches": 1,
        "received": 1,
        "deleted": 1,
        "failed": 0,
        "dead_letters": [],
        "left_on_queue": 0,
    }
    assert summary["transferred"] == {
        "uploaded": 2,
        "skipped": 0,
        "resumed": 0,
        "failed": 0,
        "bytes": sum(len(b) for b in tree.files.values()),
    }
    assert summary["ingest"]["population"]["written"] is True
    assert summary["reports_produced"] == 1
    assert summary["out"] == str(out)
    assert summary["errors"] == []
    relay = summary["relay"]
    # the TestEvent and one notification per input, all acknowledged in one batch
    assert relay == {"batches": 1, "received": 3, "deleted": 3, "failed": 0, "dead_letters": [], "left_on_queue": 0}
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    report = json.loads((out / "report.json").read_text())
    check_report(report, tree)
    # the lake built from the same bucket answers the sample query with the report's own numbers
    lake = summary["lake"]
    assert lake["surveys"] == {"pr": "updated"}
    assert lake["errors"] == []
    quarters = sorted(report["best_years"], key=lambda r: -r["value"])[:3]
    expected = [(r["series_id"], r["year"], r["value"]) for r in quarters]
    assert [(r["series_id"], r["year"], float(r["value"])) for r in lake["rows"]] == expected
    assert '"CloudWatchMetrics"' in proc.stderr  # metrics go to stderr here, stdout stays one document


def test_run_prints_a_short_human_summary(site: BlsSite, tmp_path: Path) -> None:
    publish(site, small_tree())
    proc = run_cli(["run", "--out", str(tmp_path / "o"), "--log-level", "WARNING"], pipeline_env(site))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ingest: 2 files seen, 2 uploaded, 0 deleted")
    assert "reports produced: 1" in proc.stdout
    assert "dataquest query" in proc.stdout  # the lake's sample query, and its rows
    assert str(tmp_path / "o" / "report.json") in proc.stdout


def test_run_mirrors_the_release_calendar_and_reports_freshness(site: BlsSite, tmp_path: Path) -> None:
    publish(site, small_tree())
    site.put("ce/ce.txt", b"ce\r\n")
    site.fail("/pub/time.series/ce/", 403, times=None)  # ce is never mirrored: its release finds it stale
    now = datetime.now(UTC)
    calendar = site.put_calendar(
        [
            Event("Productivity and Costs (R) for Third Quarter 2026", now - timedelta(hours=30)),
            Event("Employment Situation for November 2026", now - timedelta(hours=50)),
            Event("Productivity and Costs for Fourth Quarter 2026", now + timedelta(days=60)),  # not due yet
        ]
    )
    env = pipeline_env(site, DQ_BLS_SURVEYS="pr,ce", DQ_BLS_CALENDAR_URL=site.calendar_url, DQ_FRESHNESS_HOURS="24")
    proc = run_cli(["run", "--json", "--out", str(tmp_path / "out")], env)
    assert proc.returncode == 1  # ce's listing failed
    fresh = json.loads(proc.stdout)["ingest"]["freshness"]
    assert (fresh["hours"], fresh["checked"], fresh["releases_due"], fresh["unmapped"]) == (24, True, 2, 0)
    assert fresh["calendar"]["written"] is True
    # pr's files went to the transfer queue in this run: fresh; ce has nothing since its release: stale.
    assert [(s["survey"], s["release"], s["last_changed"]) for s in fresh["stale"]] == [
        ("ce", "Employment Situation for November 2026", None)
    ]
    assert site.count("/schedule/news_release/bls.ics") == 1
    assert "survey stale" in proc.stderr  # the warning line, with what to do
    assert "dataquest ingest --survey ce" in proc.stderr
    assert calendar.startswith(b"BEGIN:VCALENDAR")

    # The human summary (of a run that succeeds: pr alone).
    env = pipeline_env(site, DQ_BLS_CALENDAR_URL=site.calendar_url)
    human = run_cli(["run", "--out", str(tmp_path / "o"), "--log-level", "ERROR"], env)
    assert human.returncode == 0, human.stderr
    assert "freshness (24 h): 2 release(s) due, stale surveys: none; report current" in human.stdout.splitlines()


@pytest.mark.shared_data
def test_run_on_the_real_pr_files_gives_the_known_answers(site: BlsSite, shared_data: Path, tmp_path: Path) -> None:
    tree = shared_tree(shared_data)
    publish(site, tree)
    out = tmp_path / "out"
    started = time.monotonic()
    proc = run_cli(["run", "--json", "--out", str(out)], pipeline_env(site))
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ingest"]["files_seen"] == len(tree.files)  # 11 in tests/data (README), 12 in a full copy
    assert summary["transferred"]["uploaded"] == len(tree.files)
    assert summary["reports_produced"] == 1
    doc = json.loads((out / "report.json").read_text())
    check_report(doc, tree)
    assert doc["population_stats"]["mean"] == 322069808.0
    assert doc["population_stats"]["std"] == pytest.approx(4158441.04, abs=0.005)
    row_2018 = next(r for r in doc["series_population"] if r["year"] == 2018)
    assert (row_2018["value"], row_2018["population"]) == (0.5, 327167439)
    assert next(r for r in doc["series_population"] if r["year"] == 2020)["population"] is None
    assert len(doc["best_years"]) == 282
    print(f"dataquest run on the real pr files: {elapsed:.1f} s")


def test_missing_contact_fails_before_starting_anything(
    site: BlsSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import moto.server

    started: list[object] = []
    monkeypatch.setattr(moto.server, "ThreadedMotoServer", lambda *a, **k: started.append(a) or pytest.fail("moto"))
    monkeypatch.delenv("DQ_CONTACT", raising=False)
    monkeypatch.setenv("DQ_BLS_BASE_URL", site.base_url)
    code = cli.main(["run", "--json", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == cli.EXIT_USAGE
    assert started == []
    assert site.requests == []
    assert not (tmp_path / "out").exists()
    assert json.loads(captured.out)["error"].startswith("DQ_CONTACT is not set")
    err = captured.err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("dataquest run: error: DQ_CONTACT is not set")


def test_a_source_failure_is_reported_and_exits_non_zero(site: BlsSite, tmp_path: Path) -> None:
    tree = small_tree()
    publish(site, tree)
    site.fail(POPULATION_PATH, 404, times=None)
    proc = run_cli(["run", "--json", "--out", str(tmp_path / "out")], pipeline_env(site))
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert summary["transferred"]["uploaded"] == 2
    assert [e["key"] for e in summary["errors"]] == ["population/nation_population.json"]
    assert "404" in summary["errors"][0]["error"]
    # the BLS file changed and the population did not arrive: the report waits for it, so the BLS notification
    # is acknowledged (nothing is dead-lettered, no alarm) and the population's own notification will bring it
    assert summary["reports_produced"] == 0
    relay = summary["relay"]
    assert (relay["failed"], relay["dead_letters"], relay["left_on_queue"]) == (0, [], 0)
    assert proc.stderr.strip().splitlines()[-1].startswith("dataquest run: error: ")


def test_the_embedded_run_closes_the_http_client_it_opened(
    site: BlsSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from dataquest.config import Settings
    from dataquest.http import client as httpclient
    from dataquest.local import embedded

    publish(site, small_tree())
    opened: list[httpx.Client] = []
    build = httpclient.build_client

    def recording(user_agent: str, **kw: object) -> httpx.Client:
        opened.append(build(user_agent))
        return opened[-1]

    monkeypatch.setattr(httpclient, "build_client", recording)
    settings = Settings.from_env(pipeline_env(site))
    result = embedded.run(settings, tmp_path / "out")
    assert result.ok, result.errors
    assert len(opened) == 1
    assert opened[0].is_closed  # was left open before the App owned it


def test_run_on_an_existing_endpoint_and_bucket_leaves_its_objects_there(site: BlsSite, tmp_path: Path) -> None:
    import boto3

    from tests.support.aws import moto_process

    tree = small_tree()
    publish(site, tree)
    with moto_process() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="existing")
        env = pipeline_env(site, AWS_ENDPOINT_URL=endpoint, DQ_BUCKET="existing", AWS_DEFAULT_REGION="us-east-1")
        first = run_cli(["run", "--json", "--out", str(tmp_path / "one")], env)
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stdout)
        assert summary["ingest"]["uploaded"] + summary["transferred"]["uploaded"] == 2
        assert summary["reports_produced"] == 1
        # the command has exited: what it wrote is still there
        for path, body in tree.files.items():
            assert s3.get_object(Bucket="existing", Key=f"bls/{path}")["Body"].read() == body
        latest = s3.get_object(Bucket="existing", Key="reports/latest/report.json")["Body"].read()
        assert latest == (tmp_path / "one" / "report.json").read_bytes()
        check_report(json.loads(latest), tree)

        again = run_cli(["run", "--json", "--out", str(tmp_path / "two")], env)  # idempotent: nothing to do
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert second["ingest"]["uploaded"] + second["transferred"]["uploaded"] == 0
        assert second["relay"]["received"] == 0  # no change, no notification (and no second test event)
        assert (tmp_path / "two" / "report.json").read_bytes() == latest

        shown = run_cli(["status", "--json"], {"AWS_ENDPOINT_URL": endpoint, "DQ_BUCKET": "existing"})
        assert shown.returncode == 0, shown.stderr
        state = json.loads(shown.stdout)
        assert len(state["runs"]) == 2
        counts = [(r["files_planned"], r["files_done"], r["files_pending"]) for r in state["runs"]]
        assert counts == [(0, 0, 0), (2, 2, 0)]  # newest first: the no-op run planned nothing
        assert state["mirror"]["surveys"] == [
            {"survey": "pr", "objects": 2, "bytes": sum(len(b) for b in tree.files.values())}
        ]
        assert state["report"]["inputs"] == json.loads(latest)["inputs"]
        assert state["report"]["folder"] in summary["reports"]


def test_run_on_an_existing_endpoint_refuses_a_missing_bucket(site: BlsSite, tmp_path: Path) -> None:
    from tests.support.aws import moto_process

    publish(site, small_tree())
    with moto_process() as endpoint:
        args = ["run", "--json", "--out", str(tmp_path / "out"), "--endpoint-url", endpoint, "--bucket", "nope"]
        proc = run_cli(args, pipeline_env(site, AWS_DEFAULT_REGION="us-east-1"))
    assert proc.returncode == cli.EXIT_USAGE
    assert json.loads(proc.stdout)["error"].startswith("the bucket 'nope' does not exist at this endpoint")
    assert site.requests == []  # refused before anything reached the source
    assert not (tmp_path / "out").exists()


def test_run_resumes_a_file_bigger_than_one_invocation(
    site: BlsSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a transfer time limit as small as the handler's margin, every part boundary is near the limit: the
    big file goes over three invocations (two continuations the run drains too), and arrives whole."""
    pytest.importorskip("dataquest.handlers.transfer", reason="the transfer handler comes with wip/fanout")
    import boto3

    from dataquest.config import Settings
    from dataquest.local import embedded
    from dataquest.ops import status
    from tests.support.aws import moto_server

    tree = small_tree()
    publish(site, tree)
    big = bytes(range(256)) * (20 * 4096)  # 20 MiB: three 8 MiB parts (not a pr.* name: the lake reads no binary)
    site.put("pr/big.bin", big)
    monkeypatch.setattr(embedded, "TRANSFER_FUNCTION_TIMEOUT", 60)
    with moto_server() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="resumed")
        env = pipeline_env(site, AWS_ENDPOINT_URL=endpoint, DQ_BUCKET="resumed")
        result = embedded.run(Settings.from_env(env), tmp_path / "out")
        assert result.ok, result.errors
        assert s3.get_object(Bucket="resumed", Key="bls/pr/big.bin")["Body"].read() == big
        assert (result.transferred.uploaded, result.transferred.resumed, result.transferred.bytes) == (
            3,
            2,
            len(big) + sum(len(b) for b in tree.files.values()),
        )
        # the big file alone, the two small ones in one message, then the big file's two continuations
        assert (result.transfers.received, result.transfers.deleted, result.transfers.left_on_queue) == (4, 4, 0)
        assert result.transfers.dead_letters == []
        newest = status.collect(s3, "resumed").runs[0]
        assert (newest.files_planned, newest.files_done, newest.files_pending, newest.files_failed) == (3, 3, 0, 0)
        assert newest.slowest[0].key == "bls/pr/big.bin"
        assert newest.slowest[0].bytes == len(big)
    check_report(json.loads((tmp_path / "out" / "report.json").read_text()), tree)
