"""Resumable transfers: a file bigger than one invocation, streamed into one multipart upload over several.

``ResumableJob.transfer`` streams the file part by part, each part uploaded while the next is read (one part in
flight: the source, paced and capped at the transfer streams, is the bottleneck, not S3, and the parts stay in
order for the chained digest). After each part it asks ``near_limit()``; near the time limit it stops
at that part boundary and returns :class:`Paused` with a :class:`~dataquest.bls.transfer.messages.Resume`: the upload
id, the next byte offset, the parts so far, the validator (the first response's ``Last-Modified``, else its ``ETag``)
and each part's SHA-256. The caller sends that as a continuation message. The continuation asks for
``Range: bytes=<offset>-`` with ``If-Range: <validator>``: a ``206`` goes on where the last one stopped; a ``200``
means the source changed, so the upload is aborted and the file starts over from byte 0 with that response.
A continuation whose upload is gone (aborted by a planner's clean-up of stale uploads, or by a failure) starts
over too. A file with no validator is never paused.

The whole-file SHA-256 (see :mod:`dataquest.bls.transfer.upload`): a transfer that finishes in the invocation where it
started records ``sha256``; a resumed one records the chained ``sha256-parts`` and ``part-size`` tags
(:class:`PartsDigest`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.transfer.messages import Part, PartDigests, Resume
from dataquest.bls.transfer.upload import (
    TransferConfig,
    TransferResult,
    abort_upload,
    blocks_of,
    transfer,
    with_last_modified,
)
from dataquest.config import TAG_PART_SIZE, TAG_SHA256, TAG_SHA256_PARTS
from dataquest.errors import SourceError, StorageError
from dataquest.http.client import BLS, RedirectPolicy
from dataquest.storage import aws_error, error_code

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_s3 import S3Client

    from dataquest.bls.listing import SourceFile
    from dataquest.http.client import Fetcher

logger = log.get(__name__)


class PartsDigest:
    """The chained digest: SHA-256 over the concatenated SHA-256 digests of consecutive ``part_size`` pieces."""

    def __init__(self, part_size: int, digests: tuple[str, ...] = ()) -> None:
        if part_size < 1:
            raise ValueError(f"a part size of {part_size} bytes is no part size")
        self.part_size = part_size
        self.digests = list(digests)
        self._part = hashlib.sha256()
        self._filled = 0

    def update(self, data: bytes) -> None:
        """Feed bytes as they come (any chunk size); a part's digest is taken at each ``part_size`` boundary."""
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self._filled)
            self._part.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.part_size:
                self.digests.append(self._part.hexdigest())
                self._part, self._filled = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        digests = self.digests + ([self._part.hexdigest()] if self._filled else [])
        return hashlib.sha256(b"".join(bytes.fromhex(d) for d in digests)).hexdigest()


@dataclass(frozen=True)
class Paused:
    """Stopped at a part boundary near the time limit: send ``resume`` on in a continuation message."""

    resume: Resume
    downloaded: int


@dataclass(frozen=True)
class Finished:
    """The object is complete; ``recorded_in`` names the tag its digest went to (``sha256`` or ``sha256-parts``)."""

    result: TransferResult
    downloaded: int
    recorded_in: str
    restarted: bool = False


