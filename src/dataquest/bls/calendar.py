"""BLS's release calendar: read the iCalendar file BLS publishes, and mirror it into S3 like any file.

BLS publishes its news-release schedule as one iCalendar file (``https://www.bls.gov/schedule/news_release/bls.ics``;
"all times on calendar are Eastern Time"). :func:`parse_calendar` reads the parts of RFC 5545 that file uses:
folded lines (a line that starts with a space or a tab continues the one before), ``VEVENT`` blocks, ``SUMMARY``
(text escapes undone) and ``DTSTART`` in its three forms: a date (``VALUE=DATE``: an all-day event, taken from the
start of its day in US Eastern time), a UTC time (``...Z``), and a local time (with a ``TZID``: that zone when the
system knows it, else US Eastern, as BLS says; with none, a floating time: US Eastern). One event that cannot be read
is that event's error (counted, logged, skipped); a file that is not a calendar, or that has no event at all, is
refused whole.

:func:`mirror_calendar` fetches it through the run's paced :class:`~dataquest.http.client.Fetcher` (its User-Agent
carries the contact), refuses it unless it parses, and writes it to ``calendar/bls.ics`` in one ``PutObject`` only
when its SHA-256 differs from the stored one: never half-written, unchanged days write nothing, and a broken
calendar never replaces a good one. :func:`read_calendar` reads the stored one back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dataquest import log, storage
from dataquest.config import DEFAULT_BLS_BASE_URL, LAYOUT, META_URL, Settings
from dataquest.documents import ItemError
from dataquest.errors import SourceError, ValidationError
from dataquest.http.sources import Source

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.http.client import Fetcher

logger = log.get(__name__)

BLS_CALENDAR_URL = "https://www.bls.gov/schedule/news_release/bls.ics"
CALENDAR_KEY = f"{LAYOUT['prefixes']['calendar']}bls.ics"
MAX_CALENDAR_BYTES = 5 * 1024 * 1024  # BLS's file is a few hundred kB
EASTERN = ZoneInfo("America/New_York")  # BLS: "all times on calendar are Eastern Time"
CALENDAR = Source(
    name="BLS's release calendar",
    on_403="BLS refuses requests without a contact address in the User-Agent; set DQ_CONTACT to a real address",
    on_404="check DQ_BLS_CALENDAR_URL (BLS's is https://www.bls.gov/schedule/news_release/bls.ics)",
    on_unreachable="check DQ_BLS_CALENDAR_URL and the network; the stored calendar is used meanwhile",
)
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")
_ESCAPES = {"\\\\": "\\", "\\,": ",", "\\;": ";", "\\n": " ", "\\N": " "}


@dataclass(frozen=True)
class Release:
    """One event of the calendar: its title (``SUMMARY``), when it starts (aware, UTC), whether it is all-day."""

    title: str
    start: datetime
    all_day: bool = False


@dataclass(frozen=True)
class Calendar:
    """The events read, and one error per event that could not be read (``path``: its UID, or its place)."""

    releases: tuple[Release, ...]
    errors: tuple[ItemError, ...] = ()


@dataclass(frozen=True)
class CalendarResult:
    """What :func:`mirror_calendar` did: the key, whether it wrote, the file's SHA-256, events read and refused."""

    key: str
    written: bool
    sha256: str
    events: int
    refused_events: int


def calendar_url(settings: Settings) -> str | None:
    """``DQ_BLS_CALENDAR_URL``; unset, BLS's own calendar when the mirror reads BLS itself (the default
    ``DQ_BLS_BASE_URL``), else none: a stand-in or another mirror names its calendar, or freshness is not checked."""
    if settings.calendar_url:
        return settings.calendar_url
    return BLS_CALENDAR_URL if settings.bls_base_url == DEFAULT_BLS_BASE_URL else None


