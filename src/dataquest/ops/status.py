"""``dataquest status``: the last runs from their trails, the mirror, and the latest report, read from S3.

- **runs**: the newest ``--runs`` trails under ``_logs/ingest/`` (``<run id>.jsonl``; run ids sort by time;
  merged by :class:`dataquest.ops.outcomes.Outcomes`). A
  run's files are the ones it set out to transfer: the sum of its ``planned`` events (a fan-out run's planner),
  else (a run that transferred in its own process) the files of its ``upload`` and file ``error`` events. The
  transfer outcomes of each run shown (``_logs/ingest/<run id>/transfers/*.jsonl``: ``upload``, ``skip``,
  ``error``, ``resumed``; read a few at a time) are merged into it. A file is *done* once uploaded (or, by a
  transfer, found already there), *failed* if no transfer of it succeeded and one failed, *pending* otherwise
  (planned and not reached, or resumed and not finished). The slowest files: the five with the
  most milliseconds (a resumed file's invocations added up).
- **mirror**: objects and bytes under ``bls/``, per survey.
- **report**: ``reports/latest/report.json``'s inputs and the folder of that pair of versions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log, storage
from dataquest.config import BLS_PREFIX, INGEST_LOG_PREFIX, LATEST_REPORT_PREFIX, REPORTS_PREFIX
from dataquest.documents import ItemError
from dataquest.errors import StorageError
from dataquest.ops.outcomes import Outcomes, SlowFile, events_of, stream_lines
from dataquest.redaction import printable
from dataquest.storage import get_bytes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TRANSFERS_FOLDER = "transfers/"

READERS = 8  # transfer outcome objects read at once
MAX_OUTCOME_BYTES = 1024 * 1024  # a message's outcome is a few lines (8 files at most): a larger object is not one
MAX_ERRORS = 1000  # a trail's errors kept for the document (a trail of a million errors is not held)

logger = log.get(__name__)


@dataclass
class RunStatus:
    run_id: str
    started: str | None
    finished: bool
    duration_ms: int | None
    surveys: list[str]
    files_planned: int
    files_done: int
    files_pending: int
    files_failed: int
    bytes: int
    errors: list[ItemError]
    slowest: list[SlowFile]


@dataclass
class SurveyMirror:
    survey: str
    objects: int = 0
    bytes: int = 0


@dataclass
class MirrorStatus:
    objects: int
    bytes: int
    surveys: list[SurveyMirror]


@dataclass
class ReportStatus:
    folder: str | None
    key: str
    inputs: dict[str, Any]


@dataclass
class Status:
    """The ``dataquest status --json`` document: ``{"runs", "mirror", "report"}``."""

    runs: list[RunStatus]
    mirror: MirrorStatus
    report: ReportStatus | None


def collect(s3: S3Client, bucket: str, *, runs: int = 5) -> Status:
    """The ``--runs`` newest runs, the mirror and the report of ``bucket``."""
    try:
        found = [read_run(s3, bucket, run_id) for run_id in run_ids(s3, bucket)[:runs]]
        return Status(runs=found, mirror=mirror_totals(s3, bucket), report=read_report(s3, bucket))
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(
            f"reading s3://{bucket}/ failed: {storage.aws_error(exc)}; check DQ_BUCKET (or --bucket), "
            "AWS_ENDPOINT_URL and your credentials"
        ) from exc


def run_id_of(trail_key: str) -> str:
    """The run id of a trail key ``_logs/ingest/<run id>.jsonl``."""
    return trail_key.rsplit("/", 1)[-1].removesuffix(".jsonl")


def run_ids(s3: S3Client, bucket: str) -> list[str]:
    """The runs with a trail, newest first."""
    keys = (o["Key"] for page in _pages(s3, bucket, INGEST_LOG_PREFIX, delimiter="/") for o in page.get("Contents", []))
    return sorted((run_id_of(k) for k in keys if k.endswith(".jsonl")), reverse=True)


def read_run(s3: S3Client, bucket: str, run_id: str) -> RunStatus:
    """One run from its trail, streamed line by line (a trail of any size takes the memory of one line), and its
    transfers' outcomes."""
    key = f"{INGEST_LOG_PREFIX}{run_id}.jsonl"
    start: dict[str, Any] = {}
    end: dict[str, Any] | None = None
    planned: int | None = None
    outcomes = Outcomes()
    trail_errors: list[ItemError] = []
    for e in events_of(stream_lines(s3, bucket, key), key):
        kind = e.get("event")
        if kind == "start" and not start:
            start = e
        elif kind in ("summary", "interrupted"):
            end = e
        elif kind == "planned":
            planned = (planned or 0) + (e.get("files") or 0)
        elif kind == "error" and len(trail_errors) < MAX_ERRORS:
            trail_errors.append(ItemError.from_document(e))
        outcomes.add(e, transfer=False)
    for e in _transfer_events(s3, bucket, run_id):
        outcomes.add(e, transfer=True)
    planned = len(outcomes.files) if planned is None else planned
    done, failed = outcomes.done, outcomes.failed
    return RunStatus(
        run_id=run_id,
        started=start.get("time"),
        finished=end is not None and end.get("event") == "summary",
        duration_ms=end.get("duration_ms") if end else None,
        surveys=list((end or start).get("surveys") or []),
        files_planned=planned,
        files_done=done,
        files_pending=max(0, planned - done - failed),
        files_failed=failed,
        bytes=outcomes.bytes,
        errors=trail_errors + outcomes.failures(),
        slowest=outcomes.slowest(),
    )


