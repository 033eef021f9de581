"""Streaming transfer: from the HTTP response straight into S3, never half-written.

A file smaller than ``multipart_threshold`` is read into memory and written with one ``PutObject`` (its SHA-256
in metadata and in S3's ``ChecksumSHA256``, which S3 verifies). A larger one is streamed as a multipart upload:
parts of ``part_size`` bytes, at most ``concurrency`` of them in flight (``DQ_PARTS_IN_FLIGHT``), so memory
stays near ``(concurrency + 2) * part_size`` whatever the file's size, and no temporary file is written. Its
SHA-256 is computed on the way, on a thread of its own that follows the blocks in order, and put in the object's
``sha256`` tag once the upload is complete (metadata is fixed before the bytes are seen; the object is never
copied a second time).

Every redirect hop of the download obeys the caller's policy (the sync's: the listing's rules). The object's
metadata records the response's ``Last-Modified`` (``source-last-modified``) and is kept within S3's 2 KB limit
(a long ``source-url`` is cut and flagged ``source-url-truncated: true``).

The byte count is checked against the listing's size and the response's ``Content-Length``. Any failure (a cut
body, a size that does not match, an S3 error, an interrupt) aborts the multipart upload, so S3 keeps the
previous object untouched and no parts are left behind; the error is raised for the run to report.

Resumed transfers (the fan-out's transfer function, :mod:`dataquest.bls.transfer.resume`): a file bigger than one
invocation is uploaded in parts over several invocations, and Python's hashlib state cannot be carried from one
to the next. Such an object records the *chained* digest instead of ``sha256``: the ``sha256-parts`` tag holds the
SHA-256 of the concatenation of each part's SHA-256 (the 32-byte digests, in part order) and the ``part-size`` tag
the part size in bytes (every part but the last has it). That is computed as the parts go, never by reading the
object back, and ``dataquest verify`` recomputes it from the object's bytes cut at ``part-size``. A transfer that
finishes in the invocation where it started records the plain ``sha256`` tag as above.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.listing import SourceFile
from dataquest.config import META_LAST_MODIFIED, META_SHA256, META_URL, TAG_SHA256
from dataquest.errors import SourceError, StorageError
from dataquest.http.client import BLS, RedirectPolicy, same_origin
from dataquest.storage import aws_error, fit_metadata

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.http.client import Fetcher

logger = log.get(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last


@dataclass(frozen=True)
class TransferConfig:
    """How files are streamed into S3. Tests use small values so that multipart paths run on small files."""

    part_size: int = 8 * MiB
    multipart_threshold: int = 8 * MiB
    concurrency: int = 4

    def __post_init__(self) -> None:
        if self.part_size <= 0 or self.multipart_threshold < 1 or self.concurrency < 1:
            raise ValueError(f"invalid transfer configuration: {self}")


@dataclass(frozen=True)
class TransferResult:
    """What an upload wrote; a document (:func:`dataquest.documents.to_document`) for the run's trail."""

    key: str
    size: int
    sha256: str
    multipart: bool
    parts: int


def transfer(  # noqa: PLR0913 - the clients, then keyword-only: what goes where, and how
    fetcher: Fetcher,
    s3: S3Client,
    *,
    bucket: str,
    key: str,
    source: SourceFile,
    metadata: dict[str, str],
    config: TransferConfig | None = None,
    on_bytes: Callable[[int], None] | None = None,
    allow: RedirectPolicy = same_origin,
) -> TransferResult:
    """Copy ``source`` to ``s3://bucket/key``; the object is replaced whole or not at all."""
    cfg = config or TransferConfig()
    with fetcher.stream(source.url, source=BLS, allow=allow) as response:
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) != source.size:
            raise SourceError(
                f"GET {source.url}: Content-Length is {length} but the listing says {source.size} bytes "
                "(the file changed since it was listed?); nothing written; run again",
                url=source.url,
            )
        content_type = response.headers.get("content-type", "application/octet-stream")
        metadata = with_last_modified(metadata, response.headers.get("last-modified"))
        blocks = blocks_of(response, source, cfg, on_bytes)
        if source.size < cfg.multipart_threshold:
            target = _Target(s3, bucket, key, content_type, metadata)
            return _put_single(target, blocks)
        return _put_multipart(_Target(s3, bucket, key, content_type, metadata), blocks, cfg)


def with_last_modified(metadata: dict[str, str], value: str | None) -> dict[str, str]:
    """``metadata`` plus the response's ``Last-Modified`` (ASCII, bounded), within S3's 2 KB limit with room for
    the SHA-256 a single-part upload adds."""
    meta = dict(metadata)
    if value:
        meta[META_LAST_MODIFIED] = value.encode("ascii", "backslashreplace").decode("ascii")[:64]
    room = {**meta, META_SHA256: "0" * 64}
    fitted = fit_metadata(room, cuttable=(META_URL,))
    del fitted[META_SHA256]
    return fitted


