"""The mirror reader: what ``bls/<survey>/`` in S3 holds now (:class:`MirrorObject`), and what each object
recorded at its last upload.

:func:`read_mirror` lists the survey's prefix and reads (a HEAD, and for a multipart upload its ``sha256`` tag)
only the objects whose size agrees with their listed file: the plan (:mod:`dataquest.bls.plan`) needs nothing more
to decide. :func:`read_object` reads one object the same way (the transfer worker's skip rule).
:func:`abort_stale_uploads` clears the multipart uploads a killed run left under the prefix. The plan's ``check``
actions are settled by :mod:`dataquest.bls.checks`, which asks the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.listing import SourceFile
from dataquest.bls.transfer.upload import abort_upload
from dataquest.config import META_SHA256, META_SIZE, TAG_SHA256, TAG_SHA256_PARTS
from dataquest.errors import StorageError, error_line
from dataquest.storage import aws_error, head

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


logger = log.get("dataquest.bls.sync")


@dataclass(frozen=True)
class MirrorObject:
    """An object under ``bls/<survey>/`` as S3 lists it, with what its last upload recorded (if read)."""

    key: str
    size: int
    metadata: Mapping[str, str] | None = None
    sha256: str | None = None
    last_modified: datetime | None = None  # S3's own LastModified (aware, UTC)
    error: str | None = None  # why what it recorded could not be read (then it is left as it is this run)


def _needs_details(source: SourceFile, object_size: int) -> bool:
    """Whether deciding on ``source`` needs the object's metadata (a HEAD): only when the sizes agree."""
    return object_size == source.size


def _listed(s3: S3Client, bucket: str, prefix: str) -> tuple[dict[str, int], dict[str, datetime]]:
    """The sizes and S3 ``LastModified`` of the objects under ``prefix``."""
    sizes: dict[str, int] = {}
    written: dict[str, datetime] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                sizes[item["Key"]] = int(item.get("Size", 0))
                if "LastModified" in item:
                    written[item["Key"]] = item["LastModified"]
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing s3://{bucket}/{prefix} failed: {aws_error(exc)}", key=prefix) from exc
    return sizes, written


def read_mirror(s3: S3Client, bucket: str, prefix: str, files: tuple[SourceFile, ...]) -> dict[str, MirrorObject]:
    """The objects under ``prefix``; for those whose size matches their listed file, what they recorded."""
    sizes, written = _listed(s3, bucket, prefix)
    by_key = {prefix + f.path: f for f in files}
    wanted = [k for k, size in sizes.items() if k in by_key and _needs_details(by_key[k], size)]

    def details(key: str) -> MirrorObject | None:
        try:
            found = read_object(s3, bucket, key)
        except Exception as exc:  # noqa: BLE001 - one object's failure is that file's error, not the survey's
            return MirrorObject(key=key, size=sizes[key], last_modified=written.get(key), error=error_line(exc))
        return None if found is None else replace(found, last_modified=written.get(key))  # None: deleted meanwhile

    mirror = {k: MirrorObject(key=k, size=size, last_modified=written.get(k)) for k, size in sizes.items()}
    if wanted:
        with ThreadPoolExecutor(max_workers=min(8, len(wanted)), thread_name_prefix="dq-head") as pool:
            for found in pool.map(details, wanted):
                if found is not None:
                    mirror[found.key] = found
    return mirror


def read_object(s3: S3Client, bucket: str, key: str) -> MirrorObject | None:
    """What the object at ``key`` recorded (a HEAD, and for a multipart upload its digest tag); ``None`` when
    there is no such object. The sync's mirror reader and the transfer function's skip check both ask this."""
    info = head(s3, bucket, key)
    if info is None:
        return None
    sha = info.metadata.get(META_SHA256) or (_sha_tag(s3, bucket, key) if META_SIZE in info.metadata else None)
    return MirrorObject(key=key, size=info.size, metadata=info.metadata, sha256=sha)


def _sha_tag(s3: S3Client, bucket: str, key: str) -> str | None:
    try:
        tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"reading the tags of s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc
    # a resumed upload records the chained digest instead (see dataquest.bls.transfer.upload): a record all the same
    return next((t["Value"] for t in tags if t["Key"] in (TAG_SHA256, TAG_SHA256_PARTS)), None)


def abort_stale_uploads(
    s3: S3Client, bucket: str, prefix: str, *, spare_younger_than: timedelta | None = None, now: datetime | None = None
) -> list[str]:
    """Abort the multipart uploads under ``prefix`` (call while holding the survey's lease: they are stale).

    ``spare_younger_than`` leaves alone the uploads started less than that long before ``now``: in the fan-out a
    transfer that continues over several invocations keeps its upload open between them, without the lease, and
    the next planner must not abort it (an upload that never finishes is aborted by a later planner, or by the
    bucket's lifecycle rule)."""
    cutoff = None if spare_younger_than is None else (now or datetime.now(UTC)) - spare_younger_than
    aborted: list[str] = []
    try:
        paginator = s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if cutoff is not None and upload.get("Initiated", cutoff) > cutoff:
                    continue
                abort_upload(s3, bucket, upload["Key"], upload["UploadId"])
                aborted.append(upload["Key"])
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"listing multipart uploads under s3://{bucket}/{prefix} failed: {aws_error(exc)}") from exc
    return aborted
