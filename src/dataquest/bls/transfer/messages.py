"""The transfer queue's message: what the planner sends (:func:`plan_messages`) and the worker accepts
(:func:`parse_message`, the one place a message is checked).

One message per file, or per batch of small files (at most :data:`MAX_BATCH_FILES` files and
:data:`MAX_BATCH_BYTES` bytes together), as a JSON body::

    {"v": 1, "run_id": "...", "survey": "pr",
     "files": [{"path": "pr.data.0.Current", "url": "https://.../pr/pr.data.0.Current", "size": 123,
                "timestamp": "2026-01-02T03:04:00"}],
     "resume": null}

``resume`` (single-file messages only) is filled by a transfer that neared its time limit
(:mod:`dataquest.bls.transfer.resume`): the multipart upload's id, the next byte offset, the parts so far, the source's
validator (the first response's ``Last-Modified``) and ``sha256_state`` (the part size and each part's SHA-256).

:func:`parse_message` holds a message to the rules the listing enforces, before anything is fetched: anything but
this shape (an unknown version, a run id or survey that would bend the outcome's key), or a file whose URL,
resolved, is not in its survey's folder on the configured host (:func:`dataquest.bls.links.relative`, the
listing's own link rule) or whose path is not that URL's path under the folder, is a
:class:`~dataquest.errors.ValidationError`: that record's failure, nothing fetched or written for it. The
executor that sends the messages is :class:`dataquest.bls.transfer.executors.ToQueue`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dataquest import log
from dataquest.bls.links import relative, survey_url
from dataquest.bls.listing import SourceFile
from dataquest.config import INGEST_LOG_PREFIX, is_survey_name
from dataquest.documents import renamed, to_document
from dataquest.errors import ValidationError

if TYPE_CHECKING:
    from dataquest.bls.plan import Action

logger = log.get(__name__)

VERSION = 1
MAX_BATCH_FILES = 8
MAX_BATCH_BYTES = 8 * 1024 * 1024
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a part of the outcome's key: no '/'


MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload


def check_message_id(message_id: str) -> str:
    """``message_id`` if it can name an outcome object (what SQS gives: a UUID), else a :class:`ValidationError`."""
    if not _RUN_ID.fullmatch(message_id):
        shown = message_id[:80].encode("unicode_escape").decode("ascii")
        raise ValidationError(
            f"transfer record: message id {shown!r} is not 1 to 100 letters, digits, '.', '_' or '-' "
            "(as SQS's are): nothing is fetched or written for it"
        )
    return message_id


def outcome_key(run_id: str, message_id: str) -> str:
    """Where a transfer writes its outcome: ``_logs/ingest/<run_id>/transfers/<message id>.jsonl`` (both checked
    first: :func:`parse_message`, :func:`check_message_id`)."""
    return f"{INGEST_LOG_PREFIX}{run_id}/transfers/{message_id}.jsonl"


@dataclass(frozen=True)
class JobFile:
    """One file to transfer: its path under the survey folder, URL, listed size and listing time."""

    path: str
    url: str
    size: int
    timestamp: str  # the listing time, ISO 8601 to the second, no zone (as BLS lists it)

    @classmethod
    def of(cls, source: SourceFile) -> JobFile:
        return cls(source.path, source.url, source.size, source.modified.isoformat(timespec="seconds"))

    def source(self) -> SourceFile:
        return SourceFile(self.path, self.url, self.size, datetime.fromisoformat(self.timestamp))


@dataclass(frozen=True)
class Part:
    """A part uploaded so far, as CompleteMultipartUpload wants it."""

    number: int = field(metadata=renamed("PartNumber"))
    etag: str = field(metadata=renamed("ETag"))


@dataclass(frozen=True)
class Resume:
    """Where a paused transfer goes on: see :mod:`dataquest.bls.transfer.resume`."""

    upload_id: str
    offset: int
    parts: tuple[Part, ...]
    validator: str
    sha256_state: PartDigests


@dataclass(frozen=True)
class PartDigests:
    """The part size and each part's SHA-256 (hex), in order: what the chained ``sha256-parts`` digest is made of."""

    part_size: int
    digests: tuple[str, ...]


@dataclass(frozen=True)
class TransferMessage:
    v: int
    run_id: str
    survey: str
    files: tuple[JobFile, ...]
    resume: Resume | None = None

    def body(self) -> str:
        return json.dumps(to_document(self), separators=(",", ":"))


def plan_messages(run_id: str, survey: str, uploads: Sequence[Action]) -> list[TransferMessage]:
    """The messages for one survey's uploads: a large file alone, small ones together (8 files, 8 MiB at most)."""
    messages: list[TransferMessage] = []
    batch: list[JobFile] = []
    for action in uploads:
        if action.source is None:
            raise ValueError(f"upload of {action.key} has no source")
        job = JobFile.of(action.source)
        if job.size > MAX_BATCH_BYTES:
            messages.append(TransferMessage(VERSION, run_id, survey, (job,)))
            continue
        if len(batch) == MAX_BATCH_FILES or sum(f.size for f in batch) + job.size > MAX_BATCH_BYTES:
            messages.append(TransferMessage(VERSION, run_id, survey, tuple(batch)))
            batch = []
        batch.append(job)
    if batch:
        messages.append(TransferMessage(VERSION, run_id, survey, tuple(batch)))
    return messages