@dataclass
class _Upload:
    """One multipart upload as it goes: its parts, their digests, the next offset."""

    s3: S3Client
    bucket: str
    key: str
    upload_id: str
    validator: str | None
    digest: PartsDigest
    parts: list[Part] = field(default_factory=list)
    offset: int = 0
    whole: hashlib._Hash | None = None  # the plain SHA-256, while every byte went through this invocation

    def send(self, block: bytes) -> None:
        number = len(self.parts) + 1
        try:
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=block
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(
                f"uploading part {number} to s3://{self.bucket}/{self.key} failed: {aws_error(exc)}", key=self.key
            ) from exc
        self.parts.append(Part(number, resp["ETag"]))
        self.digest.digests.append(hashlib.sha256(block).hexdigest())
        if self.whole is not None:
            self.whole.update(block)
        self.offset += len(block)

    def pause(self, downloaded: int) -> Paused:
        state = PartDigests(self.digest.part_size, tuple(self.digest.digests))
        resume = Resume(self.upload_id, self.offset, tuple(self.parts), self.validator or "", state)
        return Paused(resume, downloaded)

    def complete(self, planned_size: int) -> tuple[str, str]:
        """Complete the upload and tag its digest: ``(digest, tag name)``. An upload resumed from a message is
        first held to what S3 has: its parts, in order, adding up to ``planned_size`` (else nothing completes)."""
        where = f"s3://{self.bucket}/{self.key}"
        if self.whole is None:
            held = held_parts(self.s3, self.bucket, self.key, self.upload_id)
            why = "the upload is gone" if held is None else mismatch(held, self.parts, planned_size)
            if why is not None:
                raise StorageError(
                    f"not completing the resumed upload to {where}: {why}; aborted, the previous object is untouched; "
                    "the next run transfers the file again",
                    key=self.key,
                )
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in self.parts]},
            )
            if self.whole is not None:
                sha, tags = self.whole.hexdigest(), [{"Key": TAG_SHA256, "Value": self.whole.hexdigest()}]
            else:
                sha = self.digest.hexdigest()
                tags = [
                    {"Key": TAG_SHA256_PARTS, "Value": sha},
                    {"Key": TAG_PART_SIZE, "Value": str(self.digest.part_size)},
                ]
            self.s3.put_object_tagging(Bucket=self.bucket, Key=self.key, Tagging={"TagSet": tags})  # type: ignore[typeddict-item]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(
                f"completing the upload to {where} failed: {aws_error(exc)}; the next run retries", key=self.key
            ) from exc
        return sha, tags[0]["Key"]