def unfold(text: str) -> list[str]:
    """The content lines of ``text``: a line starting with a space or a tab continues the one before (RFC 5545)."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def parse_calendar(body: bytes, *, source: str) -> Calendar:
    """The events of an iCalendar file; :class:`ValidationError` naming ``source`` when it is not one, or has no
    readable event. An event that cannot be read is that event's error, in :attr:`Calendar.errors`."""
    try:
        lines = unfold(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{source}: the calendar is not UTF-8 (bad byte at offset {exc.start})") from exc
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        start = repr(lines[0][:40]) if lines else "nothing"
        raise ValidationError(f"{source}: not an iCalendar file (it starts with {start}, not BEGIN:VCALENDAR)")
    releases: list[Release] = []
    errors: list[ItemError] = []
    for index, event in enumerate(_events(lines)):
        try:
            releases.append(_release(event))
        except ValidationError as exc:
            where = event.get("UID", (None, ""))[1] or f"event {index + 1}"
            errors.append(ItemError(path=where, error=f"{source}: {where}: {exc}"))
    if not releases:
        raise ValidationError(f"{source}: the calendar has no readable event ({len(errors)} refused); kept the last")
    return Calendar(releases=tuple(releases), errors=tuple(errors))


def _events(lines: list[str]) -> list[dict[str, tuple[dict[str, str], str]]]:
    """Each ``VEVENT``'s properties: name => (parameters, value); the first of a repeated property wins."""
    events: list[dict[str, tuple[dict[str, str], str]]] = []
    current: dict[str, tuple[dict[str, str], str]] | None = None
    for line in lines:
        head, sep, value = line.partition(":")
        name, *params = head.split(";")
        name = name.strip().upper()
        if (name, value.strip().upper()) == ("BEGIN", "VEVENT"):
            current = {}
        elif (name, value.strip().upper()) == ("END", "VEVENT") and current is not None:
            events.append(current)
            current = None
        elif current is not None and sep and name not in current:
            pairs = (p.partition("=") for p in params)
            current[name] = ({k.strip().upper(): v.strip().strip('"') for k, _, v in pairs}, value)
    return events


def _release(event: dict[str, tuple[dict[str, str], str]]) -> Release:
    if "SUMMARY" not in event or not event["SUMMARY"][1].strip():
        raise ValidationError("no SUMMARY: the release is not named")
    if "DTSTART" not in event:
        raise ValidationError("no DTSTART: the release has no time")
    title = re.sub(r"\\[\\,;nN]", lambda m: _ESCAPES[m.group(0)], event["SUMMARY"][1]).strip()
    start, all_day = parse_start(*event["DTSTART"])
    return Release(title=" ".join(title.split()), start=start, all_day=all_day)


def parse_start(params: dict[str, str], value: str) -> tuple[datetime, bool]:
    """A ``DTSTART`` as an aware UTC time, and whether it is a date (an all-day event: its day's start, Eastern)."""
    text = value.strip()
    if (day := _DATE.match(text)) and params.get("VALUE", "DATE").upper() == "DATE":
        found = _checked(lambda: datetime.combine(date(*map(int, day.groups())), time(), EASTERN), text)
        return found.astimezone(UTC), True
    if not (moment := _DATETIME.match(text)):
        raise ValidationError(f"DTSTART {text[:40]!r} is not a date (YYYYMMDD) or a time (YYYYMMDDTHHMMSS[Z])")
    year, month, dom, hour, minute, second = (int(g) for g in moment.groups()[:6])
    zone = UTC if moment.group(7) else _zone(params.get("TZID"))
    found = _checked(lambda: datetime(year, month, dom, hour, minute, second, tzinfo=zone), text)
    return found.astimezone(UTC), False


def _checked(make: Callable[[], datetime], text: str) -> datetime:
    try:
        return make()
    except ValueError as exc:  # 20260231, 25:00
        raise ValidationError(f"DTSTART {text!r} is not a real date or time ({exc})") from exc


def _zone(tzid: str | None) -> ZoneInfo:
    """The zone a ``TZID`` names when the system knows it, else US Eastern (BLS's times, whatever it calls them)."""
    if tzid:
        try:
            return ZoneInfo(tzid)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return EASTERN


def mirror_calendar(fetcher: Fetcher, s3: S3Client, bucket: str, url: str) -> CalendarResult:
    """GET ``url``, refuse it unless it is a calendar, and store it at ``calendar/bls.ics`` when it changed."""
    try:
        body = fetcher.get(url, max_bytes=MAX_CALENDAR_BYTES, source=CALENDAR).content
    except SourceError as exc:
        if exc.status is not None and 200 <= exc.status < 300:  # the fetcher's size cap
            raise ValidationError(
                f"GET {url}: the calendar is over {MAX_CALENDAR_BYTES} bytes; check DQ_BLS_CALENDAR_URL; kept the last"
            ) from exc
        raise
    calendar = parse_calendar(body, source=f"GET {url}")
    digest = hashlib.sha256(body).hexdigest()
    stored = storage.head(s3, bucket, CALENDAR_KEY)
    written = stored is None or stored.metadata.get("sha256") != digest
    if written:
        meta = {META_URL: log.redact(url).encode("ascii", "backslashreplace").decode("ascii")[:1024]}
        storage.put_bytes(s3, bucket, CALENDAR_KEY, body, content_type="text/calendar", metadata=meta)
    log.event(logger, "calendar stored" if written else "calendar unchanged", key=CALENDAR_KEY, sha256=digest)
    return CalendarResult(CALENDAR_KEY, written, digest, len(calendar.releases), len(calendar.errors))


def read_calendar(s3: S3Client, bucket: str) -> Calendar | None:
    """The stored calendar (``None`` when there is none yet)."""
    got = storage.get_bytes(s3, bucket, CALENDAR_KEY)
    return None if got is None else parse_calendar(got[0], source=f"s3://{bucket}/{CALENDAR_KEY}")