def blocks_of(
    response: httpx.Response,
    source: SourceFile,
    cfg: TransferConfig,
    on_bytes: Callable[[int], None] | None,
    start: int = 0,
) -> Iterator[bytes]:
    """The body as blocks of ``part_size`` bytes (the last one shorter), checked against the listed size (a body
    from byte ``start`` on, for a ranged GET)."""
    chunks: list[bytes] = []
    filled = 0
    total = start
    try:
        for received in response.iter_bytes():  # as the network gives them: no re-chunking copies
            chunk = received
            total += len(chunk)
            if total > source.size:
                raise SourceError(
                    f"GET {source.url}: the body is longer than the listed {source.size} bytes "
                    "(the file changed since it was listed?); nothing written; run again",
                    url=source.url,
                )
            if on_bytes is not None:
                on_bytes(len(chunk))
            while filled + len(chunk) >= cfg.part_size:  # one copy per part: the join
                need = cfg.part_size - filled
                chunks.append(chunk[:need] if need < len(chunk) else chunk)
                yield b"".join(chunks)
                chunks, filled, chunk = [], 0, chunk[need:]
            if chunk:
                chunks.append(chunk)
                filled += len(chunk)
    except httpx.HTTPError as exc:
        raise SourceError(
            f"GET {source.url}: the body was cut after {total} of {source.size} bytes "
            f"({type(exc).__name__}: {exc}); nothing written; the next run repairs it",
            url=source.url,
        ) from exc
    if total != source.size:
        raise SourceError(
            f"GET {source.url}: the body ended after {total} of the listed {source.size} bytes; nothing written; "
            "the next run repairs it",
            url=source.url,
        )
    if chunks:
        yield b"".join(chunks)


@dataclass(frozen=True)
class _Target:
    s3: S3Client
    bucket: str
    key: str
    content_type: str
    metadata: dict[str, str]


def _put_single(target: _Target, blocks: Iterator[bytes]) -> TransferResult:
    s3, bucket, key, metadata, content_type = target.s3, target.bucket, target.key, target.metadata, target.content_type
    body = b"".join(blocks)
    digest = hashlib.sha256(body)
    meta = {**metadata, META_SHA256: digest.hexdigest()}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata=meta,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"PUT s3://{bucket}/{key} failed: {aws_error(exc)}; the next run retries", key=key) from exc
    return TransferResult(key=key, size=len(body), sha256=digest.hexdigest(), multipart=False, parts=1)


class _Parts:
    """The parts of one multipart upload: at most ``concurrency`` in flight, the file's SHA-256 on its own thread."""

    def __init__(self, target: _Target, upload_id: str, cfg: TransferConfig) -> None:
        self.target = target
        self.upload_id = upload_id
        self.cfg = cfg
        self.digest = hashlib.sha256()
        self.size = 0
        self.slots = threading.BoundedSemaphore(cfg.concurrency)
        self.pending: set[Future[dict[str, object]]] = set()
        self.done: list[dict[str, object]] = []

    def send(self, blocks: Iterator[bytes], pool: ThreadPoolExecutor, hasher: ThreadPoolExecutor) -> None:
        """Every block as a part; the hash follows the blocks in order (hashlib releases the GIL), so that hashing
        overlaps reading the next block instead of delaying it; at most one block waits to be hashed."""
        hashed: Future[None] | None = None
        for number, block in enumerate(blocks, start=1):
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(self.digest.update, block)
            self.size += len(block)
            self._collect({f for f in self.pending if f.done()})
            self.slots.acquire()
            self.pending.add(pool.submit(self._upload, number, block))
            del block
        if hashed is not None:
            hashed.result()
        while self.pending:
            finished, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            self._collect(finished)

    def complete(self) -> None:
        t = self.target
        self.done.sort(key=lambda p: int(str(p["PartNumber"])))
        t.s3.complete_multipart_upload(
            Bucket=t.bucket,
            Key=t.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.done},  # type: ignore[typeddict-item]
        )

    def _upload(self, number: int, body: bytes) -> dict[str, object]:
        t = self.target
        try:
            resp = t.s3.upload_part(Bucket=t.bucket, Key=t.key, UploadId=self.upload_id, PartNumber=number, Body=body)
            return {"PartNumber": number, "ETag": resp["ETag"]}
        finally:
            self.slots.release()

    def _collect(self, futures: set[Future[dict[str, object]]]) -> None:
        for fut in futures:
            self.pending.discard(fut)
            self.done.append(fut.result())  # raises the part's error, which aborts the upload


def _put_multipart(target: _Target, blocks: Iterator[bytes], cfg: TransferConfig) -> TransferResult:
    s3, bucket, key = target.s3, target.bucket, target.key
    where = f"s3://{bucket}/{key}"
    try:
        created = s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=target.content_type, Metadata=target.metadata
        )
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"starting a multipart upload to {where} failed: {aws_error(exc)}", key=key) from exc
    parts = _Parts(target, created["UploadId"], cfg)
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="dq-part")
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dq-sha256")
    try:
        parts.send(blocks, pool, hasher)
        parts.complete()
    except BaseException as exc:
        for fut in parts.pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        abort_upload(s3, bucket, key, parts.upload_id)
        if isinstance(exc, ClientError | BotoCoreError):
            raise StorageError(
                f"multipart upload to {where} failed: {aws_error(exc)}; aborted, the previous object is untouched; "
                "the next run retries",
                key=key,
            ) from exc
        raise
    finally:
        pool.shutdown(wait=True)
        hasher.shutdown(wait=True)
    sha = parts.digest.hexdigest()
    try:
        s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": TAG_SHA256, "Value": sha}]})
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(
            f"tagging {where} with its SHA-256 failed: {aws_error(exc)}; the bytes are complete and the next run "
            "uploads the file again to record it",
            key=key,
        ) from exc
    return TransferResult(key=key, size=parts.size, sha256=sha, multipart=True, parts=len(parts.done))


def abort_upload(s3: S3Client, bucket: str, key: str, upload_id: str) -> None:
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError) as exc:
        log.event(
            logger,
            "multipart abort failed",
            level=logging.ERROR,
            key=key,
            upload_id=upload_id,
            error=aws_error(exc),
        )