# --- parsing: strict, every field checked -------------------------------------------------------------------------


def _get(doc: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(doc, dict) or name not in doc:
        raise ValidationError(f"transfer message: {where} has no {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ValidationError(f"transfer message: {where}.{name} is {type(value).__name__}, not {wanted}")
    return value


def _count(doc: Any, name: str, where: str) -> int:
    value: int = _get(doc, name, int, where)
    if value < 0:
        raise ValidationError(f"transfer message: {where}.{name} is negative ({value})")
    return value


def _job_file(doc: Any, where: str) -> JobFile:
    path: str = _get(doc, "path", str, where)
    url: str = _get(doc, "url", str, where)
    if not path or path.startswith("/") or path.endswith("/") or ".." in path.split("/") or "\\" in path:
        raise ValidationError(f"transfer message: {where}.path {path[:80]!r} would leave the survey's prefix")
    timestamp: str = _get(doc, "timestamp", str, where)
    try:
        datetime.fromisoformat(timestamp)
    except ValueError:
        raise ValidationError(f"transfer message: {where}.timestamp {timestamp[:40]!r} is not ISO 8601") from None
    return JobFile(path, url, _count(doc, "size", where), timestamp)


def _resume(doc: Any) -> Resume:
    raw_parts = _get(doc, "parts", list, "resume")
    if not 1 <= len(raw_parts) <= MAX_PARTS:
        raise ValidationError(f"transfer message: resume.parts has {len(raw_parts)} parts, not 1 to {MAX_PARTS}")
    parts = tuple(
        Part(_count(p, "PartNumber", f"resume.parts[{i}]"), _get(p, "ETag", str, f"resume.parts[{i}]"))
        for i, p in enumerate(raw_parts)
    )
    if [p.number for p in parts] != list(range(1, len(parts) + 1)):
        raise ValidationError("transfer message: resume.parts are not numbered 1, 2, ... in order")
    state = _get(doc, "sha256_state", dict, "resume")
    digests = tuple(_get(state, "digests", list, "resume.sha256_state"))
    if len(digests) != len(parts) or not all(_is_sha256(d) for d in digests):
        raise ValidationError("transfer message: resume.sha256_state.digests do not match its parts")
    part_size = _count(state, "part_size", "resume.sha256_state")
    if part_size < 1:
        raise ValidationError("transfer message: resume.sha256_state.part_size is 0: not a part size")
    offset = _count(doc, "offset", "resume")
    if offset != part_size * len(parts):  # a pause comes at a part boundary: every part so far is whole
        raise ValidationError(
            f"transfer message: resume.offset {offset} is not the sum of its {len(parts)} part(s) of {part_size} bytes"
        )
    return Resume(
        upload_id=_get(doc, "upload_id", str, "resume"),
        offset=offset,
        parts=parts,
        validator=_get(doc, "validator", str, "resume"),
        sha256_state=PartDigests(part_size, digests),
    )


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def parse_message(body: str, base_url: str) -> TransferMessage:
    """A transfer message from its JSON body, every file in its survey's folder under ``base_url``; anything else
    is a :class:`ValidationError` naming what is wrong."""
    try:
        doc: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationError("transfer message: the body is not JSON") from None
    if _get(doc, "v", int, "the message") != VERSION:
        raise ValidationError(f"transfer message: version {doc['v']} is not {VERSION}")
    files = tuple(_job_file(f, f"files[{i}]") for i, f in enumerate(_get(doc, "files", list, "the message")))
    if not files:
        raise ValidationError("transfer message: files is empty")
    raw_resume = doc.get("resume")
    resume = None if raw_resume is None else _resume(raw_resume)
    if resume is not None and len(files) != 1:
        raise ValidationError("transfer message: resume is only for a single-file message")
    if resume is not None and resume.offset >= files[0].size:
        raise ValidationError(
            f"transfer message: resume.offset {resume.offset} is not before the end of the file ({files[0].size} bytes)"
        )
    run_id: str = _get(doc, "run_id", str, "the message")
    survey: str = _get(doc, "survey", str, "the message")
    if not _RUN_ID.fullmatch(run_id) or not is_survey_name(survey):
        raise ValidationError(f"transfer message: run_id {run_id[:80]!r} or survey {survey[:20]!r} is malformed")
    folder = survey_url(base_url, survey)
    for job in files:
        _check_in_folder(job, folder)
    return TransferMessage(VERSION, run_id, survey, files, resume)


def _check_in_folder(job: JobFile, folder: str) -> None:
    """``job``'s URL is in the survey ``folder`` under the listing's link rules, and its path is that URL's path."""
    if _has_userinfo(job.url):
        raise ValidationError(f"transfer message: {log.redact(job.url)} carries a user name: no listing's link does")
    rel, why = relative(job.url, folder, folder)
    if rel is None:
        raise ValidationError(f"transfer message: {log.redact(job.url)} {why} ({log.redact(folder)})")
    if rel != job.path:
        raise ValidationError(f"transfer message: path {job.path[:200]!r} is not its URL's path {rel[:200]!r}")


def _has_userinfo(url: str) -> bool:
    try:
        return urlsplit(url).username is not None
    except ValueError:  # not a URL urllib reads: relative() refuses it
        return False
