"""BLS's release calendar: the iCalendar parser on generated files (all-day and timed events, time zones, folded
lines, a malformed entry), and its mirror into S3 through the paced client and the local BLS stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from dataquest.app import App
from dataquest.bls.calendar import CALENDAR_KEY, calendar_url, mirror_calendar, parse_calendar, read_calendar, unfold
from dataquest.config import DEFAULT_BLS_BASE_URL, Settings
from dataquest.errors import SourceError, ValidationError
from tests.support.bls_calendar import Event, eastern, ics
from tests.support.bls_site import CALENDAR_PATH, BlsSite

BUCKET = "calendar-bucket"
CONTACT = "ops@example.org"
MALFORMED = """BEGIN:VEVENT
UID:broken@bls.gov
DTSTART;TZID=America/New_York:20261231T250000
SUMMARY:Consumer Price Index for November 2026
END:VEVENT"""


def parse(body: bytes) -> Any:
    return parse_calendar(body, source="test.ics")


def test_timed_events_in_eastern_time_are_read_as_utc_across_daylight_saving() -> None:
    calendar = parse(
        ics(
            [
                Event("Employment Situation for November 2026", eastern(2026, 12, 4)),
                Event("Consumer Price Index for June 2026", eastern(2026, 7, 14)),
            ]
        )
    )
    # 8:30 EST is 13:30 UTC in December; 8:30 EDT is 12:30 UTC in July.
    assert [(r.title, r.start, r.all_day) for r in calendar.releases] == [
        ("Employment Situation for November 2026", datetime(2026, 12, 4, 13, 30, tzinfo=UTC), False),
        ("Consumer Price Index for June 2026", datetime(2026, 7, 14, 12, 30, tzinfo=UTC), False),
    ]
    assert calendar.errors == ()


def test_all_day_utc_floating_and_unknown_zone_events() -> None:
    raw = [
        "BEGIN:VEVENT\nUID:u1\nDTSTART:20261110T150000Z\nSUMMARY:Real Earnings for October 2026\nEND:VEVENT",
        "BEGIN:VEVENT\nUID:u2\nDTSTART:20260309T083000\nSUMMARY:Floating\\, Eastern\nEND:VEVENT",
        "BEGIN:VEVENT\nUID:u3\nDTSTART;TZID=US-Eastern:20260306T083000\nSUMMARY:Named zone\nEND:VEVENT",
        "BEGIN:VEVENT\nUID:u4\nDTSTART;TZID=Europe/Paris:20260306T083000\nSUMMARY:Paris\nEND:VEVENT",
    ]
    calendar = parse(ics([Event("Labor Day", date(2026, 9, 7))], raw=raw))
    assert [(r.title, r.start.isoformat(), r.all_day) for r in calendar.releases] == [
        ("Labor Day", "2026-09-07T04:00:00+00:00", True),  # the day's start, Eastern (EDT)
        ("Real Earnings for October 2026", "2026-11-10T15:00:00+00:00", False),
        ("Floating, Eastern", "2026-03-09T12:30:00+00:00", False),  # the day after DST began: EDT
        ("Named zone", "2026-03-06T13:30:00+00:00", False),  # a TZID the system does not know: Eastern
        ("Paris", "2026-03-06T07:30:00+00:00", False),
    ]


def test_folded_lines_are_joined_before_reading() -> None:
    title = "Productivity and Costs (R) for Third Quarter 2026, " + "revised " * 12
    body = ics([Event(title.strip(), eastern(2026, 12, 3))])
    assert b"\r\n " in body  # the generator folded the long line
    assert parse(body).releases[0].title == " ".join(title.split())
    assert unfold("A:one\r\n two\r\n\tthree\r\nB:x") == ["A:onetwothree", "B:x"]


def test_a_malformed_entry_is_that_entrys_error_and_the_others_are_read() -> None:
    calendar = parse(
        ics([Event("Productivity and Costs for Third Quarter 2026", eastern(2026, 12, 3))], raw=[MALFORMED])
    )
    assert [r.title for r in calendar.releases] == ["Productivity and Costs for Third Quarter 2026"]
    [error] = calendar.errors
    assert error.path == "broken@bls.gov"
    assert "DTSTART '20261231T250000' is not a real date or time" in error.error


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>Access Denied</html>", "not an iCalendar file"),
        (b"\xff\xfe", "not UTF-8"),
        (ics([], raw=[MALFORMED]), r"no readable event \(1 refused\)"),
        (ics([], raw=["BEGIN:VEVENT\nDTSTART:20260101\nEND:VEVENT"]), "no readable event"),
    ],
)
def test_a_file_that_is_not_a_calendar_is_refused_whole(body: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=f"test.ics: .*{message}"):
        parse(body)


def test_the_calendar_url_is_blss_own_only_for_the_default_base_url() -> None:
    assert calendar_url(Settings()) == "https://www.bls.gov/schedule/news_release/bls.ics"
    assert calendar_url(Settings(bls_base_url="http://127.0.0.1:9/pub/time.series/")) is None
    given = Settings.from_env({"DQ_BLS_CALENDAR_URL": "http://127.0.0.1:9/bls.ics"})
    assert (given.calendar_url, calendar_url(given), given.bls_base_url) == (
        "http://127.0.0.1:9/bls.ics",
        "http://127.0.0.1:9/bls.ics",
        DEFAULT_BLS_BASE_URL,
    )


@pytest.fixture
def site() -> Iterator[BlsSite]:
    with BlsSite() as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    """The pacer's and the retries' waits, recorded instead of slept (App's ``sleep`` seam)."""
    return []


@pytest.fixture
def app(site: BlsSite, s3: Any, waits: list[float]) -> Iterator[App]:
    settings = Settings(bucket=BUCKET, contact=CONTACT, bls_base_url=site.base_url, calendar_url=site.calendar_url)
    with App(settings, s3=s3, sleep=waits.append) as built:
        yield built


def versions(s3: Any) -> int:
    return len(s3.list_object_versions(Bucket=BUCKET, Prefix=CALENDAR_KEY).get("Versions", []))


def test_the_calendar_is_mirrored_through_the_paced_client_once_and_only_when_it_changed(
    site: BlsSite, app: App, s3: Any, waits: list[float]
) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    body = site.put_calendar([Event("Productivity and Costs for Third Quarter 2026", eastern(2026, 12, 3))])
    first = mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url)
    again = mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url)
    assert (first.written, again.written, first.events, first.key) == (True, False, 1, "calendar/bls.ics")
    assert s3.get_object(Bucket=BUCKET, Key=CALENDAR_KEY)["Body"].read() == body
    assert versions(s3) == 1  # the unchanged day wrote nothing
    gets = [r for r in site.requests if r.path == CALENDAR_PATH]
    assert len(gets) == 2
    assert all(CONTACT in r.user_agent for r in gets)  # the User-Agent carries the contact, as BLS asks
    assert app.bls_fetcher.min_interval == app.settings.request_interval  # the run's one pacer
    assert waits, "the second GET was not held back by the pacer"
    assert all(0 < w <= app.settings.request_interval for w in waits)
    site.put_calendar([Event("Productivity and Costs for Fourth Quarter 2026", eastern(2027, 2, 4))])
    assert mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url).written is True
    assert versions(s3) == 2
    calendar = read_calendar(s3, BUCKET)
    assert calendar is not None
    assert [r.title for r in calendar.releases] == ["Productivity and Costs for Fourth Quarter 2026"]


def test_a_broken_calendar_never_replaces_a_good_one(site: BlsSite, app: App, s3: Any) -> None:
    good = site.put_calendar()
    mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url)
    site.put(CALENDAR_PATH, b"<html>Service Unavailable</html>", content_type="text/html")
    with pytest.raises(ValidationError, match="not an iCalendar file"):
        mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url)
    site.fail(CALENDAR_PATH, 404)
    with pytest.raises(SourceError, match=r"404 .*check DQ_BLS_CALENDAR_URL"):
        mirror_calendar(app.bls_fetcher, s3, BUCKET, site.calendar_url)
    assert s3.get_object(Bucket=BUCKET, Key=CALENDAR_KEY)["Body"].read() == good
