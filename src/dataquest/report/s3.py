"""The report's S3 side: the inputs HEADed and read at exactly that version, the report folder, the files put.

boto3 is imported here, so :mod:`dataquest.report.builder` imports this module only where S3 is used: the local report
never loads it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import storage
from dataquest.config import BLS_DATA_KEY, POPULATION_KEY, REPORTS_PREFIX
from dataquest.documents import to_document
from dataquest.errors import InputMissingError, StorageError
from dataquest.report import titles
from dataquest.report.document import Report
from dataquest.report.options import DEFAULTS, ReportOptions
from dataquest.report.render import render_files

if TYPE_CHECKING:
    import polars as pl
    from mypy_boto3_s3 import S3Client

CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def report_prefix(bls_version: str, population_version: str, options: ReportOptions) -> str:
    """``reports/<bls-version>_<population-version>/``; other options than the defaults add a short digest."""
    name = f"{_safe(bls_version)}_{_safe(population_version)}"
    if options != DEFAULTS:
        digest = hashlib.sha256(json.dumps(to_document(options), sort_keys=True).encode()).hexdigest()[:12]
        name += f"_{digest}"
    return f"{REPORTS_PREFIX}{name}/"


def _safe(version: str) -> str:
    return _UNSAFE.sub("-", version)


def report_titles(s3: S3Client, bucket: str) -> pl.DataFrame | None:
    """The titles of the report's survey from the bucket's mirror; ``None``, logged, when they cannot be read."""
    folder = BLS_DATA_KEY.rsplit("/", 1)[0] + "/"
    return titles.load(lambda: titles.titles_from_s3(s3, bucket, folder), f"s3://{bucket}/{folder}")


def head_input(s3: S3Client, bucket: str, key: str, command: str) -> storage.ObjectInfo:
    info = storage.head(s3, bucket, key)
    if info is None:
        raise InputMissingError(
            f"s3://{bucket}/{key} does not exist: the report needs it; run `{command}` first", key=key
        )
    return info


def version(info: storage.ObjectInfo) -> str:
    return info.version_id or info.etag


def _pin(info: storage.ObjectInfo) -> dict[str, str]:
    """GET arguments that read exactly the version HEADed (and fail if it has been replaced)."""
    return {"VersionId": info.version_id} if info.version_id else {"IfMatch": f'"{info.etag}"'}


def read_pinned(s3: S3Client, bucket: str, info: storage.ObjectInfo) -> bytes:
    buffer = io.BytesIO()
    download_pinned(s3, bucket, info, buffer)
    return buffer.getvalue()


def download_pinned(s3: S3Client, bucket: str, info: storage.ObjectInfo, out: Any) -> None:
    # To a temporary file, streamed, so that polars scans it in bounded memory (Lambda's /tmp holds it).
    try:
        resp = s3.get_object(Bucket=bucket, Key=info.key, **_pin(info))  # type: ignore[arg-type]
        for chunk in resp["Body"].iter_chunks(chunk_size=1 << 20):
            out.write(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise _read_error(bucket, info.key, exc) from exc


def _read_error(bucket: str, key: str, exc: BaseException) -> StorageError:
    if isinstance(exc, ClientError) and storage.error_code(exc) in ("PreconditionFailed", "412"):
        return StorageError(
            f"GET s3://{bucket}/{key}: the object changed while the report was reading it; "
            "the new version's notification brings its own report (retry to compute it now)",
            key=key,
        )
    return StorageError(f"GET s3://{bucket}/{key} failed: {storage.aws_error(exc)}", key=key)


def still_current(s3: S3Client, bucket: str, bls_version: str, pop_version: str) -> bool:
    bls, pop = storage.head(s3, bucket, BLS_DATA_KEY), storage.head(s3, bucket, POPULATION_KEY)
    return bls is not None and pop is not None and (version(bls), version(pop)) == (bls_version, pop_version)


def put_files(s3: S3Client, bucket: str, prefix: str, report: Report) -> list[str]:
    keys = []
    for name, body in render_files(report).items():
        key = f"{prefix}{name}"
        storage.put_bytes(s3, bucket, key, body, content_type=CONTENT_TYPES[Path(name).suffix])
        keys.append(key)
    return keys


def stored_report(s3: S3Client, bucket: str, prefix: str) -> Report | None:
    """The report already in ``prefix`` (its ``report.json``), or None."""
    existing = storage.get_bytes(s3, bucket, f"{prefix}report.json")
    return None if existing is None else Report.from_json(existing[0])
