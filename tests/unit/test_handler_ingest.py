"""The ingest handler over moto's S3 and a BLS / DataUSA stand-in (httpx.MockTransport): what it stores, returns,
logs, emits and raises. Every expected value comes from the stand-in's files, never from a fake of the core."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dataquest import ingest as ingest_job
from dataquest import log
from dataquest.app import App
from dataquest.bls.summary import SUMMARY_KEYS
from dataquest.config import POPULATION_KEY, Settings
from dataquest.errors import ConfigurationError
from dataquest.handlers import ingest
from dataquest.ingest import IngestFailedError
from dataquest.local.invoke import LambdaContext
from tests.conftest import EVENTS
from tests.support.bls_site import BlsSite
from tests.unit.test_report import POPULATION

BUCKET = "ingest-bucket"
BASE = "https://download.bls.gov/pub/time.series/"
POPULATION_URL = "https://pop.example.test/data"
FILES = {"pr/pr.class": b"class\r\n", "pr/pr.series": b"series\r\n", "ce/ce.txt": b"ce text\r\n"}


def context() -> LambdaContext:
    """The ingest function's Lambda context for one invocation."""
    return LambdaContext("dataquest-ingest", aws_request_id="req-1234")


class Sources:
    """BLS (a BlsSite's listings and files) and the population API, answered in process; ``status`` fails a path."""

    def __init__(self) -> None:
        self.site = BlsSite()
        for path, data in FILES.items():
            self.site.put(path, data)
        self.site.put_calendar()  # at www.bls.gov's path: the default DQ_BLS_BASE_URL's calendar
        self.status: dict[str, int] = {}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append(str(request.url))
        if path in self.status:
            return httpx.Response(self.status[path])
        if str(request.url) == POPULATION_URL:
            return httpx.Response(200, content=POPULATION)
        if path.endswith("/"):
            return httpx.Response(200, content=self.site.listing(path))
        if path in self.site.files:
            return httpx.Response(200, content=self.site.data_of(path))
        return httpx.Response(404)


@dataclass
class Wired:
    app: App
    sources: Sources
    s3: Any
    metrics: io.StringIO
    logs: io.StringIO
    waits: list[float]  # the Fetcher's waits between retries, recorded instead of slept

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))

    def emf(self) -> dict[str, Any]:
        line: dict[str, Any] = json.loads(self.metrics.getvalue())  # exactly one line
        return line


@pytest.fixture
def wired(s3: Any) -> Iterator[Wired]:
    sources = Sources()
    settings = Settings(
        bucket=BUCKET,
        contact="me@example.org",
        surveys=("pr", "ce"),
        bls_base_url=BASE,
        population_url=POPULATION_URL,
        request_interval=0,
    )
    metrics, logs = io.StringIO(), io.StringIO()
    http = httpx.Client(transport=httpx.MockTransport(sources))
    log.setup("INFO", stream=logs, json_lines=True)
    waits: list[float] = []
    with App(settings, s3=s3, http=http, metrics_stream=metrics, sleep=waits.append) as app:
        yield Wired(app, sources, s3, metrics, logs, waits)


def test_a_scheduled_run_mirrors_every_survey_then_stores_the_population(wired: Wired) -> None:
    event = json.loads((EVENTS / "schedule-rule.json").read_text())
    got = ingest.handler(event, context(), app=wired.app)

    assert wired.keys("bls/") == ["bls/ce/ce.txt", "bls/pr/pr.class", "bls/pr/pr.series"]
    stored = wired.s3.get_object(Bucket=BUCKET, Key=POPULATION_KEY)["Body"].read()
    assert stored == POPULATION
    assert (got["surveys"], got["uploaded"], got["errors"]) == (["pr", "ce"], 3, [])
    assert got["bytes_uploaded"] == sum(len(d) for d in FILES.values())
    assert got["population"]["key"] == POPULATION_KEY
    assert got["population"]["written"] is True
    assert tuple(got) == (*SUMMARY_KEYS, "population", "freshness")  # the sync-bls document, population, freshness
    assert (got["freshness"]["checked"], got["freshness"]["stale"], got["freshness"]["calendar"]["written"]) == (
        True,
        [],
        True,
    )

    emf = wired.emf()
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DataQuest"
    assert {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "FilesSeen": "Count",
        "FilesUploaded": "Count",
        "FilesDeleted": "Count",
        "BytesDownloaded": "Bytes",
        "BytesUploaded": "Bytes",
        "DurationMs": "Milliseconds",
        "Errors": "Count",
        "PopulationWritten": "Count",
        "StaleReport": "Count",
        "StaleSurveys": "Count",
    }
    assert (emf["FilesUploaded"], emf["FilesDeleted"], emf["Errors"], emf["PopulationWritten"]) == (3, 0, 0, 1)
    assert (emf["BytesUploaded"], emf["Function"]) == (sum(len(d) for d in FILES.values()), "ingest")

    lines = [json.loads(line) for line in wired.logs.getvalue().splitlines()]
    messages = [line["message"] for line in lines]
    assert messages[0] == "ingest start"
    assert messages[-1] == "ingest summary"
    assert lines[0]["source"] == "aws.events"
    assert all(line["request_id"] == "req-1234" for line in lines if line["message"].startswith("ingest"))
    assert log.request_id.get() is None  # not left behind for the next invocation


