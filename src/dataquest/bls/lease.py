"""A lease per survey, so that two syncs of the same survey never run at once.

The lease is a small JSON object at ``_locks/sync-bls/<survey>.json`` created with S3's conditional write
``If-None-Match: *``: of two syncs, exactly one creates it. It carries an expiry: a holder renews it (a
conditional overwrite ``If-Match: <its ETag>``) while it works, and a run that was killed stops renewing, so the
next run takes the lease over once it has expired (again with ``If-Match`` on the expired lease's ETag, so that
of two runs taking over, one wins). The holder deletes it at the end (``If-Match`` again: never someone else's).

A run that finds the lease held waits up to ``wait`` seconds, then raises
:class:`~dataquest.errors.LeaseHeldError` naming the holder and the expiry.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.errors import LeaseHeldError, StorageError
from dataquest.storage import NOT_FOUND_CODES, describe, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

LEASE_PREFIX = "_locks/sync-bls/"
_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def lease_key(survey: str) -> str:
    return f"{LEASE_PREFIX}{survey}.json"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Lease:
    """A held lease: :meth:`renew` it while working (or :meth:`keep_alive`), :meth:`release` it at the end."""

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        survey: str,
        *,
        ttl: float,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.survey = survey
        self.key = lease_key(survey)
        self.ttl = ttl
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self.etag: str | None = None
        self.expires_at = 0.0
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        now = self._clock()
        self.expires_at = now + self.ttl
        doc = {"owner": self.owner, "survey": self.survey, "renewed_at": _iso(now), "expires_at": self.expires_at}
        doc["expires"] = _iso(self.expires_at)
        return json.dumps(doc).encode()

    def _put(self, *, if_match: str | None = None) -> str:
        """Create the lease (``If-None-Match: *``) or overwrite the one whose ETag is ``if_match``."""
        body = self._body()
        if if_match is None:
            resp = self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
        else:
            resp = self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json", IfMatch=if_match
            )
        return str(resp["ETag"])

    def try_acquire(self) -> dict[str, object] | None:
        """Take the lease if it is free or expired; else the holder's lease document."""
        try:
            self.etag = self._put()
        except ClientError as exc:
            if error_code(exc) not in _CONFLICT_CODES:
                raise StorageError(f"PUT s3://{self.bucket}/{self.key} (lease) failed: {describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"PUT s3://{self.bucket}/{self.key} (lease) failed: {describe(exc)}") from exc
        else:
            return None
        held = self._read()
        if held is None:
            return {"owner": "?", "expires_at": 0, "etag": None}  # released meanwhile: the caller tries again
        doc, etag = held
        if float(str(doc.get("expires_at", 0))) < self._clock():
            try:
                self.etag = self._put(if_match=etag)
            except ClientError as exc:
                if error_code(exc) not in _CONFLICT_CODES | NOT_FOUND_CODES:
                    raise StorageError(f"PUT s3://{self.bucket}/{self.key} (lease) failed: {describe(exc)}") from exc
                return doc  # another run took the expired lease over first
            log.event(logger, "expired lease taken over", key=self.key, previous_owner=doc.get("owner"))
            return None
        return doc

    def _read(self) -> tuple[dict[str, object], str] | None:
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=self.key)
            raw = resp["Body"].read()
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                return None
            raise StorageError(f"GET s3://{self.bucket}/{self.key} (lease) failed: {describe(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"GET s3://{self.bucket}/{self.key} (lease) failed: {describe(exc)}") from exc
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = {"owner": "unreadable lease", "expires_at": 0}  # an unreadable lease counts as expired
        return doc, str(resp["ETag"])

    def renew(self) -> None:
        """Extend the lease; if someone else took it over, mark it lost."""
        if self.etag is None or self.lost:
            return
        try:
            self.etag = self._put(if_match=self.etag)
        except ClientError as exc:
            if error_code(exc) in _CONFLICT_CODES | NOT_FOUND_CODES:
                self.lost = f"the lease s3://{self.bucket}/{self.key} was taken over by another sync"
                log.event(logger, "lease lost", level=40, key=self.key)
                return
            log.event(logger, "lease renewal failed", level=30, key=self.key, error=describe(exc))
        except BotoCoreError as exc:
            log.event(logger, "lease renewal failed", level=30, key=self.key, error=describe(exc))

    def check(self) -> None:
        """Raise :class:`LeaseHeldError` if the lease was lost (stop acting on the survey)."""
        if self.lost:
            raise LeaseHeldError(self.lost + "; stopped before the next change", key=self.key)

    def keep_alive(self, every: float | None = None) -> None:
        """Renew in a background thread every ``every`` seconds (a third of the TTL by default)."""
        interval = every if every is not None else max(self.ttl / 3, 0.05)

        def loop() -> None:
            while not self._stop.wait(interval):
                self.renew()

        self._thread = threading.Thread(target=loop, name=f"dq-lease-{self.survey}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.etag is None or self.lost:
            return
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except (ClientError, BotoCoreError) as exc:
            # It expires on its own; the next run takes it over.
            log.event(logger, "lease release failed", level=30, key=self.key, error=describe(exc))
        self.etag = None


def acquire(
    s3: S3Client,
    bucket: str,
    survey: str,
    *,
    ttl: float,
    wait: float = 0.0,
    poll: float = 2.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Lease:
    """Take the survey's lease, waiting up to ``wait`` seconds; :class:`LeaseHeldError` if it stays held."""
    lease = Lease(s3, bucket, survey, ttl=ttl, clock=clock)
    deadline = clock() + wait
    while True:
        holder = lease.try_acquire()
        if holder is None:
            log.event(logger, "lease acquired", key=lease.key, owner=lease.owner, ttl=ttl)
            return lease
        if holder.get("etag", "") is None:
            continue  # released between our PUT and our GET: try again at once
        remaining = deadline - clock()
        if remaining <= 0:
            expires = holder.get("expires_at", 0)
            until = _iso(float(str(expires))) if expires else "?"
            raise LeaseHeldError(
                f"another sync of survey {survey!r} is running (lease s3://{bucket}/{lease.key} held by "
                f"{holder.get('owner')} until {until}); wait for it to finish, or if it was killed, until the lease "
                "expires, then run again",
                key=lease.key,
            )
        sleep(min(poll, remaining))
