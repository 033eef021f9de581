"""S3 access shared by the sync, the population fetch and the report.

Functions take an S3 client built by the caller (a handler or the CLI, through :func:`s3_client`).
botocore errors are translated into :class:`~dataquest.errors.StorageError` naming the bucket and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dataquest.config import META_SHA256
from dataquest.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef
    from mypy_boto3_sqs import SQSClient

    from dataquest.config import Settings

T = TypeVar("T")

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
MAX_METADATA_BYTES = 2048  # S3's limit on user metadata: the UTF-8 bytes of every key and value together
TRUNCATED_SUFFIX = "-truncated"
# payload_signing_enabled=False: over TLS with a checksum (AWS) botocore already sends UNSIGNED-PAYLOAD; only over
# plain HTTP (moto, LocalStack) did it SHA-256 every body to sign it, a second hash of each part that S3's own
# CRC32 checksum, which stays, makes redundant.
_BOTO_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"},
    max_pool_connections=32,
    s3={"payload_signing_enabled": False},
)


def s3_client(settings: Settings) -> S3Client:
    """The S3 client for ``settings`` (``AWS_ENDPOINT_URL`` is honoured by boto3 itself)."""
    return boto3.client(
        "s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_BOTO_CONFIG
    )


def sqs_client(settings: Settings) -> SQSClient:
    return boto3.client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_BOTO_CONFIG
    )


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD of an object tells: size, ETag, version and user metadata."""

    key: str
    size: int
    etag: str
    version_id: str | None
    metadata: dict[str, str]


def metadata_bytes(metadata: Mapping[str, str]) -> int:
    """The size S3 counts against :data:`MAX_METADATA_BYTES`."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())


def fit_metadata(metadata: Mapping[str, str], *, cuttable: Sequence[str]) -> dict[str, str]:
    """``metadata`` within S3's 2 KB user-metadata limit: the ``cuttable`` values, in order, are cut as much as
    needed, and each one cut is flagged with ``<key>-truncated: true`` (so a long name is stored, not refused on
    every run). :class:`StorageError` when cutting them all is not enough."""
    meta = dict(metadata)
    for key in cuttable:
        if metadata_bytes(meta) <= MAX_METADATA_BYTES:
            break
        if key not in meta:
            continue
        meta[key + TRUNCATED_SUFFIX] = "true"
        over = metadata_bytes(meta) - MAX_METADATA_BYTES
        value = meta[key].encode()
        meta[key] = value[: max(0, len(value) - over)].decode("utf-8", "ignore")
    if metadata_bytes(meta) > MAX_METADATA_BYTES:
        raise StorageError(
            f"the object's metadata is {metadata_bytes(meta)} bytes, over S3's {MAX_METADATA_BYTES}-byte limit, "
            f"even with {', '.join(cuttable)} cut"
        )
    return meta


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def aws_error(exc: BaseException) -> str:
    """An AWS client error as ``<Code>: <Message>``; any other exception as ``<type>: <message>``."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def head(s3: S3Client, bucket: str, key: str) -> ObjectInfo | None:
    """The object's info, or ``None`` when there is no such object."""
    resp = _read("HEAD", bucket, key, lambda: s3.head_object(Bucket=bucket, Key=key))
    return None if resp is None else _info(key, int(resp.get("ContentLength", 0)), resp)


def get_bytes(s3: S3Client, bucket: str, key: str) -> tuple[bytes, ObjectInfo] | None:
    """The object's bytes and info, or ``None`` when there is no such object."""

    def get() -> tuple[bytes, GetObjectOutputTypeDef]:
        resp = s3.get_object(Bucket=bucket, Key=key)
        return resp["Body"].read(), resp

    got = _read("GET", bucket, key, get)
    return None if got is None else (got[0], _info(key, len(got[0]), got[1]))


def _read(verb: str, bucket: str, key: str, request: Callable[[], T]) -> T | None:
    """``request()``'s answer, ``None`` when the object does not exist; any other failure a
    :class:`StorageError` naming the request."""
    try:
        return request()
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND_CODES:
            return None
        raise StorageError(f"{verb} s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc
    except BotoCoreError as exc:
        raise StorageError(f"{verb} s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc


def _info(key: str, size: int, resp: Mapping[str, Any], metadata: dict[str, str] | None = None) -> ObjectInfo:
    """What a HEAD, GET or PUT answer tells about ``key``."""
    return ObjectInfo(
        key=key,
        size=size,
        etag=str(resp.get("ETag", "")).strip('"'),
        version_id=_version(resp.get("VersionId")),
        metadata=dict(resp.get("Metadata", {})) if metadata is None else metadata,
    )


def put_bytes(  # noqa: PLR0913 - the client and the object, then keyword-only headers
    s3: S3Client,
    bucket: str,
    key: str,
    body: bytes,
    *,
    content_type: str = "application/octet-stream",
    metadata: dict[str, str] | None = None,
    **extra: Any,
) -> ObjectInfo:
    """PUT ``body`` (one request: the object is replaced whole or not at all) with its SHA-256 in metadata."""
    meta = {META_SHA256: hashlib.sha256(body).hexdigest(), **(metadata or {})}
    try:
        resp = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=meta, **extra)
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(f"PUT s3://{bucket}/{key} failed: {aws_error(exc)}", key=key) from exc
    return _info(key, len(body), resp, meta)


def _version(value: object) -> str | None:
    # S3 answers "null" for objects written before versioning was enabled.
    return str(value) if value and value != "null" else None
