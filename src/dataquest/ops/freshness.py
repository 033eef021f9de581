"""Data freshness as an objective: a survey BLS released must change in the mirror within ``DQ_FRESHNESS_HOURS``.

The daily-success alarm shows that the ingest function ran; this shows that what it mirrors is current. At the end
of each ingest run (:func:`check_freshness`) the release calendar is mirrored (:mod:`dataquest.bls.calendar`) and
read back, and:

- each release is mapped to the survey folders it updates by ``releases.json`` (a partial map: a release it does not
  name is counted as ``unmapped`` and not checked);
- a release is *due* once its time plus ``DQ_FRESHNESS_HOURS`` has passed, and is considered while it is recent
  (:data:`RECENT`): for each mirrored survey, its latest due release is the one checked;
- a survey is **stale** when none of its objects under ``bls/<survey>/`` changed (S3's ``LastModified``, what the
  mirror's listing records) since that release's time; a survey whose changed files this run sent to the transfer
  queue counts as changed now (they land minutes later; a failed transfer is the transfer alarms' to report);
- the **report** is stale when one of its inputs changed more than ``DQ_FRESHNESS_HOURS`` ago and
  ``reports/latest/report.json`` is older than that change.

Each stale survey is one WARNING line (``survey stale``: the survey, the release, and what to do); the counts are
the ``StaleSurveys`` and ``StaleReport`` metrics (:func:`dataquest.ingest.emit_metrics`), which Terraform alarms on.
A calendar that cannot be fetched is an error of the run (the stored one is still used); one event that cannot be
read or evaluated is that event's error, never the run's.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.calendar import (
    CALENDAR_KEY,
    Calendar,
    CalendarResult,
    Release,
    calendar_url,
    mirror_calendar,
    read_calendar,
)
from dataquest.config import BLS_DATA_KEY, BLS_PREFIX, LATEST_REPORT_PREFIX, POPULATION_KEY, is_survey_name
from dataquest.documents import ItemError
from dataquest.errors import DataQuestError, StorageError, error_line
from dataquest.storage import aws_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.app import App

logger = log.get(__name__)

RECENT = timedelta(days=35)
"""A due release is checked for this long after its time: every monthly release, and a missed quarterly one for a
month (then the survey's next release takes over)."""
REPORT_KEY = f"{LATEST_REPORT_PREFIX}report.json"
ACTION = (
    "see `dataquest status` and the ingest runs since the release, BLS's survey folder and the transfer dead-letter "
    "queue; once the cause is fixed, `dataquest ingest --survey {survey}` mirrors it now"
)


@dataclass(frozen=True, kw_only=True)
class StaleSurvey:
    """A survey whose mirror did not change within the freshness hours of its latest due release."""

    survey: str
    release: str
    released_at: str
    due_at: str
    last_changed: str | None


@dataclass(frozen=True, kw_only=True)
class StaleReport:
    """The latest report is older than an input that changed more than the freshness hours ago."""

    key: str
    written_at: str | None
    input_key: str
    input_changed_at: str


@dataclass(kw_only=True)
class Freshness:
    """What :func:`check_freshness` found: part of the ingest summary (``freshness``)."""

    hours: int
    calendar_url: str | None
    calendar: CalendarResult | None = None
    checked: bool = False  # False: no calendar to check against (none configured, none stored yet)
    releases_due: int = 0
    unmapped: int = 0
    stale: list[StaleSurvey] = field(default_factory=list)
    report: StaleReport | None = None
    refused: list[ItemError] = field(default_factory=list)  # calendar events not read or evaluated: logged, skipped
    errors: list[ItemError] = field(default_factory=list)  # the calendar not fetched or not read: the run's errors


def release_map() -> dict[str, tuple[str, ...]]:
    """``releases.json``: a release's name (as :func:`release_name` makes it) => the survey folders it updates."""
    text = resources.files("dataquest.ops").joinpath("releases.json").read_text("utf-8")
    found: dict[str, list[str]] = json.loads(text)["releases"]
    bad = [s for surveys in found.values() for s in surveys if not is_survey_name(s)]
    if bad:
        raise DataQuestError(f"dataquest/ops/releases.json: {bad} are not survey folder names: fix the map")
    return {release_name(name): tuple(surveys) for name, surveys in found.items()}


def release_name(title: str) -> str:
    """A release's name from its title: the part before `` for ``, without ``(...)`` marks, any case.
    ``"Productivity and Costs (R) for Third Quarter 2026"`` -> ``"productivity and costs"``."""
    name = re.sub(r"\([^)]*\)", " ", title.split(" for ", 1)[0])
    return " ".join(name.split()).casefold()


def latest_due(
    releases: Iterable[Release], mapping: Mapping[str, tuple[str, ...]], now: datetime, hours: int
) -> tuple[dict[str, Release], int, int, list[ItemError]]:
    """For each survey the map names, its latest release due at ``now`` (time + ``hours`` passed) and recent; the
    number of due releases mapped and unmapped; one error per release that could not be evaluated."""
    latest: dict[str, Release] = {}
    mapped = unmapped = 0
    errors: list[ItemError] = []
    for release in releases:
        try:
            if not now - RECENT <= release.start <= now - timedelta(hours=hours):
                continue
            surveys = mapping.get(release_name(release.title), ())
            mapped, unmapped = (mapped + 1, unmapped) if surveys else (mapped, unmapped + 1)
            for survey in surveys:
                if survey not in latest or latest[survey].start < release.start:
                    latest[survey] = release
        except Exception as exc:  # noqa: BLE001 - one calendar entry's failure is that entry's error
            errors.append(ItemError(path=repr(release.title)[:80], error=f"{CALENDAR_KEY}: {error_line(exc)}"))
    return latest, mapped, unmapped, errors


def stale_surveys(due: Mapping[str, Release], changed: Mapping[str, datetime | None], hours: int) -> list[StaleSurvey]:
    """The surveys of ``changed`` (the mirrored ones: their last change, ``None`` for none) not changed since the
    time of their latest due release."""
    stale = []
    for survey, last in sorted(changed.items()):
        release = due.get(survey)
        if release is not None and (last is None or last < release.start):
            stale.append(
                StaleSurvey(
                    survey=survey,
                    release=release.title,
                    released_at=release.start.isoformat(),
                    due_at=(release.start + timedelta(hours=hours)).isoformat(),
                    last_changed=None if last is None else last.isoformat(),
                )
            )
    return stale


def report_staleness(written: Mapping[str, datetime | None], now: datetime, hours: int) -> StaleReport | None:
    """The report is stale when an input (``written``: the report's inputs' and the report's own last change)
    changed more than ``hours`` ago and the report is older than that change; never while an input is missing."""
    report = written.get(REPORT_KEY)
    inputs = [(at, key) for key, at in written.items() if key != REPORT_KEY]
    if not inputs or any(at is None for at, _ in inputs):  # an input missing: no report can be made yet
        return None
    changed, key = max((at, key) for at, key in inputs if at is not None)
    if changed + timedelta(hours=hours) > now or (report is not None and report >= changed):
        return None
    return StaleReport(
        key=REPORT_KEY,
        written_at=None if report is None else report.isoformat(),
        input_key=key,
        input_changed_at=changed.isoformat(),
    )


def last_modified(s3: S3Client, bucket: str, prefix: str, *, exact: bool = False) -> datetime | None:
    """The newest ``LastModified`` of the objects under ``prefix`` (or of the key ``prefix`` itself)."""
    newest: datetime | None = None
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if (not exact or item["Key"] == prefix) and (newest is None or item["LastModified"] > newest):
                    newest = item["LastModified"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing s3://{bucket}/{prefix} failed: {aws_error(exc)}", key=prefix) from exc
    return newest


def check_freshness(
    app: App, surveys: Iterable[str], *, sending: Iterable[str] = (), now: datetime | None = None
) -> Freshness:
    """Mirror the calendar, then check each mirrored survey of ``surveys`` and the report (see the module's doc).
    A survey of ``sending`` (this run sent its changed files to the transfer queue) counts as changed now: its
    files land minutes later, and a transfer that fails is the transfer alarms' to report."""
    now = now or datetime.now(UTC)
    bucket, s3, hours = app.settings.require_bucket(), app.s3, app.settings.freshness_hours
    result = Freshness(hours=hours, calendar_url=calendar_url(app.settings))
    written = {k: last_modified(s3, bucket, k, exact=True) for k in (REPORT_KEY, BLS_DATA_KEY, POPULATION_KEY)}
    result.report = report_staleness(written, now, hours)
    calendar = _calendar(app, bucket, result)
    if calendar is not None:
        result.checked = True
        due, result.releases_due, result.unmapped, skipped = latest_due(calendar.releases, release_map(), now, hours)
        result.refused += [*calendar.errors, *skipped]
        sent = set(sending)
        changed = {
            s: now if s in sent else last_modified(s3, bucket, f"{BLS_PREFIX}{s}/") for s in dict.fromkeys(surveys)
        }
        result.stale = stale_surveys(due, changed, hours)
    for refused in result.refused:
        log.event(logger, "calendar event skipped", level=logging.WARNING, event=refused.where, error=refused.error)
    for stale in result.stale:
        log.event(
            logger, "survey stale", level=logging.WARNING, **vars(stale), action=ACTION.format(survey=stale.survey)
        )
    if result.report is not None:
        log.event(logger, "report stale", level=logging.WARNING, **vars(result.report), action=_REPORT_ACTION)
    log.event(logger, "freshness", checked=result.checked, stale=len(result.stale), report_stale=bool(result.report))
    return result


_REPORT_ACTION = "see the report function's log group and the report queue's dead-letter queue, then redrive it"


def _calendar(app: App, bucket: str, result: Freshness) -> Calendar | None:
    """Mirror the calendar when a URL is known (its failure is one error of ``result``), then read the stored one."""
    if result.calendar_url is not None:
        try:
            result.calendar = mirror_calendar(app.bls_fetcher, app.s3, bucket, result.calendar_url)
        except Exception as exc:  # noqa: BLE001 - the calendar's failure; the stored calendar is still checked
            result.errors.append(ItemError(key=CALENDAR_KEY, error=_logged(exc)))
    try:
        return read_calendar(app.s3, bucket)
    except Exception as exc:  # noqa: BLE001 - a stored calendar that cannot be read: an error, freshness unchecked
        result.errors.append(ItemError(key=CALENDAR_KEY, error=_logged(exc)))
        return None


def _logged(exc: Exception) -> str:
    line = error_line(exc)
    log.event(logger, "calendar failed", level=logging.ERROR, error=line)
    return line
