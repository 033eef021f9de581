"""Deleting what the listing no longer has: S3's DeleteObjects, 1,000 keys a request, each key's outcome.

The sync calls it only after the plan's guards (an empty or failed listing, ``--max-delete``) and only with keys
under the survey's own prefix; a failed request fails its keys, not the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest.storage import aws_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BATCH = 1000  # S3's most keys in one DeleteObjects request


def delete_keys(s3: S3Client, bucket: str, keys: Sequence[str]) -> list[str | None]:
    """Delete ``keys``: for each one, in order, why its delete failed, or ``None``."""
    outcome: list[str | None] = []
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        try:
            resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        except (ClientError, BotoCoreError) as exc:
            outcome += [aws_error(exc)] * len(batch)
            continue
        failed = {e.get("Key", ""): e.get("Message", e.get("Code", "")) for e in resp.get("Errors", [])}
        outcome += [failed.get(k) for k in batch]
    return outcome
