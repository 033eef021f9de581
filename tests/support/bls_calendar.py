"""A generated BLS release calendar (iCalendar, RFC 5545) in the shape of https://www.bls.gov/schedule/news_release/bls.ics.

``ics(events)`` writes a VCALENDAR with a VTIMEZONE and one VEVENT per :class:`Event`: a ``date`` is an all-day
event (``DTSTART;VALUE=DATE``), an aware ``datetime`` in UTC is written ``...Z``, any other aware one as its local
time under ``TZID`` (BLS's times are US Eastern). Lines longer than 75 octets are folded (CRLF, then a space), as
RFC 5545 asks; ``raw`` events are written verbatim (a malformed entry). ``BlsSite.put_calendar`` serves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Event:
    title: str
    start: datetime | date
    uid: str = ""
    tzid: str = "America/New_York"


def eastern(year: int, month: int, day: int, hour: int = 8, minute: int = 30) -> datetime:
    """A BLS release time: Eastern local time (8:30 AM by default)."""
    return datetime(year, month, day, hour, minute, tzinfo=EASTERN)


def fold(line: str, width: int = 75) -> str:
    """``line`` folded at ``width`` octets: CRLF and a space before each continuation."""
    data = line.encode("utf-8")
    parts = [data[:width]]
    data = data[width:]
    while data:
        parts.append(b" " + data[: width - 1])
        data = data[width - 1 :]
    return "\r\n".join(p.decode("utf-8") for p in parts)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def vevent(event: Event, index: int) -> list[str]:
    if isinstance(event.start, datetime):
        if event.start.tzinfo is UTC:
            start = f"DTSTART:{event.start:%Y%m%dT%H%M%S}Z"
        else:
            start = f"DTSTART;TZID={event.tzid}:{event.start.astimezone(ZoneInfo(event.tzid)):%Y%m%dT%H%M%S}"
    else:
        start = f"DTSTART;VALUE=DATE:{event.start:%Y%m%d}"
    uid = event.uid or f"release-{index}@bls.gov"
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", start, f"SUMMARY:{_escape(event.title)}",
            "DESCRIPTION:" + _escape(f"{event.title}: the release, its tables and its data, at 8:30 a.m. Eastern"),
            "END:VEVENT"]  # fmt: skip


HEADER = """BEGIN:VCALENDAR VERSION:2.0 PRODID:-//Bureau_of_Labor_Statistics//Release_Calendar//EN BEGIN:VTIMEZONE
TZID:America/New_York BEGIN:STANDARD DTSTART:19701101T020000 TZOFFSETFROM:-0400 TZOFFSETTO:-0500 END:STANDARD
END:VTIMEZONE"""


def ics(events: Iterable[Event], *, raw: Iterable[str] = ()) -> bytes:
    """The calendar of ``events`` (and ``raw`` VEVENT blocks, verbatim), CRLF line ends, long lines folded."""
    lines = HEADER.split()
    for index, event in enumerate(events):
        lines += vevent(event, index)
    text = "\r\n".join(fold(line) for line in lines)
    for block in raw:
        text += "\r\n" + block.strip().replace("\n", "\r\n")
    return (text + "\r\nEND:VCALENDAR\r\n").encode("utf-8")


DEFAULT_EVENTS = (
    Event("New Year's Day", date(2020, 1, 1)),
    Event("Employment Situation for December 2019", eastern(2020, 1, 10)),
)
"""What a stand-in serves unless told otherwise: a valid calendar with nothing recent (so nothing is due)."""