def transfer_outcomes(s3: S3Client, bucket: str, run_id: str) -> Outcomes:
    """The outcomes the transfers of ``run_id`` logged."""
    outcomes = Outcomes()
    for e in _transfer_events(s3, bucket, run_id):
        outcomes.add(e, transfer=True)
    return outcomes


def mirror_totals(s3: S3Client, bucket: str) -> MirrorStatus:
    surveys: dict[str, SurveyMirror] = {}
    for page in _pages(s3, bucket, BLS_PREFIX):
        for o in page.get("Contents", []):
            name = o["Key"][len(BLS_PREFIX) :].split("/", 1)[0]
            entry = surveys.setdefault(name, SurveyMirror(name))
            entry.objects += 1
            entry.bytes += int(o.get("Size", 0))
    listed = [surveys[k] for k in sorted(surveys)]
    return MirrorStatus(sum(s.objects for s in listed), sum(s.bytes for s in listed), listed)


def read_report(s3: S3Client, bucket: str) -> ReportStatus | None:
    key = f"{LATEST_REPORT_PREFIX}report.json"
    found = get_bytes(s3, bucket, key)
    if found is None:
        return None
    try:
        doc = json.loads(found[0])
    except (ValueError, RecursionError):
        doc = None
    raw = doc.get("inputs") if isinstance(doc, dict) else None
    inputs: dict[str, Any] = raw if isinstance(raw, dict) else {}
    versions = [_version(inputs.get(k)) for k in ("bls", "population")]
    if raw is not None and not all(versions):
        log.event(logger, "report inputs of an unexpected shape", level=logging.WARNING, key=key)
    name = "_".join("".join(c if c.isalnum() or c in "._-" else "-" for c in v) for v in versions)
    pages = _pages(s3, bucket, REPORTS_PREFIX, delimiter="/")
    folders = (p["Prefix"] for page in pages for p in page.get("CommonPrefixes", []))
    folder = next((f for f in folders if all(versions) and f[len(REPORTS_PREFIX) :].startswith(name)), None)
    return ReportStatus(folder=folder, key=key, inputs=inputs)


def _version(entry: object) -> str:
    version = entry.get("version") if isinstance(entry, dict) else None
    return version if isinstance(version, str) else ""


def _transfer_events(s3: S3Client, bucket: str, run_id: str) -> Iterator[dict[str, Any]]:
    """The outcomes the transfers of ``run_id`` wrote, one small object each, read :data:`READERS` at a time."""
    prefix = f"{INGEST_LOG_PREFIX}{run_id}/{TRANSFERS_FOLDER}"
    listed = [o for page in _pages(s3, bucket, prefix) for o in page.get("Contents", [])]
    keys = sorted(o["Key"] for o in listed if int(o.get("Size", 0)) <= MAX_OUTCOME_BYTES)
    if len(keys) < len(listed):
        log.event(
            logger,
            "status: outcome objects too large to be a transfer's, skipped",
            level=logging.WARNING,
            prefix=prefix,
            objects=len(listed) - len(keys),
        )
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        for key, found in zip(keys, pool.map(lambda key: get_bytes(s3, bucket, key), keys), strict=True):
            if found is not None:
                yield from events_of(found[0].splitlines(), key)


def _pages(s3: S3Client, bucket: str, prefix: str, *, delimiter: str = "") -> Iterable[Any]:
    paginator = s3.get_paginator("list_objects_v2")
    if delimiter:
        return paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter=delimiter)
    return paginator.paginate(Bucket=bucket, Prefix=prefix)


def as_text(status: Status) -> str:
    """The short table ``dataquest status`` prints; every text from the bucket escaped (no terminal sequence)."""
    lines = [f"{'run':<34} {'started':<24} {'planned':>7} {'done':>6} {'pending':>7} {'failed':>6} {'bytes':>12}"]
    for r in status.runs:
        state = "" if r.finished else " (unfinished)"
        lines.append(
            f"{_shown(r.run_id):<34} {_shown(r.started or '?'):<24} {r.files_planned:>7} {r.files_done:>6} "
            f"{r.files_pending:>7} {r.files_failed:>6} {r.bytes:>12}{state}"
        )
    if not status.runs:
        lines.append("(no run trail under _logs/ingest/)")
    newest = status.runs[0] if status.runs else None
    if newest is not None and newest.slowest:
        lines.append("slowest: " + ", ".join(f"{_shown(s.key)} {s.ms} ms" for s in newest.slowest))
    for e in (newest.errors if newest else [])[:5]:
        lines.append(f"error: {_shown(e.where)}: {_shown(e.error)}")
    m = status.mirror
    per = ", ".join(f"{_shown(s.survey)} {s.objects} ({s.bytes} bytes)" for s in m.surveys) or "empty"
    lines.append(f"mirror: {m.objects} objects, {m.bytes} bytes: {per}")
    rep = status.report
    shown = f"report: {_shown(rep.folder or '?')} (inputs: {json.dumps(rep.inputs)})" if rep else "report: none yet"
    lines.append(shown)
    return "\n".join(lines)


def _shown(text: str) -> str:
    """Text from the bucket fit for a terminal: control characters and escapes shown as ``\\x1b``, never sent."""
    return printable(text, 300)[1:-1]