def test_a_second_run_writes_nothing_and_says_so_in_its_metrics(wired: Wired) -> None:
    ingest.handler({}, context(), app=wired.app)
    wired.metrics.truncate(0)
    wired.metrics.seek(0)
    got = ingest.handler({}, context(), app=wired.app)
    assert (got["uploaded"], got["skipped"], got["population"]["written"]) == (0, 3, False)
    assert (wired.emf()["FilesUploaded"], wired.emf()["PopulationWritten"]) == (0, 0)


def test_a_failed_survey_still_stores_the_population_then_raises(wired: Wired) -> None:
    wired.sources.status["/pub/time.series/ce/"] = 500
    with pytest.raises(IngestFailedError, match=r"1 error\(s\); first: https://download.bls.gov/.*ce/") as info:
        ingest.handler({}, context(), app=wired.app)
    assert wired.sources.seen.count(BASE + "ce/") == 1 + len(wired.waits) == 5  # the 500 was retried, then failed
    assert wired.keys("bls/") == ["bls/pr/pr.class", "bls/pr/pr.series"]  # the other survey was mirrored
    assert wired.keys("population/") == [POPULATION_KEY]
    assert info.value.summary.uploaded == 2
    assert wired.emf()["Errors"] == 1


def test_a_failed_population_fetch_fails_the_invocation_and_keeps_the_mirror(wired: Wired) -> None:
    wired.sources.status["/data"] = 404
    with pytest.raises(IngestFailedError, match=POPULATION_KEY) as info:
        ingest.handler({}, context(), app=wired.app)
    summary = info.value.summary
    assert [e.key for e in summary.errors] == [POPULATION_KEY]
    assert "404" in summary.errors[0].error
    assert wired.keys("bls/") == ["bls/ce/ce.txt", "bls/pr/pr.class", "bls/pr/pr.series"]
    assert wired.keys("population/") == []
    emf = wired.emf()
    assert (emf["Errors"], emf["PopulationWritten"], emf["FilesUploaded"]) == (1, 0, 3)


def test_a_sync_that_fails_whole_still_stores_the_population(wired: Wired, monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(*a: object, **k: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(ingest_job, "sync_surveys", buggy)
    with pytest.raises(IngestFailedError, match="bls/: unexpected ZeroDivisionError") as info:
        ingest.handler({}, context(), app=wired.app)
    assert wired.keys("population/") == [POPULATION_KEY]
    assert (info.value.summary.surveys, info.value.summary.files_seen) == (["pr", "ce"], 0)


def test_a_bug_in_the_population_fetch_is_its_error_and_the_summary_is_kept(
    wired: Wired, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy(*a: object) -> None:
        raise KeyError("Population")

    monkeypatch.setattr(ingest_job, "fetch_population", buggy)
    with pytest.raises(IngestFailedError) as info:
        ingest.handler({}, context(), app=wired.app)
    assert [(e.key, e.error) for e in info.value.summary.errors] == [
        (POPULATION_KEY, "unexpected KeyError: 'Population'")
    ]
    assert wired.keys("bls/pr/") == ["bls/pr/pr.class", "bls/pr/pr.series"]
    assert wired.emf()["Errors"] == 1  # and the metrics were still emitted


def test_the_container_app_comes_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.container_app.cache_clear()
    monkeypatch.setenv("DQ_BUCKET", "env-bucket")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    try:
        first = ingest.container_app()
        assert first.settings.bucket == "env-bucket"
        assert "ops@example.org" in first.http.headers["User-Agent"]
        monkeypatch.setenv("DQ_BUCKET", "other")
        assert ingest.container_app() is first
    finally:
        ingest.container_app.cache_clear()


@pytest.mark.parametrize(("unset", "named"), [("DQ_BUCKET", "DQ_BUCKET"), ("DQ_CONTACT", "DQ_CONTACT")])
def test_missing_settings_fail_naming_the_variable(monkeypatch: pytest.MonkeyPatch, unset: str, named: str) -> None:
    ingest.container_app.cache_clear()
    monkeypatch.setenv("DQ_BUCKET", "b")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.delenv(unset)
    try:
        with pytest.raises(ConfigurationError, match=named):
            ingest.handler({}, context())
    finally:
        ingest.container_app.cache_clear()


def test_importing_the_ingest_handler_does_not_import_polars() -> None:
    code = "import sys, dataquest.handlers.ingest; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
