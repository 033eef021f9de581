"""``sync-bls``: keep ``bls/<survey>/`` in S3 a byte-identical mirror of BLS survey folders.

For each survey: take its lease, abort multipart uploads a killed run left behind, walk the listing, read what
the mirror's objects recorded (a HEAD only where the sizes agree), plan (:mod:`dataquest.bls.plan`), then act:
confirm with a HEAD the files whose listed time moved by whole hours (a clock change), stream the uploads
(:mod:`dataquest.bls.transfer`) and delete what the listing no longer has, folder by folder under the plan's
guards. Any failure in one file (an HTTP error, a refused redirect, an S3 error, anything) is that file's error
and the run goes on; a failure in one survey (its listing, its lease, or anything unexpected) does not stop the
others. Every step is an event of the run's trail (:mod:`dataquest.bls.trail`), written to ``_logs/ingest/`` as
the run goes (not in a dry run, which changes nothing). An interrupt (SIGTERM or SIGINT under
:func:`dataquest.signals.interruptible`, Ctrl-C) aborts the upload in flight, releases the lease, and writes the
trail with an ``interrupted`` event before it goes on up, carrying the summary reached.
"""

from __future__ import annotations

import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls import lease as leases
from dataquest.bls.listing import SourceFile, walk, within
from dataquest.bls.plan import (
    META_SHA256,
    META_SIZE,
    TAG_CONFIRMED_TIMESTAMP,
    TAG_SHA256,
    Action,
    MirrorObject,
    Plan,
    confirm,
    make_plan,
    mirror_prefix,
    needs_details,
    source_metadata,
)
from dataquest.bls.trail import Trail
from dataquest.bls.transfer import TransferConfig, abort_stale_uploads, transfer
from dataquest.config import BLS_PREFIX, Settings
from dataquest.errors import ConfigurationError, DataQuestError, Interrupted, StorageError
from dataquest.httpclient import BLS
from dataquest.storage import describe, head

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.httpclient import Fetcher, RedirectPolicy

logger = log.get(__name__)

SUMMARY_KEYS = (
    "surveys",
    "files_seen",
    "uploaded",
    "skipped",
    "deleted",
    "bytes_downloaded",
    "bytes_uploaded",
    "duration_ms",
    "errors",
)


@dataclass
class SyncSummary:
    """The counts of a run; :meth:`to_document` is the contract's ``sync-bls --json`` document."""

    surveys: list[str] = field(default_factory=list)
    files_seen: int = 0
    uploaded: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    duration_ms: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False
    plan: list[dict[str, Any]] = field(default_factory=list)
    trail_key: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {k: getattr(self, k) for k in SUMMARY_KEYS}
        doc["surveys"] = list(self.surveys)
        doc["errors"] = [dict(e) for e in self.errors]
        if self.dry_run:
            doc["dry_run"] = True
            doc["plan"] = list(self.plan)
        return doc


