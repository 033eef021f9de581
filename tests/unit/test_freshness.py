"""Freshness as an objective: which releases are due, which surveys are stale (at the hour's boundary, across
daylight saving), the report's age, and the ingest run that mirrors the calendar and reports it all (the summary,
the StaleSurveys metric with the environment's dimension, one warning per stale survey)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dataquest import log
from dataquest.app import App
from dataquest.bls.calendar import Release
from dataquest.config import BLS_DATA_KEY, POPULATION_KEY, Settings
from dataquest.ingest import IngestFailedError, run_ingest
from dataquest.ops import freshness
from dataquest.ops.freshness import REPORT_KEY, latest_due, release_map, release_name, report_staleness, stale_surveys
from tests.support.bls_calendar import Event, eastern
from tests.support.bls_site import BlsSite
from tests.unit.test_report import POPULATION

BUCKET = "freshness-bucket"
PR = Release("Productivity and Costs (R) for Third Quarter 2026", eastern(2026, 12, 3).astimezone(UTC))
MAP = {"productivity and costs": ("pr",), "employment situation": ("ce", "ln")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_release_names_map_to_survey_folders_and_the_map_is_partial() -> None:
    assert release_name("Productivity and Costs (R) for Third Quarter 2026") == "productivity and costs"
    assert release_name("State Employment and Unemployment (Monthly) for October 2026") == (
        "state employment and unemployment"
    )
    mapping = release_map()
    assert mapping["employment situation"] == ("ce", "ln")
    assert mapping["consumer price index"] == ("cu", "cw")
    assert mapping["productivity and costs"] == ("pr",)
    assert "union members" not in mapping  # unmapped: counted, not checked


def test_a_release_is_due_exactly_at_its_time_plus_the_hours() -> None:
    due_at = PR.start + timedelta(hours=24)  # 2026-12-04 13:30 UTC (8:30 EST + 24 h)
    assert due_at == at("2026-12-04T13:30:00+00:00")
    assert latest_due([PR], MAP, due_at - timedelta(seconds=1), 24)[:3] == ({}, 0, 0)
    assert latest_due([PR], MAP, due_at, 24)[:3] == ({"pr": PR}, 1, 0)


def test_a_survey_is_stale_unless_it_changed_at_or_after_the_release() -> None:
    due = {"pr": PR}
    changed = {"pr": PR.start - timedelta(seconds=1), "ce": None}  # ce: no release due, never stale
    [stale] = stale_surveys(due, changed, 24)
    assert (stale.survey, stale.release, stale.released_at, stale.due_at, stale.last_changed) == (
        "pr",
        PR.title,
        "2026-12-03T13:30:00+00:00",
        "2026-12-04T13:30:00+00:00",
        "2026-12-03T13:29:59+00:00",
    )
    assert stale_surveys(due, {"pr": PR.start}, 24) == []  # changed at the release's time: fresh
    assert [s.last_changed for s in stale_surveys(due, {"pr": None}, 24)] == [None]  # never mirrored: stale


def test_hours_are_elapsed_hours_across_a_daylight_saving_change() -> None:
    # 8:30 EST on Friday 2026-03-06 (13:30 UTC); DST begins on Sunday 2026-03-08; 72 h later is 9:30 EDT Monday.
    friday = Release("Employment Situation for February 2026", eastern(2026, 3, 6).astimezone(UTC))
    assert friday.start == at("2026-03-06T13:30:00+00:00")
    monday = at("2026-03-09T13:30:00+00:00")
    assert latest_due([friday], MAP, monday - timedelta(minutes=1), 72)[0] == {}
    due, mapped, unmapped, errors = latest_due([friday], MAP, monday, 72)
    assert (sorted(due), mapped, unmapped, errors) == (["ce", "ln"], 1, 0, [])
    # After the change, 8:30 EDT is 12:30 UTC.
    assert eastern(2026, 3, 9).astimezone(UTC) == at("2026-03-09T12:30:00+00:00")


def test_the_latest_due_release_wins_and_old_or_unmapped_ones_are_not_checked() -> None:
    now = at("2026-12-10T00:00:00+00:00")
    older = Release("Productivity and Costs for Second Quarter 2026", now - timedelta(days=30))
    ancient = Release("Employment Situation for May 2026", now - freshness.RECENT - timedelta(hours=1))
    union = Release("Union Members for 2025", now - timedelta(days=2))
    due, mapped, unmapped, _ = latest_due([older, PR, ancient, union], MAP, now, 24)
    assert (due, mapped, unmapped) == ({"pr": PR}, 2, 1)


def test_an_entry_that_throws_is_that_entrys_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = freshness.release_name

    def picky(title: str) -> str:
        if title.startswith("Bad"):
            raise RuntimeError("cannot name it")
        return real(title)

    monkeypatch.setattr(freshness, "release_name", picky)
    bad = Release("Bad release", PR.start)
    due, mapped, _, errors = latest_due([bad, PR], MAP, PR.start + timedelta(days=2), 24)
    assert (due, mapped) == ({"pr": PR}, 1)
    assert [(e.path, "RuntimeError: cannot name it" in e.error) for e in errors] == [("'Bad release'", True)]


def test_the_report_is_stale_when_older_than_an_input_changed_hours_ago() -> None:
    now = at("2026-12-10T12:00:00+00:00")
    data_changed = now - timedelta(hours=25)
    written = {
        REPORT_KEY: now - timedelta(hours=30),
        BLS_DATA_KEY: data_changed,
        POPULATION_KEY: now - timedelta(days=9),
    }
    stale = report_staleness(written, now, 24)
    assert stale is not None
    assert (stale.input_key, stale.input_changed_at) == (BLS_DATA_KEY, data_changed.isoformat())
    assert report_staleness({**written, REPORT_KEY: data_changed}, now, 24) is None  # made from that change
    assert report_staleness(written, now, 26) is None  # still within the hours
    assert report_staleness({**written, POPULATION_KEY: None}, now, 24) is None  # an input missing: no report yet
    assert report_staleness({**written, REPORT_KEY: None}, now, 24) is not None  # none made at all


@pytest.fixture
def site() -> Iterator[BlsSite]:
    with BlsSite() as running:
        running.put("pr/pr.class", b"class\r\n")
        running.put("ce/ce.txt", b"ce\r\n")
        running.serve("/tesseract/data.jsonrecords", POPULATION)
        yield running


def ingest_app(site: BlsSite, s3: Any, metrics: io.StringIO) -> App:
    settings = Settings(
        bucket=BUCKET,
        contact="ops@example.org",
        surveys=("pr", "ce"),
        bls_base_url=site.base_url,
        population_url=site.url("/tesseract/data.jsonrecords"),
        request_interval=0,
        calendar_url=site.calendar_url,
    )
    return App(settings, s3=s3, metrics_stream=metrics)


def test_the_ingest_run_mirrors_the_calendar_and_reports_a_stale_survey(
    site: BlsSite, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    site.put_calendar(
        [
            Event("Productivity and Costs for Third Quarter 2026", now - timedelta(hours=30)),  # pr: mirrored now
            Event("Employment Situation for November 2026", now - timedelta(hours=48)),  # ce: its listing fails
            Event("Union Members for 2025", now - timedelta(hours=30)),  # unmapped
        ],
        raw=["BEGIN:VEVENT\nUID:odd\nDTSTART:soon\nSUMMARY:Odd\nEND:VEVENT"],
    )
    site.fail("/pub/time.series/ce/", 403, times=None)
    monkeypatch.setenv("DQ_ENVIRONMENT", "prod")
    metrics, logs = io.StringIO(), io.StringIO()
    log.setup("INFO", stream=logs, json_lines=True)
    with ingest_app(site, s3, metrics) as app, pytest.raises(IngestFailedError) as failed:
        run_ingest(app)
    fresh = failed.value.summary.freshness
    assert fresh is not None
    [error] = failed.value.summary.errors  # the survey's failure only: a refused calendar entry is not the run's
    assert error.where.endswith("/pub/time.series/ce/")
    assert (fresh.checked, fresh.releases_due, fresh.unmapped, len(fresh.refused)) == (True, 2, 1, 1)
    assert [(s.survey, s.release, s.last_changed) for s in fresh.stale] == [
        ("ce", "Employment Situation for November 2026", None)
    ]
    assert fresh.calendar is not None
    assert fresh.calendar.written is True
    assert s3.get_object(Bucket=BUCKET, Key="calendar/bls.ics")["Body"].read() == site.data_of(
        "/schedule/news_release/bls.ics"
    )

    emf = json.loads(metrics.getvalue())
    assert (emf["StaleSurveys"], emf["StaleReport"], emf["Environment"], emf["Function"]) == (1, 0, "prod", "ingest")
    assert ["Environment", "Function"] in [sorted(d) for d in emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"]]
    [line] = [json.loads(x) for x in logs.getvalue().splitlines() if '"survey stale"' in x]
    assert (line["survey"], line["release"], line["level"]) == ("ce", "Employment Situation for November 2026", "WARN")
    assert "dataquest ingest --survey ce" in line["action"]


def test_without_a_calendar_url_nothing_is_fetched_and_no_survey_datapoint_is_emitted(site: BlsSite, s3: Any) -> None:
    metrics = io.StringIO()
    with App(replace_calendar(ingest_app(site, s3, metrics).settings), s3=s3, metrics_stream=metrics) as app:
        summary = run_ingest(app)
    assert summary.freshness is not None
    assert (summary.freshness.checked, summary.freshness.calendar_url) == (False, None)
    assert site.count("/schedule/news_release/bls.ics") == 0
    emf = json.loads(metrics.getvalue())
    assert "StaleSurveys" not in emf  # no calendar: no datapoint, the alarm keeps its state
    assert emf["StaleReport"] == 0


def replace_calendar(settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(settings, calendar_url=None)
