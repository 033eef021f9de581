"""The ingest job: mirror every configured BLS survey into S3, then fetch the population; what the Lambda runs.

With ``DQ_TRANSFER_QUEUE_URL`` set it is the fan-out's planner: it plans every survey as the sync does (lease,
listing, guards, clock checks, deletes) and sends the uploads to the transfer queue
(:mod:`dataquest.bls.transfer.messages`), for :mod:`dataquest.handlers.transfer` to make.

:func:`run_ingest` is the job the ingest handler, ``dataquest ingest`` and the embedded run share. A failed
survey, or a sync that fails whole (a held lease, a bug), does not stop the population fetch; every error is
merged into one :class:`IngestSummary`, which is logged and emitted as metrics, and then, if there was any
error, raised in an :class:`IngestFailedError`, so that a schedule's retry policy and
dead-letter queue see the failure. Nothing here imports polars.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from dataquest import log
from dataquest.bls.summary import SyncSummary
from dataquest.bls.sync import sync_surveys
from dataquest.bls.transfer.executors import InProcess, ToQueue
from dataquest.config import BLS_PREFIX, LAYOUT, POPULATION_KEY
from dataquest.documents import ItemError, first_error, to_document
from dataquest.errors import DataQuestError, error_line
from dataquest.ops.freshness import Freshness, check_freshness
from dataquest.population import PopulationResult, fetch_population

if TYPE_CHECKING:
    from dataquest.app import App

logger = log.get(__name__)

CALENDAR_PREFIX: str = LAYOUT["prefixes"]["calendar"]
METRIC_UNITS = {"BytesDownloaded": "Bytes", "BytesUploaded": "Bytes", "DurationMs": "Milliseconds"}


@dataclass(frozen=True, kw_only=True)
class PopulationFailure:
    """The population step's failure, in the summary's ``population`` place: ``{"key", "error"}``."""

    key: str = POPULATION_KEY
    error: str


@dataclass
class IngestSummary(SyncSummary):
    """The ingest summary: the ``sync-bls`` document (the sync's own fields, in their order), then
    ``population``: the ``fetch-population`` document, or its failure, then ``freshness``
    (:mod:`dataquest.ops.freshness`). ``errors`` holds the sync's, the population's and the calendar's. A
    scheduled run is never a dry run: ``dry_run`` and ``plan`` stay out of the document."""

    population: PopulationResult | PopulationFailure | None = None
    freshness: Freshness | None = None

    @classmethod
    def of_sync(cls, sync: SyncSummary) -> IngestSummary:
        return cls(**{f.name: getattr(sync, f.name) for f in fields(SyncSummary)})


def run_ingest(app: App) -> IngestSummary:
    """Sync every survey of ``app.settings``, then fetch the population (even after a failed sync).

    Raises :class:`~dataquest.errors.ConfigurationError` before any request when the bucket or the contact is
    missing, and :class:`IngestFailedError` (holding the summary) after everything is done
    when any step had an error; returns the summary otherwise.
    """
    bucket = app.settings.require_bucket()
    fetcher, s3 = app.bls_fetcher, app.s3  # a missing DQ_CONTACT fails here, before any request
    queue_url = app.settings.transfer_queue_url  # set: plan here, transfer in the transfer function (the fan-out)
    executor = ToQueue(app.sqs, queue_url) if queue_url else InProcess.of(app.settings, fetcher)
    try:
        summary = IngestSummary.of_sync(sync_surveys(app.settings, fetcher, s3, executor=executor))
    except Exception as exc:  # noqa: BLE001 - the whole sync failed (a held lease, a bug): still fetch the population
        error = _logged(exc)
        log.event(logger, "sync failed", level=logging.ERROR, error=error)
        summary = IngestSummary(surveys=list(app.settings.surveys), errors=[ItemError(key=BLS_PREFIX, error=error)])
    try:
        summary.population = fetch_population(fetcher, s3, bucket, app.settings.population_url)
    except Exception as exc:  # noqa: BLE001 - the population's error, reported with the sync's, never a lost summary
        summary.population = PopulationFailure(error=_logged(exc))
        summary.errors.append(ItemError(key=POPULATION_KEY, error=summary.population.error))
    try:  # last: the mirror as this run left it; stale surveys are metrics and warnings, not errors of the run
        sending = [s for s, planned in summary.planned.items() if planned.files]
        summary.freshness = check_freshness(app, summary.surveys, sending=sending)
        summary.errors += summary.freshness.errors
    except Exception as exc:  # noqa: BLE001 - freshness unchecked is this run's error, never a lost summary
        summary.errors.append(ItemError(key=CALENDAR_PREFIX, error=_logged(exc)))
    emit_metrics(summary, app)
    log.event(logger, "ingest summary", **to_document(summary))
    if summary.errors:
        raise IngestFailedError(summary)
    return summary


class IngestFailedError(DataQuestError):
    """Some part of the ingest job failed; ``summary`` holds everything the run did reach.

    Raised after everything is done (and logged, and its metrics emitted), so that the schedule's retry policy
    and dead-letter queue see the failure."""

    def __init__(self, summary: IngestSummary) -> None:
        super().__init__(f"ingest finished with {first_error(summary.errors)}")
        self.summary = summary


def _logged(exc: Exception) -> str:
    """:func:`~dataquest.errors.error_line`, with the traceback logged when it is a bug (not a DataQuestError)."""
    if not isinstance(exc, DataQuestError):
        logger.error("unexpected failure", exc_info=exc)
    return error_line(exc)


def emit_metrics(summary: IngestSummary, app: App) -> None:
    written = isinstance(summary.population, PopulationResult) and summary.population.written
    fresh = summary.freshness
    freshness = {} if fresh is None else {"StaleReport": int(fresh.report is not None)}
    if fresh is not None and fresh.checked:  # no calendar yet: no StaleSurveys datapoint (the alarm keeps its state)
        freshness["StaleSurveys"] = len(fresh.stale)
    log.emit_metrics(
        {
            "FilesSeen": summary.files_seen,
            "FilesUploaded": summary.uploaded,
            "FilesDeleted": summary.deleted,
            "BytesDownloaded": summary.bytes_downloaded,
            "BytesUploaded": summary.bytes_uploaded,
            "DurationMs": summary.duration_ms,
            "Errors": len(summary.errors),
            "PopulationWritten": int(written),
            **freshness,
        },
        units=METRIC_UNITS,
        dimensions={"Function": "ingest"},
        stream=app.metrics_stream,
    )