class Progress:
    """A one-line progress bar on a terminal (stderr); silent otherwise."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total_bytes = 0
        self.done_bytes = 0
        self.files = 0
        self.files_done = 0
        self.label = ""
        self._last = 0.0

    def start(self, label: str, files: int, total_bytes: int) -> None:
        self.label, self.files, self.total_bytes = label, files, total_bytes
        self.files_done = self.done_bytes = 0
        self._draw(force=True)

    def add_bytes(self, n: int) -> None:
        self.done_bytes += n
        self._draw()

    def file_done(self) -> None:
        self.files_done += 1
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        frac = self.done_bytes / self.total_bytes if self.total_bytes else 1.0
        bar = "#" * int(frac * 30)
        mib = 1024 * 1024
        self.stream.write(
            f"\r{self.label} [{bar:<30}] {self.files_done}/{self.files} files "
            f"{self.done_bytes / mib:.1f}/{self.total_bytes / mib:.1f} MiB"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def sync_surveys(
    settings: Settings,
    fetcher: Fetcher,
    s3: S3Client,
    *,
    dry_run: bool = False,
    max_delete: int | None = None,
    progress: bool = False,
    transfer_config: TransferConfig | None = None,
    lease_wait: float = 0.0,
) -> SyncSummary:
    """Mirror every survey of ``settings`` into ``s3``; one survey's failure is recorded, the others go on."""
    bucket = settings.require_bucket()
    settings.user_agent()  # a missing or invalid contact fails here, before any request
    if max_delete is not None and max_delete < 0:
        raise ConfigurationError(f"--max-delete {max_delete}: give zero or a positive number")
    started = time.monotonic()
    requests_before = fetcher.requests_sent  # a Lambda container reuses its Fetcher across runs
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + uuid.uuid4().hex[:8]  # sorts by time
    run = _Run(
        bucket=bucket,
        fetcher=fetcher,
        s3=s3,
        summary=SyncSummary(surveys=list(settings.surveys), dry_run=dry_run),
        trail=Trail(run_id) if dry_run else Trail(run_id, s3, bucket),
        bar=Progress(progress),
        cfg=transfer_config or TransferConfig(concurrency=settings.parts_in_flight),
        dry_run=dry_run,
        max_delete=max_delete,
        lease_ttl=settings.lease_ttl,
        lease_wait=lease_wait,
    )
    summary, trail = run.summary, run.trail
    trail.add(
        "start",
        bucket=bucket,
        surveys=list(settings.surveys),
        base_url=settings.bls_base_url,
        dry_run=dry_run,
        max_delete=max_delete,
    )
    trail.keep_writing()
    try:
        for survey in settings.surveys:
            survey_url = f"{settings.bls_base_url}{survey}/"
            try:
                run.sync_survey(survey, survey_url)
            except DataQuestError as exc:
                summary.errors.append({"path": log.redact(survey_url), "error": failure(exc)})
                trail.add("error", level=40, survey=survey, path=survey_url, error=failure(exc))
            except Exception as exc:
                error = f"unexpected {failure(exc)}"
                summary.errors.append({"path": log.redact(survey_url), "error": error})
                logger.debug("survey failed", exc_info=True, extra={"fields": {"survey": survey}})
                trail.add("error", level=40, survey=survey, path=survey_url, error=error)
            trail.write()
    except KeyboardInterrupt as exc:  # SIGTERM/SIGINT (dataquest.signals) or Ctrl-C: record how far it got
        signal_name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        summary.errors.append({"key": trail.key, "error": f"interrupted by {signal_name}"})
        _finish(run, started, requests_before, dry_run, event="interrupted", signal=signal_name)
        interrupted = exc if isinstance(exc, Interrupted) else Interrupted(signal_name)
        interrupted.document = summary.to_document()
        if interrupted is exc:
            raise
        raise interrupted from exc
    _finish(run, started, requests_before, dry_run, event="summary")
    return summary


