"""The transfer function's work for one message of the transfer queue: what :mod:`dataquest.handlers.transfer`
runs for each record.

For each file of the message: HEAD the object; when it records the message's size and listing timestamp (the
plan's own skip rule, :func:`dataquest.bls.plan.decide`) it is skipped, so a redelivered message costs a HEAD per
file and no download. Otherwise the file is transferred (:class:`dataquest.bls.transfer.resume.ResumableJob`, the
sync's streaming code); near the time limit a large file pauses and a continuation message goes back to the
transfer queue. Each file's outcome (``upload``, ``skip``, ``resumed`` or ``error``, with ``ms`` and ``bytes``)
is one JSON line of ``_logs/ingest/<run_id>/transfers/<message id>.jsonl``.

A malformed message, a URL outside the survey's folder, or any file's error fails that record only; SQS
delivers it again (then to the transfer dead-letter queue), and the files already done are skipped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from dataquest import log
from dataquest.bls.links import survey_url, within
from dataquest.bls.mirror import read_object
from dataquest.bls.plan import decide, mirror_prefix, source_metadata
from dataquest.bls.transfer.messages import JobFile, TransferMessage, check_message_id, outcome_key, parse_message
from dataquest.bls.transfer.resume import Finished, ResumableJob
from dataquest.bls.transfer.upload import TransferConfig, abort_upload
from dataquest.documents import OMIT_EMPTY, to_document
from dataquest.errors import ConfigurationError, DataQuestError, ValidationError, error_line
from dataquest.events import SqsMessage
from dataquest.http.client import Fetcher
from dataquest.storage import put_bytes

if TYPE_CHECKING:
    from dataquest.app import App

logger = log.get(__name__)

MARGIN_MS = 60_000
"""A transfer with less than this left of its invocation pauses at the next part boundary."""


@dataclass(frozen=True)
class FileOutcome:
    """One file's outcome: a line of the message's outcome object, and of the transfer function's log."""

    event: Literal["upload", "skip", "resumed", "error"]
    survey: str
    path: str
    key: str
    ms: int
    bytes: int
    size: int
    message_id: str
    sha256: str | None = field(default=None, metadata=OMIT_EMPTY)
    offset: int | None = field(default=None, metadata=OMIT_EMPTY)
    error: str | None = field(default=None, metadata=OMIT_EMPTY)


@dataclass
class Tally:
    """An invocation's counts, emitted as its metrics (CloudWatch Embedded Metric Format)."""

    uploaded: int = 0
    skipped: int = 0
    resumed: int = 0
    errors: int = 0
    bytes_downloaded: int = 0

    def add(self, outcomes: list[FileOutcome]) -> None:
        for o in outcomes:
            self.uploaded += o.event == "upload"
            self.skipped += o.event == "skip"
            self.resumed += o.event == "resumed"
            self.errors += o.event == "error"
            self.bytes_downloaded += o.bytes

    def metrics(self) -> dict[str, int]:
        return {
            "FilesUploaded": self.uploaded,
            "FilesSkipped": self.skipped,
            "FilesResumed": self.resumed,
            "Errors": self.errors,
            "BytesDownloaded": self.bytes_downloaded,
        }


@dataclass(frozen=True)
class Transfers:
    """What one transfer container works with: its clients, the pacing of its own, the time left."""

    app: App
    fetcher: Fetcher
    remaining_ms: Callable[[], int]
    margin_ms: int = MARGIN_MS
    config: TransferConfig | None = None
    tally: Tally = field(default_factory=Tally)

    @classmethod
    def of(cls, app: App, context: Any, **options: Any) -> Transfers:
        """The transfer container's clients (:attr:`App.transfer_fetcher`: paced at ``DQ_REQUEST_INTERVAL *
        DQ_TRANSFER_STREAMS``) and the invocation's clock."""
        fetcher = app.transfer_fetcher
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return cls(app, fetcher, remaining if callable(remaining) else (lambda: 15 * 60_000), **options)

    def near_limit(self) -> bool:
        return self.remaining_ms() < self.margin_ms


