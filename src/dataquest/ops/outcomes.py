"""What the trails say: a run's transfer outcomes merged by file (:class:`Outcomes`), and the lines of a JSON-lines
object read as events, a line that is cut or has a field of an unexpected type skipped with a warning
(:func:`events_of`). :mod:`dataquest.ops.status` shows them; ``dataquest run`` counts its transfers with them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dataquest import log, storage
from dataquest.config import BLS_PREFIX
from dataquest.documents import INTERNAL, ItemError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

SLOWEST = 5


@dataclass
class SlowFile:
    key: str
    ms: int
    bytes: int


_RANK = {"resumed": 0, "error": 1, "skip": 2, "upload": 3}
"""A file's state is the best of its outcomes, whatever order they are read in (message ids do not sort by
time): uploaded beats already there, which beats an error (a redelivery that went on to succeed), which beats
resumed (a continuation not finished yet)."""


@dataclass
class Outcomes:
    """A run's transfer outcomes, by file: the best word on each, the bytes and the milliseconds.

    ``uploaded``, ``skipped`` and ``failed`` count files; ``resumed`` counts the pauses (continuations sent).
    ``bytes``: what was downloaded, every invocation of a resumed file added up (a transfer's outcome counts its
    own invocation's ``bytes``; an in-process trail's upload, the file's ``size``)."""

    uploaded: int = 0
    skipped: int = 0
    resumed: int = 0
    failed: int = 0
    bytes: int = 0
    files: dict[str, str] = field(default_factory=dict, metadata=INTERNAL)  # key -> best outcome
    ms: dict[str, int] = field(default_factory=dict, metadata=INTERNAL)
    sizes: dict[str, int] = field(default_factory=dict, metadata=INTERNAL)
    errors: dict[str, ItemError] = field(default_factory=dict, metadata=INTERNAL)

    def add(self, doc: dict[str, Any], *, transfer: bool) -> None:
        """One event of a trail (``transfer``: a transfer's outcome, where ``skip`` means already there)."""
        event = str(doc.get("event") or "")
        key = _file_key(doc)
        if event not in _RANK or key is None or (event == "skip" and not transfer):
            return
        moved = int(doc.get("bytes") or 0) if transfer else int(doc.get("size") or 0)  # this invocation's
        self.ms[key] = self.ms.get(key, 0) + int(doc.get("ms") or 0)
        if event in ("upload", "resumed"):
            self.bytes += moved
            self.sizes[key] = self.sizes.get(key, 0) + moved
        if event == "resumed":
            self.resumed += 1
        if event == "error" and transfer:  # a trail's own errors are read from the trail
            self.errors[key] = ItemError(key=key, error=str(doc.get("error", "?")))
        before = self.files.get(key)
        if before is not None and _RANK[before] >= _RANK[event]:
            return
        self.files[key] = event
        self._count(before, -1)
        self._count(event, 1)

    def _count(self, state: str | None, n: int) -> None:
        if state == "upload":
            self.uploaded += n
        elif state == "skip":
            self.skipped += n
        elif state == "error":
            self.failed += n

    @property
    def done(self) -> int:
        return self.uploaded + self.skipped

    def failures(self) -> list[ItemError]:
        """The transfers' errors of the files that never got done."""
        return [e for k, e in sorted(self.errors.items()) if self.files.get(k) == "error"]

    def slowest(self, n: int = SLOWEST) -> list[SlowFile]:
        ranked = sorted(((k, ms) for k, ms in self.ms.items() if ms > 0), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [SlowFile(k, ms, self.sizes.get(k, 0)) for k, ms in ranked]


def stream_lines(s3: S3Client, bucket: str, key: str) -> Iterator[bytes]:
    """The lines of ``key`` as S3 sends them (nothing when there is no such object)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if storage.error_code(exc) in storage.NOT_FOUND_CODES:
            return
        raise
    yield from body.iter_lines(chunk_size=64 * 1024)


def events_of(lines: Iterable[bytes], where: str) -> Iterator[dict[str, Any]]:
    """The events of a JSON-lines object; a line cut by a killed writer, or with a field of an unexpected type (a
    count that is not a whole number, a name that is not a string), is skipped, with one warning per object."""
    skipped = 0
    for line in lines:
        try:
            doc = json.loads(line.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            skipped += 1
            continue
        if isinstance(doc, dict) and _well_typed(doc):
            yield doc
        elif line.strip():
            skipped += 1
    if skipped:
        log.event(
            logger,
            "status: lines skipped (cut, or a field of an unexpected type)",
            level=logging.WARNING,
            key=where,
            lines=skipped,
        )


_COUNTS = ("bytes", "ms", "size", "files", "duration_ms")
_TEXTS = ("event", "survey", "path", "key", "error", "time")


def _well_typed(doc: dict[str, Any]) -> bool:
    counts = all(_is_count(doc.get(n)) for n in _COUNTS)
    texts = all(doc.get(n) is None or isinstance(doc[n], str) for n in _TEXTS)
    surveys = doc.get("surveys")
    names = surveys is None or (isinstance(surveys, list) and all(isinstance(x, str) for x in surveys))
    return counts and texts and names


def _is_count(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 63)


def _file_key(doc: dict[str, Any]) -> str | None:
    key = doc.get("key")
    if isinstance(key, str) and key.startswith(BLS_PREFIX):
        return None if key.endswith("/") else key  # a survey's prefix names a plan's problem, not a file
    survey, path = doc.get("survey"), doc.get("path")
    if isinstance(survey, str) and isinstance(path, str) and not path.startswith(("http://", "https://")):
        return f"{BLS_PREFIX}{survey}/{path}"
    return None
