"""``dataquest verify``: re-hash the mirror against the SHA-256 each object recorded, and repair what differs.

Each object under ``bls/<survey>/`` recorded the SHA-256 of its bytes when the sync wrote it: in its ``sha256``
metadata (a single-part upload), in its ``sha256`` tag (a multipart upload, whose metadata is fixed before the bytes
are seen), or at least in S3's own ``ChecksumSHA256`` (a full-object checksum; a multipart upload's composite
``<hash>-<parts>`` cannot be compared with a file's hash and is not used). An object the transfer function uploaded
over several invocations records the chained digest in its ``sha256-parts`` tag with its ``part-size``
(:mod:`dataquest.bls.transfer.resume`): its bytes are hashed part by part and compared with that. Verify HEADs each
object, reads its bytes back streamed (1 MiB at a time, a few objects at once: memory stays bounded whatever the size),
pinned to the version it HEADed (``If-Match``), and compares. An object whose bytes no longer match is
``mismatched``; one with no record at all is ``unrecorded``. S3 checks a body against its checksum on upload, not
afterwards: an object replaced with bytes of the same size (and its old metadata copied over) is exactly what a sync
never notices and verify does.

With ``repair``, each mismatched or unrecorded object is fetched again from the source through the sync's own
transfer path (streamed, replaced whole or not at all, the hash recorded), under the survey's lease; an
object whose file is no longer listed is left for the next sync to delete, and reported as an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls import lease as leases
from dataquest.bls.links import survey_url, within
from dataquest.bls.listing import walk
from dataquest.bls.plan import mirror_prefix, source_metadata
from dataquest.bls.transfer.resume import PartsDigest
from dataquest.bls.transfer.upload import TransferConfig, transfer
from dataquest.config import (
    ALL_SURVEYS,
    BLS_PREFIX,
    META_SHA256,
    TAG_PART_SIZE,
    TAG_SHA256,
    TAG_SHA256_PARTS,
    Settings,
    is_survey_name,
)
from dataquest.documents import INTERNAL, ItemError
from dataquest.errors import DataQuestError, StorageError, ValidationError, error_line
from dataquest.storage import NOT_FOUND_CODES, aws_error, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.http.client import Fetcher

logger = log.get(__name__)

CHUNK = 1024 * 1024
WORKERS = 4
MAX_PART_SIZE = 5 * 1024**3  # S3's limits on a multipart upload's parts
MAX_PARTS = 10_000


@dataclass(frozen=True)
class Mismatch:
    """An object whose bytes hash to ``actual``, not to the ``recorded`` SHA-256 (kept in ``recorded_in``)."""

    key: str
    recorded: str
    actual: str
    recorded_in: str


@dataclass(frozen=True)
class Unrecorded:
    """An object with no SHA-256 recorded anywhere; ``actual`` is what its bytes hash to."""

    key: str
    actual: str


@dataclass
class VerifySummary:
    """What verify found: the contract's ``verify --json`` document, through :func:`documents.to_document`."""

    surveys: list[str] = field(default_factory=list, metadata=INTERNAL)
    checked: int = 0
    mismatched: list[Mismatch] = field(default_factory=list)
    unrecorded: list[Unrecorded] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing left wrong: every mismatch and unrecorded object repaired, no error."""
        wrong = {d.key for d in self.mismatched} | {d.key for d in self.unrecorded}
        return not self.errors and wrong <= set(self.repaired)


@dataclass(frozen=True)
class Finding:
    """One object checked: what it recorded (and where), what its bytes hash to, or why it could not be read."""

    key: str
    recorded: str | None = None
    source: str | None = None
    actual: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Record:
    """What a HEAD (and the tags) says of an object: its recorded SHA-256 and where, its ETag, version and size."""

    sha256: str | None
    recorded_in: str | None
    etag: str
    version_id: str | None
    size: int


def recorded_sha256(s3: S3Client, bucket: str, key: str) -> Record:
    """The object's :class:`Record` from a HEAD (and the tags where needed)."""
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    etag = str(head.get("ETag", ""))
    version = head.get("VersionId")
    version_id = str(version) if version and version != "null" else None
    size = int(head.get("ContentLength", 0))
    meta = head.get("Metadata", {})
    if meta.get(META_SHA256):
        return Record(meta[META_SHA256].lower(), "metadata", etag, version_id, size)
    tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
    tagged = {t["Key"]: t["Value"] for t in tags}
    if tagged.get(TAG_SHA256):
        return Record(tagged[TAG_SHA256].lower(), "tag", etag, version_id, size)
    if tagged.get(TAG_SHA256_PARTS) and TAG_PART_SIZE in tagged:
        where = f"{TAG_SHA256_PARTS} tag/{tagged[TAG_PART_SIZE]}"
        return Record(tagged[TAG_SHA256_PARTS].lower(), where, etag, version_id, size)
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum:  # "<base64>-<parts>" is a composite of the parts' checksums
        try:
            return Record(base64.b64decode(checksum, validate=True).hex(), "ChecksumSHA256", etag, version_id, size)
        except (binascii.Error, ValueError):
            pass
    return Record(None, None, etag, version_id, size)