def _finish(run: _Run, started: float, requests_before: int, dry_run: bool, *, event: str, **fields: Any) -> None:
    """The summary event, and the trail's last write (its key in the summary, or its failure in the errors)."""
    summary, trail = run.summary, run.trail
    trail.stop_writing()
    run.bar.finish()
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    trail.add(
        event,
        **fields,
        **{k: v for k, v in summary.to_document().items() if k != "plan"},
        requests_sent=run.fetcher.requests_sent - requests_before,
    )
    if dry_run:
        return
    if trail.write():
        summary.trail_key = trail.key
    else:
        summary.errors.append(
            {"key": trail.key, "error": f"writing the run's event trail failed: {trail.write_error or '?'}"}
        )


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
    dry_run: bool
    max_delete: int | None
    lease_ttl: float
    lease_wait: float

    def sync_survey(self, survey: str, survey_url: str) -> None:
        prefix = mirror_prefix(survey)
        lease = None
        if not self.dry_run:
            lease = leases.acquire(self.s3, self.bucket, survey, ttl=self.lease_ttl, wait=self.lease_wait)
        try:
            if lease is not None:
                lease.keep_alive()
                for key in abort_stale_uploads(self.s3, self.bucket, prefix):
                    self.trail.add("abort", level=30, survey=survey, key=key, reason="a stale multipart upload")
            tree = walk(self.fetcher, survey_url)
            for folder in tree.failed:
                error = folder.error or "its listing failed"
                self.summary.errors.append({"path": log.redact(folder.url), "error": error})
                self.trail.add("error", level=40, survey=survey, path=folder.url, error=error)
            self.summary.files_seen += len(tree.files)
            mirror = read_mirror(self.s3, self.bucket, prefix, tree.files)
            for obj in mirror.values():
                if obj.error is not None:
                    self.summary.errors.append({"key": obj.key, "error": obj.error})
                    self.trail.add("error", level=40, survey=survey, key=obj.key, error=obj.error)
            plan = make_plan(survey, tree.files, mirror, max_delete=self.max_delete, folders=tree.folders)
            plan = self.confirm_checks(plan, mirror, survey_url)
            for problem in plan.problems:
                self.summary.errors.append({"key": prefix, "error": problem})
                self.trail.add("error", level=40, survey=survey, key=prefix, error=problem)
            if lease is None:
                self.count_dry_run(plan)
            else:
                self.execute(plan, lease, survey_url)
        finally:
            if lease is not None:
                lease.release()

    def confirm_checks(self, plan: Plan, mirror: dict[str, MirrorObject], survey_url: str) -> Plan:
        """Each ``check`` (same size, listed time moved by whole hours) made an upload or a skip: a skip at once
        when an earlier run confirmed this listed time (the object's ``source-timestamp-confirmed`` tag), else by
        a HEAD of the file (read-only, so a dry run does it too; a HEAD that fails leaves the file to be
        uploaded). A confirmed skip is remembered in that tag (not in a dry run)."""
        if not plan.checks:
            return plan
        allow = within(survey_url)
        actions: list[Action] = []
        for action in plan.actions:
            if action.kind != "check" or action.source is None:
                actions.append(action)
                continue
            tags = self._tags(action.key)
            listed = action.source.timestamp
            if tags.get(TAG_CONFIRMED_TIMESTAMP) == listed:
                reason = f"{action.reason}; confirmed unchanged by an earlier run's Last-Modified"
                actions.append(replace(action, kind="skip", reason=reason))
                continue
            try:
                response = self.fetcher.head(action.source.url, source=BLS, allow=allow)
                last_modified = response.headers.get("last-modified")
            except Exception as exc:  # noqa: BLE001 - the GET of the upload meets it again and reports it
                log.event(logger, "clock check failed", level=30, key=action.key, error=failure(exc))
                last_modified = None
            decided = confirm(action, mirror.get(action.key), last_modified)
            if decided.kind == "skip" and not self.dry_run:
                self._remember(action.key, tags, listed)
            actions.append(decided)
        return Plan(plan.survey, plan.prefix, tuple(actions), plan.problems)

    def _tags(self, key: str) -> dict[str, str]:
        try:
            found = self.s3.get_object_tagging(Bucket=self.bucket, Key=key).get("TagSet", [])
        except (ClientError, BotoCoreError) as exc:
            log.event(logger, "reading tags failed", level=30, key=key, error=describe(exc))
            return {}
        return {t["Key"]: t["Value"] for t in found}

    def _remember(self, key: str, tags: dict[str, str], listed: str) -> None:
        """Tag ``key`` with the listed timestamp confirmed unchanged (its other tags, the SHA-256, kept)."""
        tag_set = [{"Key": k, "Value": v} for k, v in {**tags, TAG_CONFIRMED_TIMESTAMP: listed}.items()]
        try:
            self.s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": tag_set})  # type: ignore[typeddict-item]
        except (ClientError, BotoCoreError) as exc:  # the next run asks the source again: slower, not wrong
            log.event(logger, "remembering a confirmed clock change failed", level=30, key=key, error=describe(exc))

    def count_dry_run(self, plan: Plan) -> None:
        summary = self.summary
        summary.plan.extend(plan.to_document())
        summary.uploaded += len(plan.uploads)
        summary.skipped += len(plan.skips)
        summary.deleted += len(plan.deletes)
        would = sum(a.size or 0 for a in plan.uploads)
        summary.bytes_downloaded += would
        summary.bytes_uploaded += would
        for action in plan.actions:
            self.trail.add(f"would {action.kind}", level=10, survey=plan.survey, **action.to_document())

    def execute(self, plan: Plan, lease: leases.Lease, survey_url: str) -> None:
        for action in plan.skips:
            self.summary.skipped += 1
            self.trail.add("skip", level=10, survey=plan.survey, **action.to_document())
        uploads = plan.uploads
        self.bar.start(f"{BLS_PREFIX}{plan.survey}", len(uploads), sum(a.size or 0 for a in uploads))
        allow = within(survey_url)
        for action in uploads:
            lease.check()
            self.upload(plan.survey, action, allow)
        deletes = plan.deletes
        if deletes:
            lease.check()
            self.delete(plan, deletes)
        for action in plan.of("keep"):
            self.trail.add("keep", level=30, survey=plan.survey, **action.to_document())

    def upload(self, survey: str, action: Action, allow: RedirectPolicy) -> None:
        source = action.source
        if source is None:  # an upload action always carries its source
            raise ValueError(f"upload of {action.key} has no source")
        summary = self.summary
        started = time.monotonic()
        downloaded = 0

        def count(n: int) -> None:
            nonlocal downloaded
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
        except Exception as exc:  # noqa: BLE001 - any failure of one file is that file's error; the run goes on
            error = failure(exc)
            summary.errors.append({"key": action.key, "error": error})
            self.trail.add("error", level=40, survey=survey, key=action.key, path=action.path, error=error)
            return
        finally:
            summary.bytes_downloaded += downloaded
            self.bar.file_done()
        summary.uploaded += 1
        summary.bytes_uploaded += result.size
        self.trail.add(
            "upload",
            survey=survey,
            **action.to_document(),
            sha256=result.sha256,
            multipart=result.multipart,
            parts=result.parts,
            ms=int((time.monotonic() - started) * 1000),
        )

    def delete(self, plan: Plan, deletes: list[Action]) -> None:
        summary, bucket = self.summary, self.bucket
        for start in range(0, len(deletes), 1000):
            batch = [a for a in deletes[start : start + 1000] if a.key.startswith(plan.prefix)]  # never outside
            try:
                resp = self.s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": a.key} for a in batch], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                for action in batch:
                    error = f"DELETE s3://{bucket}/{action.key} failed: {describe(exc)}"
                    summary.errors.append({"key": action.key, "error": error})
                    self.trail.add("error", level=40, survey=plan.survey, key=action.key, error=error)
                continue
            failed = {e.get("Key", ""): e.get("Message", e.get("Code", "")) for e in resp.get("Errors", [])}
            for action in batch:
                if action.key in failed:
                    error = f"DELETE s3://{bucket}/{action.key} failed: {failed[action.key]}"
                    summary.errors.append({"key": action.key, "error": error})
                    self.trail.add("error", level=40, survey=plan.survey, key=action.key, error=error)
                else:
                    summary.deleted += 1
                    self.trail.add("delete", survey=plan.survey, **action.to_document())


