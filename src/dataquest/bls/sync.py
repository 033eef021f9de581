"""``sync-bls``: keep ``bls/<survey>/`` in S3 a byte-identical mirror of BLS survey folders.

``--survey all`` is resolved first, once, from the root listing (:func:`dataquest.bls.listing.discover_surveys`: a
bad root listing fails the run before any survey is touched). For each survey: take its lease, abort multipart
uploads a killed run left behind, walk the listing, read what the mirror's objects recorded (a HEAD only where the
sizes agree), plan (:mod:`dataquest.bls.plan`), then act: confirm with a HEAD the files whose listed time moved by
whole hours (a clock change), stream the uploads (:mod:`dataquest.bls.transfer.upload`), ``DQ_TRANSFER_STREAMS`` at
once (:mod:`dataquest.bls.transfer.streams`), and delete what the listing no longer has, folder by folder under the
plan's guards. Any failure in one file (an HTTP error, a refused redirect, an S3 error, anything) is that file's
error and the run goes on; a failure in one survey (its listing, its lease, or anything unexpected) does not stop
the others. Every step is an event of the run's trail (:mod:`dataquest.bls.trail`), written to ``_logs/ingest/`` as
the run goes (not in a dry run, which changes nothing). An interrupt (SIGTERM or SIGINT under
:func:`dataquest.signals.interruptible`, Ctrl-C) aborts the uploads in flight, releases the lease, and writes the
trail with an ``interrupted`` event before it goes on up, carrying the summary reached.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dataquest import log
from dataquest.bls import lease as leases
from dataquest.bls.checks import Checker
from dataquest.bls.deletes import delete_keys
from dataquest.bls.links import survey_url, within
from dataquest.bls.listing import discover_surveys, walk
from dataquest.bls.mirror import abort_stale_uploads, read_mirror
from dataquest.bls.plan import Action, Plan, make_plan, mirror_prefix, source_metadata
from dataquest.bls.progress import Progress
from dataquest.bls.summary import SyncSummary
from dataquest.bls.trail import Trail
from dataquest.bls.transfer.executors import Executor, InProcess
from dataquest.bls.transfer.streams import Stopped, Streams
from dataquest.bls.transfer.upload import TransferConfig, transfer
from dataquest.config import BLS_PREFIX, Settings
from dataquest.documents import ItemError, to_document
from dataquest.errors import ConfigurationError, DataQuestError, Interrupted, error_line

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.http.client import Fetcher, RedirectPolicy

logger = log.get(__name__)


def sync_surveys(  # noqa: PLR0913 - the clients, then keyword-only options: the signature callers use
    settings: Settings,
    fetcher: Fetcher,
    s3: S3Client,
    *,
    dry_run: bool = False,
    max_delete: int | None = None,
    progress: bool = False,
    transfer_config: TransferConfig | None = None,
    lease_wait: float = 0.0,
    executor: Executor | None = None,
) -> SyncSummary:
    """Mirror every survey of ``settings`` into ``s3``; one survey's failure is recorded, the others go on. Each
    survey's uploads go to ``executor`` (:mod:`dataquest.bls.transfer.executors`; by default
    :class:`~dataquest.bls.transfer.executors.InProcess`), finished once every survey is planned."""
    bucket = settings.require_bucket()
    settings.user_agent()  # a missing or invalid contact fails here, before any request
    if max_delete is not None and max_delete < 0:
        raise ConfigurationError(f"--max-delete {max_delete}: give zero or a positive number")
    surveys = (
        discover_surveys(fetcher, settings.bls_base_url, settings.max_surveys)
        if settings.all_surveys
        else settings.surveys
    )
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + uuid.uuid4().hex[:8]  # sorts by time
    run = _Run(
        bucket=bucket,
        fetcher=fetcher,
        s3=s3,
        summary=SyncSummary(surveys=list(surveys), dry_run=dry_run),
        trail=Trail(run_id) if dry_run else Trail(run_id, s3, bucket),
        bar=Progress(progress),
        cfg=transfer_config or TransferConfig(concurrency=settings.parts_in_flight),
        max_delete=max_delete,
        lease_ttl=settings.lease_ttl,
        lease_wait=lease_wait,
        requests_before=fetcher.requests_sent,
        executor=executor or InProcess.of(settings, fetcher),
    )
    start: dict[str, Any] = {"bucket": bucket, "surveys": list(surveys), "base_url": settings.bls_base_url}
    run.trail.add("start", **start, dry_run=dry_run, max_delete=max_delete)
    run.trail.keep_writing()
    try:
        for survey in surveys:
            run.sync_one(survey, survey_url(settings.bls_base_url, survey))
        run.summary.errors.extend(run.executor.finish())
    except KeyboardInterrupt as exc:  # SIGTERM/SIGINT (dataquest.signals) or Ctrl-C: record how far it got
        interrupted = exc if isinstance(exc, Interrupted) else Interrupted("SIGINT")
        run.summary.errors.append(ItemError(key=run.trail.key, error=f"interrupted by {interrupted.signal_name}"))
        run.finish(event="interrupted", signal=interrupted.signal_name)
        interrupted.document = to_document(run.summary)
        if interrupted is exc:
            raise
        raise interrupted from exc
    run.finish(event="summary")
    return run.summary


@dataclass
class _Run:
    """One run's clients, options and tallies; :meth:`sync_survey` does one survey."""

    bucket: str
    fetcher: Fetcher
    s3: S3Client
    summary: SyncSummary
    trail: Trail
    bar: Progress
    cfg: TransferConfig
    max_delete: int | None
    lease_ttl: float
    lease_wait: float
    requests_before: int  # a Lambda container reuses its Fetcher across runs: count this run's requests only
    executor: Executor
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)  # the tallies, from the transfer threads

    @property
    def dry_run(self) -> bool:
        return self.summary.dry_run

    def error(self, survey: str, error: str, *, key: str | None = None, path: str | None = None) -> None:
        """One item's error: a row of the summary (its key, else its URL redacted) and an ``error`` event."""
        redacted = None if key is not None or path is None else log.redact(path)
        with self.lock:
            self.summary.errors.append(ItemError(key=key, path=redacted, error=error))
        where = {name: value for name, value in (("key", key), ("path", path)) if value is not None}
        self.trail.add("error", level=logging.ERROR, survey=survey, **where, error=error)

    def sync_one(self, survey: str, survey_url: str) -> None:
        """One survey, any failure of it that survey's error; the trail written after it."""
        try:
            self.sync_survey(survey, survey_url)
        except DataQuestError as exc:
            self.error(survey, error_line(exc), path=survey_url)
        except Exception as exc:
            logger.debug("survey failed", exc_info=True, extra={"fields": {"survey": survey}})
            self.error(survey, error_line(exc), path=survey_url)
        self.trail.write()

    def sync_survey(self, survey: str, survey_url: str) -> None:
        lease = None
        if not self.dry_run:
            lease = leases.acquire(self.s3, self.bucket, survey, ttl=self.lease_ttl, wait=self.lease_wait)
        try:
            plan = self.plan(survey, survey_url, lease)
            if lease is None:
                self.count_dry_run(plan)
            else:
                self.execute(plan, lease, survey_url)
        finally:
            if lease is not None:
                lease.release()

    def plan(self, survey: str, survey_url: str, lease: leases.Lease | None) -> Plan:
        """Walk the listing, read the mirror, plan, settle the clock checks; every error on the way reported."""
        prefix = mirror_prefix(survey)
        if lease is not None:
            lease.keep_alive()
            spare = self.executor.spare_uploads_younger_than  # the fan-out's resumable uploads stay open
            for key in abort_stale_uploads(self.s3, self.bucket, prefix, spare_younger_than=spare):
                self.trail.add(
                    "abort", level=logging.WARNING, survey=survey, key=key, reason="a stale multipart upload"
                )
        tree = walk(self.fetcher, survey_url)
        for folder in tree.failed:
            self.error(survey, folder.error or "its listing failed", path=folder.url)
        self.summary.files_seen += len(tree.files)
        mirror = read_mirror(self.s3, self.bucket, prefix, tree.files)
        for obj in mirror.values():
            if obj.error is not None:
                self.error(survey, obj.error, key=obj.key)
        plan = make_plan(survey, tree.files, mirror, max_delete=self.max_delete, folders=tree.folders)
        plan = Checker(self.fetcher, self.s3, self.bucket, survey_url, self.dry_run).confirm_checks(plan, mirror)
        for problem in plan.problems:
            self.error(survey, problem, key=prefix)
        return plan

    def count_dry_run(self, plan: Plan) -> None:
        summary = self.summary
        summary.plan.extend(plan.actions)
        summary.uploaded += len(plan.of("upload"))
        summary.skipped += len(plan.of("skip"))
        summary.deleted += len(plan.of("delete"))
        would = sum(a.size for a in plan.of("upload"))
        summary.bytes_downloaded += would
        summary.bytes_uploaded += would
        for action in plan.actions:
            self.trail.add(f"would {action.action}", level=logging.DEBUG, **to_document(action))

    def execute(self, plan: Plan, lease: leases.Lease, survey_url: str) -> None:
        for action in plan.of("skip"):
            self.summary.skipped += 1
            self.trail.add("skip", level=logging.DEBUG, **to_document(action))
        uploads = plan.of("upload")
        self.bar.start(f"{BLS_PREFIX}{plan.survey}", len(uploads), sum(a.size for a in uploads))
        allow = within(survey_url)
        planned = self.executor.transfer(
            self.trail.run_id, plan.survey, uploads, lambda action, streams: self.upload(action, allow, lease, streams)
        )
        if planned is not None:  # handed over: the transfer function makes them
            self.summary.planned[plan.survey] = planned
            self.trail.add("planned", survey=plan.survey, **to_document(planned))
        deletes = plan.of("delete")
        if deletes:
            lease.check()
            self.delete(plan, deletes)
        for action in plan.of("keep"):
            self.trail.add("keep", level=logging.WARNING, **to_document(action))

    def upload(self, action: Action, allow: RedirectPolicy, lease: leases.Lease, streams: Streams) -> None:
        """One file, on a transfer thread: its failure is its error; a lost lease or a stop goes up (the survey's)."""
        lease.check()
        source = action.source
        if source is None:  # an upload action always carries its source
            raise ValueError(f"upload of {action.key} has no source")
        started = time.monotonic()
        downloaded = 0

        def count(n: int) -> None:
            nonlocal downloaded
            streams.check()  # the pool stopped (an interrupt, a lost lease): abort this upload here
            downloaded += n
            self.bar.add_bytes(n)

        try:
            result = transfer(
                self.fetcher,
                self.s3,
                bucket=self.bucket,
                key=action.key,
                source=source,
                metadata=source_metadata(source),
                config=self.cfg,
                on_bytes=count,
                allow=allow,
            )
        except Exception as exc:  # any failure of one file is that file's error; the run goes on
            if streams.stopping:  # its read was cut by the stop: not the file's error
                raise Stopped from exc
            self.error(action.survey, error_line(exc), key=action.key, path=action.path)
            return
        finally:
            with self.lock:
                self.summary.bytes_downloaded += downloaded
            self.bar.file_done()
        with self.lock:
            self.summary.uploaded += 1
            self.summary.bytes_uploaded += result.size
        ms = int((time.monotonic() - started) * 1000)
        self.trail.add("upload", **{**to_document(action), **to_document(result)}, ms=ms)

    def delete(self, plan: Plan, deletes: list[Action]) -> None:
        batch = [a for a in deletes if a.key.startswith(plan.prefix)]  # never outside the survey's prefix
        for action, failed in zip(batch, delete_keys(self.s3, self.bucket, [a.key for a in batch]), strict=True):
            if failed is not None:
                self.error(plan.survey, f"DELETE s3://{self.bucket}/{action.key} failed: {failed}", key=action.key)
            else:
                self.summary.deleted += 1
                self.trail.add("delete", **to_document(action))

    def finish(self, *, event: str, **fields: Any) -> None:
        """The summary event, and the trail's last write (its key in the summary, or its failure in the errors)."""
        summary, trail = self.summary, self.trail
        trail.stop_writing()
        self.bar.finish()
        summary.duration_ms = int((time.monotonic() - self.started) * 1000)
        counts = {k: v for k, v in to_document(summary).items() if k != "plan"}
        trail.add(event, **fields, **counts, requests_sent=self.fetcher.requests_sent - self.requests_before)
        if self.dry_run:
            return
        if trail.write():
            summary.trail_key = trail.key
        else:
            error = f"writing the run's event trail failed: {trail.write_error or '?'}"
            summary.errors.append(ItemError(key=trail.key, error=error))