def part_size_of(record: Record) -> int:
    """The ``part-size`` tag of an object that recorded a chained digest, if it is the part size of a real
    multipart upload of this object: 1 byte to 5 GiB, at most 10,000 parts, as many as S3's ETag counts (``-N``).
    Anything else is a :class:`ValidationError` (a part size of 0 would never end, 1 would hash byte by byte)."""
    raw = (record.recorded_in or "").rsplit("/", 1)[-1]
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else 0
    parts = -(-record.size // value) if value else 0
    counted = record.etag.strip('"').rpartition("-")[2]
    said = int(counted) if "-" in record.etag and counted.isascii() and counted.isdigit() else None
    if not 1 <= value <= MAX_PART_SIZE or parts > MAX_PARTS:
        raise ValidationError(
            f"its part-size tag {raw[:20]!r} is not the part size of a {record.size}-byte object "
            f"(1 byte to 5 GiB, at most {MAX_PARTS} parts); run `dataquest verify --repair` to fetch it again"
        )
    if said is not None and said != max(parts, 1):
        raise ValidationError(
            f"its part-size tag {raw[:20]!r} makes {parts} parts of its {record.size} bytes, but S3 says {said} parts; "
            "run `dataquest verify --repair` to fetch it again"
        )
    return value


def _hasher(record: Record) -> hashlib._Hash | PartsDigest:
    """The plain SHA-256, or the chained digest of ``part-size`` parts when that is what the object recorded."""
    if record.recorded_in is not None and record.recorded_in.startswith(f"{TAG_SHA256_PARTS} tag/"):
        return PartsDigest(part_size_of(record))
    return hashlib.sha256()


def check_object(s3: S3Client, bucket: str, key: str) -> Finding:
    """HEAD, then read the object's bytes (streamed, pinned to that version) and hash them."""
    try:
        record = recorded_sha256(s3, bucket, key)
        digest = _hasher(record)
        pin: dict[str, str] = {"VersionId": record.version_id} if record.version_id else {"IfMatch": record.etag}
        body = s3.get_object(Bucket=bucket, Key=key, **pin)["Body"]  # type: ignore[arg-type]
        for chunk in body.iter_chunks(chunk_size=CHUNK):
            digest.update(chunk)
    except ValidationError as exc:
        return Finding(key, error=f"s3://{bucket}/{key}: {exc}")
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND_CODES:
            return Finding(key, error=f"s3://{bucket}/{key} was deleted while verifying")
        if code in ("PreconditionFailed", "412"):
            return Finding(key, error=f"s3://{bucket}/{key} changed while verifying; run verify again")
        return Finding(key, error=f"reading s3://{bucket}/{key} failed: {aws_error(exc)}")
    except BotoCoreError as exc:
        return Finding(key, error=f"reading s3://{bucket}/{key} failed: {aws_error(exc)}")
    except Exception as exc:  # noqa: BLE001 - a cut stream, a bug: this object's error, never the run's
        return Finding(key, error=f"reading s3://{bucket}/{key} failed: {error_line(exc)}")
    return Finding(key, recorded=record.sha256, source=record.recorded_in, actual=digest.hexdigest())


def survey_names(s3: S3Client, bucket: str, surveys: tuple[str, ...]) -> tuple[list[str], list[ItemError]]:
    """The surveys to verify: as given, or with ``all``, every ``bls/<survey>/`` folder in the bucket whose name
    obeys the survey-name rule; each other folder is an error (nothing is requested or leased on its account)."""
    if "all" not in surveys:
        return list(surveys), []
    found: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=BLS_PREFIX, Delimiter="/"):
            found += [p["Prefix"][len(BLS_PREFIX) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing s3://{bucket}/{BLS_PREFIX} failed: {aws_error(exc)}", key=BLS_PREFIX) from exc
    names = sorted(n for n in found if is_survey_name(n) and n != ALL_SURVEYS)
    odd = [
        ItemError(key=f"{BLS_PREFIX}{n}/", error=f"{BLS_PREFIX}{n}/ is not a survey name's folder: not verified")
        for n in sorted(set(found) - set(names))
    ]
    return names, odd


def _keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    try:
        return [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing s3://{bucket}/{prefix} failed: {aws_error(exc)}", key=prefix) from exc


def verify(
    settings: Settings,
    s3: S3Client,
    *,
    repair: bool = False,
    fetcher: Fetcher | None = None,
    transfer_config: TransferConfig | None = None,
) -> VerifySummary:
    """Check every object of the surveys of ``settings``; with ``repair`` (and a ``fetcher``), re-fetch the bad."""
    bucket = settings.require_bucket()
    if repair and fetcher is None:
        raise ValueError("repair needs a fetcher")
    names, odd = survey_names(s3, bucket, settings.surveys)
    summary = VerifySummary(surveys=names, errors=odd)
    for survey in summary.surveys:
        prefix = mirror_prefix(survey)
        try:
            keys = _keys(s3, bucket, prefix)
        except StorageError as exc:
            summary.errors.append(ItemError(key=prefix, error=str(exc)))
            continue
        bad: list[str] = []
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dq-verify") as pool:
            for finding in pool.map(lambda k: check_object(s3, bucket, k), keys):
                _tally(summary, finding, bad)
        log.event(logger, "survey verified", survey=survey, checked=len(keys), bad=len(bad))
        if repair and bad and fetcher is not None:
            _repair(settings, s3, fetcher, survey, bad, summary=summary, transfer_config=transfer_config)
    return summary


def _tally(summary: VerifySummary, finding: Finding, bad: list[str]) -> None:
    key = finding.key
    if finding.error is not None:
        summary.errors.append(ItemError(key=key, error=finding.error))
        return
    summary.checked += 1
    if finding.recorded is None:
        summary.unrecorded.append(Unrecorded(key, finding.actual or ""))
        log.event(logger, "object has no recorded sha256", level=logging.WARNING, key=key)
        bad.append(key)
    elif finding.recorded != finding.actual:
        summary.mismatched.append(Mismatch(key, finding.recorded, finding.actual or "", finding.source or ""))
        log.event(logger, "object does not match its sha256", level=logging.ERROR, key=key, recorded=finding.recorded)
        bad.append(key)


def _repair(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    settings: Settings,
    s3: S3Client,
    fetcher: Fetcher,
    survey: str,
    keys: list[str],
    *,
    summary: VerifySummary,
    transfer_config: TransferConfig | None,
) -> None:
    bucket = settings.require_bucket()
    prefix = mirror_prefix(survey)
    folder = survey_url(settings.bls_base_url, survey)
    try:
        lease = leases.acquire(s3, bucket, survey, ttl=settings.lease_ttl)
    except DataQuestError as exc:
        summary.errors += [ItemError(key=k, error=f"not repaired: {exc}") for k in keys]
        return
    try:
        lease.keep_alive()
        tree = walk(fetcher, folder)
        listed = {prefix + f.path: f for f in tree.files}
        for key in keys:
            lease.check()
            source = listed.get(key)
            if source is None:
                summary.errors.append(
                    ItemError(key=key, error=f"not repaired: {folder} no longer lists it; the next sync deletes it")
                )
                continue
            try:
                result = transfer(
                    fetcher,
                    s3,
                    bucket=bucket,
                    key=key,
                    source=source,
                    metadata=source_metadata(source),
                    config=transfer_config,
                    allow=within(folder),  # the sync's redirect rule: every hop stays in the survey's folder
                )
            except DataQuestError as exc:
                summary.errors.append(ItemError(key=key, error=f"not repaired: {exc}"))
                continue
            summary.repaired.append(key)
            log.event(logger, "object repaired", key=key, sha256=result.sha256, size=result.size)
    except DataQuestError as exc:
        summary.errors.append(ItemError(key=prefix, error=f"repair of {survey} stopped: {exc}"))
    finally:
        lease.release()