def failure(exc: BaseException) -> str:
    """One line for an error of the summary and the trail: a DataQuestError's own message; anything else (a bug,
    a library's exception) by type and message, escaped and redacted."""
    if isinstance(exc, DataQuestError):
        return str(exc)
    return log.redact(f"{type(exc).__name__}: {log.printable(str(exc), 500)[1:-1]}")


def read_mirror(s3: S3Client, bucket: str, prefix: str, files: tuple[SourceFile, ...]) -> dict[str, MirrorObject]:
    """The objects under ``prefix``; for those whose size matches their listed file, what they recorded."""
    sizes: dict[str, int] = {}
    written: dict[str, datetime] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                sizes[item["Key"]] = int(item.get("Size", 0))
                if "LastModified" in item:
                    written[item["Key"]] = item["LastModified"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing s3://{bucket}/{prefix} failed: {describe(exc)}", key=prefix) from exc

    by_key = {prefix + f.path: f for f in files}
    wanted = [k for k, size in sizes.items() if k in by_key and needs_details(by_key[k], size)]

    def details(key: str) -> MirrorObject | None:
        try:
            info = head(s3, bucket, key)
            if info is None:  # deleted between the listing and the HEAD
                return None
            sha = info.metadata.get(META_SHA256) or (_tag(s3, bucket, key) if META_SIZE in info.metadata else None)
        except Exception as exc:  # noqa: BLE001 - one object's failure is that file's error, not the survey's
            return MirrorObject(key=key, size=sizes[key], last_modified=written.get(key), error=failure(exc))
        return MirrorObject(key=key, size=info.size, metadata=info.metadata, sha256=sha, last_modified=written.get(key))

    mirror = {k: MirrorObject(key=k, size=size, last_modified=written.get(k)) for k, size in sizes.items()}
    if wanted:
        with ThreadPoolExecutor(max_workers=min(8, len(wanted)), thread_name_prefix="dq-head") as pool:
            for found in pool.map(details, wanted):
                if found is not None:
                    mirror[found.key] = found
    return mirror


def _tag(s3: S3Client, bucket: str, key: str) -> str | None:
    try:
        tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"reading the tags of s3://{bucket}/{key} failed: {describe(exc)}", key=key) from exc
    return next((t["Value"] for t in tags if t["Key"] == TAG_SHA256), None)