def run_record(transfers: Transfers, record: SqsMessage) -> bool:
    """One SQS record; False (the record fails, SQS delivers it again) on a malformed message or any file's error."""
    try:
        _check_record(record)
        message = parse_message(record.body, transfers.app.settings.bls_base_url)
        outcomes = [_one(transfers, message, f, record.message_id) for f in message.files]
    except Exception as exc:  # noqa: BLE001 - whatever a record holds, it fails alone, never the batch
        fields = {"message_id": record.message_id, "error": error_line(exc)}
        log.event(logger, "transfer record failed", level=logging.ERROR, **fields)
        transfers.tally.errors += 1
        return False
    transfers.tally.add(outcomes)
    _write_outcomes(transfers, message.run_id, record.message_id, outcomes)
    return all(o.event != "error" for o in outcomes)


def _check_record(record: SqsMessage) -> None:
    """A record that is not an SQS record, or whose id could not name its outcome object, before any request."""
    if record.error is not None:
        raise ValidationError(record.error)
    check_message_id(record.message_id)


def _one(transfers: Transfers, message: TransferMessage, job: JobFile, message_id: str) -> FileOutcome:
    app, survey = transfers.app, message.survey
    bucket, key = app.settings.require_bucket(), mirror_prefix(survey) + job.path
    allow = within(survey_url(app.settings.bls_base_url, survey))
    source = job.source()
    base = FileOutcome("skip", survey, job.path, key, 0, 0, job.size, message_id)
    started = time.monotonic()
    try:
        if decide(source, read_object(app.s3, bucket, key))[0] == "skip":
            if message.resume is not None:  # a continuation whose file is already there: its upload is stale
                abort_upload(app.s3, bucket, key, message.resume.upload_id)
            return base
        cfg = transfers.config or TransferConfig(concurrency=app.settings.parts_in_flight)
        copy = ResumableJob(
            transfers.fetcher, app.s3, bucket, key, source, source_metadata(source), cfg, allow, transfers.near_limit
        )
        done = copy.transfer(message.resume)
        if isinstance(done, Finished):
            return replace(base, event="upload", ms=_ms(started), bytes=done.downloaded, sha256=done.result.sha256)
        _continue(transfers, replace(message, files=(job,), resume=done.resume))
    except DataQuestError as exc:
        return replace(base, event="error", ms=_ms(started), error=error_line(exc))
    except Exception as exc:  # a bug, an unwrapped client error: this file's alone, the others' outcomes stand
        logger.debug("transfer failed", exc_info=True, extra={"fields": {"key": key}})
        return replace(base, event="error", ms=_ms(started), error=error_line(exc))
    return replace(base, event="resumed", ms=_ms(started), bytes=done.downloaded, offset=done.resume.offset)


def _continue(transfers: Transfers, message: TransferMessage) -> None:
    queue_url = transfers.app.settings.transfer_queue_url
    if not queue_url:
        raise ConfigurationError("DQ_TRANSFER_QUEUE_URL is not set: a paused transfer has no queue to go on from")
    transfers.app.sqs.send_message(QueueUrl=queue_url, MessageBody=message.body())


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _write_outcomes(transfers: Transfers, run_id: str, message_id: str, outcomes: list[FileOutcome]) -> None:
    """The message's outcomes as JSON lines (logged too); a failed write is logged, the work stands."""
    lines = []
    for outcome in outcomes:
        doc = {"run_id": run_id, **to_document(outcome)}
        level = logging.ERROR if outcome.event == "error" else logging.INFO
        log.event(logger, f"transfer {outcome.event}", level=level, **doc)
        lines.append(log.redact(json.dumps(doc)))
    bucket, key = transfers.app.settings.require_bucket(), outcome_key(run_id, message_id)
    try:
        body = ("\n".join(lines) + "\n").encode()
        put_bytes(transfers.app.s3, bucket, key, body, content_type="application/x-ndjson")
    except DataQuestError as exc:
        log.event(logger, "transfer outcome write failed", level=logging.WARNING, key=key, error=str(exc))
