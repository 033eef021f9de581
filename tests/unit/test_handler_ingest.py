"""The ingest handler over fakes of the core functions: what it calls, returns, logs, emits and raises."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from dataquest import log
from dataquest.bls.sync import SyncSummary
from dataquest.config import POPULATION_KEY, Settings
from dataquest.documents import ItemError
from dataquest.errors import ConfigurationError, LeaseHeldError, SourceError
from dataquest.handlers import ingest
from tests.conftest import EVENTS


def FakeSummary(errors: list[dict[str, str]] | None = None) -> SyncSummary:
    return SyncSummary(
        surveys=["pr", "ce"],
        files_seen=12,
        uploaded=3,
        skipped=9,
        deleted=1,
        bytes_downloaded=4000,
        bytes_uploaded=3000,
        duration_ms=250,
        errors=[ItemError.from_document(e) for e in errors or []],
    )


@dataclass
class FakePopulation:
    def to_document(self) -> dict[str, Any]:
        return {"key": POPULATION_KEY, "written": True, "sha256": "ab" * 32, "rows": 10}


@dataclass
class Context:
    aws_request_id: str = "req-1234"


class Calls:
    def __init__(self) -> None:
        self.order: list[str] = []


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> tuple[Calls, io.StringIO, io.StringIO]:
    calls = Calls()
    metrics, logs = io.StringIO(), io.StringIO()
    settings = Settings(bucket="bkt", contact="me@example.org", surveys=("pr", "ce"))
    monkeypatch.setattr(ingest, "_resources", None)
    ingest.configure(ingest.Resources(settings, s3=object(), fetcher=object(), metrics_stream=metrics))  # type: ignore[arg-type]
    log.setup("INFO", stream=logs, json_lines=True)

    def sync(settings_: Settings, fetcher: object, s3: object, **kw: Any) -> SyncSummary:
        calls.order.append(f"sync:{','.join(settings_.surveys)}")
        return FakeSummary()

    def population(fetcher: object, s3: object, bucket: str, url: str) -> FakePopulation:
        calls.order.append(f"population:{bucket}")
        return FakePopulation()

    monkeypatch.setattr(ingest, "sync_surveys", sync)
    monkeypatch.setattr(ingest, "fetch_population", population)
    return calls, metrics, logs


def test_scheduled_event_syncs_then_fetches_and_returns_the_summary(
    wired: tuple[Calls, io.StringIO, io.StringIO],
) -> None:
    calls, metrics, logs = wired
    event = json.loads((EVENTS / "schedule-rule.json").read_text())
    got = ingest.handler(event, Context())
    assert calls.order == ["sync:pr,ce", "population:bkt"]
    assert got["uploaded"] == 3
    assert got["errors"] == []
    assert got["population"] == FakePopulation().to_document()

    emf = json.loads(metrics.getvalue())
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
    }
    assert (emf["FilesSeen"], emf["FilesUploaded"], emf["FilesDeleted"], emf["Errors"]) == (12, 3, 1, 0)
    assert (emf["BytesDownloaded"], emf["DurationMs"], emf["Function"]) == (4000, 250, "ingest")

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["ingest start", "ingest summary"]
    assert all(line["request_id"] == "req-1234" for line in lines)
    assert lines[0]["source"] == "aws.events"
    assert log.request_id.get() is None  # not left behind for the next invocation


def test_a_failed_survey_still_fetches_the_population_then_raises(
    wired: tuple[Calls, io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, metrics, _ = wired
    failing = FakeSummary(errors=[{"path": "ce/ce.series", "error": "GET ... answered 500"}])
    monkeypatch.setattr(ingest, "sync_surveys", lambda *a, **k: calls.order.append("sync") or failing)
    with pytest.raises(ingest.IngestFailedError, match=r"1 error\(s\); first: ce/ce.series") as info:
        ingest.handler({}, Context())
    assert calls.order == ["sync", "population:bkt"]
    assert info.value.summary["population"]["written"] is True
    assert json.loads(metrics.getvalue())["Errors"] == 1


def test_a_failed_population_fetch_fails_the_invocation(
    wired: tuple[Calls, io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, metrics, _ = wired

    def broken(*a: object) -> None:
        raise SourceError("GET https://pop.example/ answered 503", url="https://pop.example/")

    monkeypatch.setattr(ingest, "fetch_population", broken)
    with pytest.raises(ingest.IngestFailedError) as info:
        ingest.handler({}, Context())
    summary = info.value.summary
    assert summary["errors"] == [{"key": POPULATION_KEY, "error": "GET https://pop.example/ answered 503"}]
    assert summary["population"]["error"].endswith("503")
    assert summary["uploaded"] == 3  # what the sync did is kept
    emf = json.loads(metrics.getvalue())
    assert (emf["Errors"], emf["PopulationWritten"]) == (1, 0)


def test_a_sync_that_fails_whole_still_fetches_the_population(
    wired: tuple[Calls, io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, _, _ = wired

    def held(*a: object, **k: object) -> None:
        raise LeaseHeldError("another sync holds bls/pr/.lease", key="bls/pr/.lease")

    monkeypatch.setattr(ingest, "sync_surveys", held)
    with pytest.raises(ingest.IngestFailedError, match="another sync holds") as info:
        ingest.handler({}, Context())
    assert calls.order == ["population:bkt"]
    assert info.value.summary["surveys"] == ["pr", "ce"]
    assert info.value.summary["files_seen"] == 0


def test_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "_resources", None)
    monkeypatch.setenv("DQ_BUCKET", "env-bucket")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    first = ingest.configure()
    assert first.settings.bucket == "env-bucket"
    assert "ops@example.org" in first.fetcher.client.headers["User-Agent"]
    monkeypatch.setenv("DQ_BUCKET", "other")
    assert ingest.configure() is first


@pytest.mark.parametrize(("unset", "named"), [("DQ_BUCKET", "DQ_BUCKET"), ("DQ_CONTACT", "DQ_CONTACT")])
def test_missing_settings_fail_naming_the_variable(monkeypatch: pytest.MonkeyPatch, unset: str, named: str) -> None:
    monkeypatch.setattr(ingest, "_resources", None)
    monkeypatch.setenv("DQ_BUCKET", "b")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.delenv(unset)
    with pytest.raises(ConfigurationError, match=named):
        ingest.handler({}, Context())


def test_importing_the_ingest_handler_does_not_import_polars() -> None:
    code = "import sys, dataquest.handlers.ingest; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_bug_in_the_population_fetch_is_its_error_and_the_summary_is_kept(
    wired: tuple[Calls, io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, metrics, _ = wired

    def buggy(*a: object) -> None:
        raise KeyError("Population")

    monkeypatch.setattr(ingest, "fetch_population", buggy)
    with pytest.raises(ingest.IngestFailedError) as info:
        ingest.handler({}, Context())
    summary = info.value.summary
    assert summary["errors"] == [{"key": POPULATION_KEY, "error": "unexpected KeyError: 'Population'"}]
    assert summary["uploaded"] == 3  # what the sync did is kept
    assert json.loads(metrics.getvalue())["Errors"] == 1  # and the metrics were still emitted


def test_a_bug_in_the_sync_still_fetches_the_population(
    wired: tuple[Calls, io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, _, _ = wired

    def buggy(*a: object, **k: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(ingest, "sync_surveys", buggy)
    with pytest.raises(ingest.IngestFailedError, match="unexpected ZeroDivisionError") as info:
        ingest.handler({}, Context())
    assert calls.order == ["population:bkt"]
    assert info.value.summary["population"] == FakePopulation().to_document()