def held_parts(s3: S3Client, bucket: str, key: str, upload_id: str) -> list[tuple[int, str, int]] | None:
    """``(number, ETag, size)`` of each part S3 holds for ``upload_id``, in order; ``None`` when the upload is gone."""
    held: list[tuple[int, str, int]] = []
    try:
        for page in s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id):
            held += [(p["PartNumber"], p["ETag"], p["Size"]) for p in page.get("Parts", [])]
    except ClientError as exc:
        if error_code(exc) in ("NoSuchUpload", "404"):
            return None
        raise StorageError(f"reading the upload of s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc
    except BotoCoreError as exc:
        raise StorageError(f"reading the upload of s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc
    return sorted(held)


def mismatch(held: list[tuple[int, str, int]], parts: list[Part] | tuple[Part, ...], total: int) -> str | None:
    """Why the parts S3 holds are not ``parts`` adding up to ``total`` bytes, or ``None`` when they are."""
    if [(n, etag) for n, etag, _ in held] != [(p.number, p.etag) for p in parts]:
        return f"S3 holds parts {[n for n, _, _ in held][:20]}, not the message's {[p.number for p in parts][:20]}"
    size = sum(s for _, _, s in held)
    return None if size == total else f"its parts hold {size} bytes, not the planned {total}"


@dataclass(frozen=True)
class ResumableJob:
    """One file to copy into ``s3://bucket/key`` over as many invocations as it takes (:meth:`transfer`)."""

    fetcher: Fetcher
    s3: S3Client
    bucket: str
    key: str
    source: SourceFile
    metadata: dict[str, str]
    cfg: TransferConfig
    allow: RedirectPolicy
    near_limit: Callable[[], bool]

    def held_as_said(self, resume: Resume) -> bool:
        """Whether S3 holds the upload ``resume`` names, with its parts adding up to its offset. A continuation
        that disagrees (a planner's bug, a forged message) has its upload aborted: the file starts over."""
        held = held_parts(self.s3, self.bucket, self.key, resume.upload_id)
        if held is None:
            log.event(logger, "resumed upload gone: starting over", level=logging.WARNING, key=self.key)
            return False
        why = mismatch(held, resume.parts, resume.offset)
        if why is None:
            return True
        log.event(
            logger,
            "continuation disagrees with its upload: starting over",
            level=logging.WARNING,
            key=self.key,
            reason=why,
        )
        abort_upload(self.s3, self.bucket, self.key, resume.upload_id)
        return False

    def start(self, response: httpx.Response) -> _Upload:
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) != self.source.size:
            raise SourceError(
                f"GET {self.source.url}: Content-Length is {length} but the listing says {self.source.size} bytes "
                "(the file changed since it was listed?); nothing written; the next run plans it again",
                url=self.source.url,
            )
        last_modified = response.headers.get("last-modified")
        validator = last_modified or response.headers.get("etag")  # what If-Range compares on the continuation
        meta = with_last_modified(self.metadata, last_modified)
        content_type = response.headers.get("content-type", "application/octet-stream")
        try:
            created = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=content_type, Metadata=meta
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(
                f"starting a multipart upload to s3://{self.bucket}/{self.key} failed: {aws_error(exc)}",
                key=self.key,
            ) from exc
        digest = PartsDigest(self.cfg.part_size)
        return _Upload(self.s3, self.bucket, self.key, created["UploadId"], validator, digest, whole=hashlib.sha256())

    def go_on(self, resume: Resume, response: httpx.Response) -> _Upload:
        expected = f"bytes {resume.offset}-"
        if not response.headers.get("content-range", "").startswith(expected):
            raise SourceError(
                f"GET {self.source.url}: asked for bytes {resume.offset}- and got "
                f"{response.headers.get('content-range')!r}; run again",
                url=self.source.url,
            )
        digest = PartsDigest(resume.sha256_state.part_size, resume.sha256_state.digests)
        return _Upload(
            self.s3,
            self.bucket,
            self.key,
            resume.upload_id,
            resume.validator,
            digest,
            list(resume.parts),
            resume.offset,
        )

    def run(self, upload: _Upload, response: httpx.Response, restarted: bool) -> Paused | Finished:
        """The parts from ``upload.offset`` on: each part goes to S3 while the next one is read (one in flight,
        so the parts stay in order and the source never waits for S3), until the end or a pause."""
        downloaded, start = 0, upload.offset
        cfg = replace(self.cfg, part_size=upload.digest.part_size)
        sent: Future[None] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dq-part") as sender:
            try:
                for block in blocks_of(response, self.source, cfg, None, start=start):
                    if sent is not None:
                        sent.result()  # the previous part is in S3 (or its error raised) before this one goes
                    sent = sender.submit(upload.send, block)
                    downloaded += len(block)
                    if start + downloaded < self.source.size and upload.validator and self.near_limit():
                        sent.result()
                        return upload.pause(downloaded)
                if sent is not None:
                    sent.result()
                sha, recorded_in = upload.complete(self.source.size)
            except BaseException:
                if sent is not None:
                    wait([sent])  # no part lands after the abort
                abort_upload(self.s3, self.bucket, self.key, upload.upload_id)
                raise
        result = TransferResult(key=self.key, size=upload.offset, sha256=sha, multipart=True, parts=len(upload.parts))
        return Finished(result, downloaded, recorded_in, restarted)

    def transfer(self, resume: Resume | None) -> Paused | Finished:
        """Copy the file to ``s3://bucket/key``, or go on with ``resume``; pause near the time limit."""
        if resume is None and self.source.size < self.cfg.multipart_threshold:
            result = transfer(
                self.fetcher,
                self.s3,
                bucket=self.bucket,
                key=self.key,
                source=self.source,
                metadata=self.metadata,
                config=self.cfg,
                allow=self.allow,
            )
            return Finished(result, result.size, TAG_SHA256 if result.multipart else "metadata")
        restarted = False
        if resume is not None and not self.held_as_said(resume):
            resume, restarted = None, True
        headers = {} if resume is None else {"Range": f"bytes={resume.offset}-", "If-Range": resume.validator}
        with self.fetcher.stream(self.source.url, headers=headers, source=BLS, allow=self.allow) as response:
            if resume is not None and response.status_code != 206:  # 206 Partial Content: the range honoured
                log.event(logger, "source changed: starting over", level=logging.WARNING, key=self.key)
                abort_upload(self.s3, self.bucket, self.key, resume.upload_id)
                resume, restarted = None, True
            upload = self.start(response) if resume is None else self.go_on(resume, response)
            return self.run(upload, response, restarted)
