"""The ingest Lambda: on a schedule, mirror every configured BLS survey into S3, then fetch the population.

``handler(event, context)`` returns the summary: the ``sync-bls`` document plus ``population`` (the
``fetch-population`` document). A failed survey does not stop the others nor the population fetch, but the
invocation then raises :class:`IngestFailedError` after everything is done (and logged, and its metrics
emitted), so that the schedule's retry policy and dead-letter queue see the failure.

Settings and clients are built once per container, on the first call (or handed in by :func:`configure`, as
``dataquest run`` does). Nothing here imports polars.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from dataquest import log
from dataquest.bls.sync import SyncSummary, failure, sync_surveys
from dataquest.config import BLS_PREFIX, POPULATION_KEY, Settings
from dataquest.documents import ItemError, to_document
from dataquest.errors import DataQuestError
from dataquest.events import parse_schedule_event
from dataquest.httpclient import Fetcher, build_client
from dataquest.population import fetch_population
from dataquest.storage import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

METRIC_UNITS = {"BytesDownloaded": "Bytes", "BytesUploaded": "Bytes", "DurationMs": "Milliseconds"}


class IngestFailedError(DataQuestError):
    """Some part of the run failed; ``summary`` holds everything the run did reach."""

    def __init__(self, summary: dict[str, Any]) -> None:
        errors = summary.get("errors", [])
        first = errors[0] if errors else {}
        where = first.get("path") or first.get("key") or "?"
        super().__init__(f"ingest finished with {len(errors)} error(s); first: {where}: {first.get('error', '?')}")
        self.summary = summary


@dataclass(frozen=True)
class Resources:
    """What one container builds once: settings, the S3 client, the HTTP fetcher, where metrics go."""

    settings: Settings
    s3: S3Client
    fetcher: Fetcher
    metrics_stream: TextIO | None = None


_resources: Resources | None = None


def configure(resources: Resources | None = None) -> Resources:
    """Use ``resources`` (``dataquest run``), or build them from the environment once (Lambda)."""
    global _resources  # noqa: PLW0603 - one set of clients per container, by design
    if resources is not None:
        _resources = resources
    elif _resources is None:
        log.setup()
        settings = Settings.from_env()
        settings.require_bucket()
        fetcher = Fetcher(build_client(settings.user_agent()), min_interval=settings.request_interval)
        _resources = Resources(settings, s3_client(settings), fetcher)
    return _resources


def handler(event: Any, context: Any) -> dict[str, Any]:
    res = configure()
    bucket = res.settings.require_bucket()
    with log.invocation(context):
        schedule = parse_schedule_event(event)
        log.event(logger, "ingest start", source=schedule.source, scheduled_time=schedule.time, bucket=bucket)
        try:
            summary: dict[str, Any] = to_document(sync_surveys(res.settings, res.fetcher, res.s3))
        except Exception as exc:  # noqa: BLE001 - the whole sync failed (a held lease, a bug): still fetch the population
            summary = _failed_sync(res.settings, exc)
        try:
            summary["population"] = fetch_population(
                res.fetcher, res.s3, bucket, res.settings.population_url
            ).to_document()
        except Exception as exc:  # noqa: BLE001 - the population's error, reported with the sync's, never a lost summary
            error = _describe(exc)
            summary["population"] = {"key": POPULATION_KEY, "error": error}
            summary["errors"] = [*summary["errors"], {"key": POPULATION_KEY, "error": error}]
        _emit(summary, res.metrics_stream)
        log.event(logger, "ingest summary", **summary)
        if summary["errors"]:
            raise IngestFailedError(summary)
        return summary


def _describe(exc: Exception) -> str:
    """A DataQuestError's own message; anything else (a bug) as ``unexpected <type>: <message>``, traceback logged."""
    if isinstance(exc, DataQuestError):
        return failure(exc)
    logger.error("unexpected failure", exc_info=exc)
    return f"unexpected {failure(exc)}"


def _failed_sync(settings: Settings, exc: Exception) -> dict[str, Any]:
    error = _describe(exc)
    log.event(logger, "sync failed", level=40, error=error)
    failed = SyncSummary(surveys=list(settings.surveys), errors=[ItemError(key=BLS_PREFIX, error=error)])
    doc: dict[str, Any] = to_document(failed)
    return doc


def _emit(summary: dict[str, Any], stream: TextIO | None) -> None:
    population = summary["population"]
    log.emit_metrics(
        {
            "FilesSeen": summary["files_seen"],
            "FilesUploaded": summary["uploaded"],
            "FilesDeleted": summary["deleted"],
            "BytesDownloaded": summary["bytes_downloaded"],
            "BytesUploaded": summary["bytes_uploaded"],
            "DurationMs": summary["duration_ms"],
            "Errors": len(summary["errors"]),
            "PopulationWritten": int(bool(population.get("written"))),
        },
        units=METRIC_UNITS,
        dimensions={"Function": "ingest"},
        stream=stream or sys.stdout,
    )
