"""A lease per survey, so that two syncs of the same survey never run at once, and a dead one blocks no one long.

The lease is a small JSON object at ``_locks/sync-bls/<survey>.json`` created with S3's conditional write
``If-None-Match: *``: of two syncs, exactly one creates it. It carries a short expiry (``DQ_LEASE_TTL``, 60 s by
default) that a heartbeat thread renews while the run lives (:meth:`Lease.keep_alive`: a conditional overwrite
``If-Match: <its ETag>`` every third of the TTL). The holder deletes it at the end (``If-Match`` again: never
someone else's). A lease is free for the next run when:

- it has expired: its holder stopped renewing it (killed, frozen, cut off);
- its owner process is gone: the lease records the owner's host (host name, kernel boot id, PID namespace),
  PID and process start time, and a run on the same host sees at once that this process no longer exists (or
  that its PID now belongs to a younger process), without waiting for the expiry;
- it cannot be read (not JSON, ``expires_at`` missing, null, a string, NaN, infinite, out of range): it is
  treated as held until the object's own ``LastModified`` plus the TTL, then taken over, and the log says so.

A well-formed expiry is also bounded by ``LastModified`` plus the TTL it records (or ours): an expiry set far
in the future does not block every sync either. Every takeover is a conditional overwrite ``If-Match`` on the
lease's ETag, so of two runs taking over, one wins.

A run that finds the lease held waits up to ``wait`` seconds, then raises
:class:`~dataquest.errors.LeaseHeldError` naming the holder and the expiry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.holder import Holder, ProcessIdentity, owner_gone, read_holder
from dataquest.config import SYNC_LEASE_PREFIX
from dataquest.documents import to_document
from dataquest.errors import LeaseHeldError, StorageError
from dataquest.storage import NOT_FOUND_CODES, aws_error, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def lease_key(survey: str) -> str:
    return f"{SYNC_LEASE_PREFIX}{survey}.json"


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return repr(ts)


# --- the lease object ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeaseDocument:
    """The lease object's JSON, as its holder writes it (read back by :func:`read_holder`, which trusts none of it)."""

    owner: str
    survey: str
    process: ProcessIdentity
    ttl: float
    renewed_at: str
    expires_at: float
    expires: str


class Lease:
    """A held lease: :meth:`keep_alive` renews it in the background, :meth:`release` ends it."""

    def __init__(  # noqa: PLR0913 - where, how long, then the seams tests inject (clock, process)
        self,
        s3: S3Client,
        bucket: str,
        survey: str,
        *,
        ttl: float,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        process: ProcessIdentity | None = None,
        gone: Callable[[ProcessIdentity, ProcessIdentity], bool] = owner_gone,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.survey = survey
        self.key = lease_key(survey)
        self.ttl = ttl
        self.process = process or ProcessIdentity.current()
        self.owner = owner or f"{self.process.host}:{self.process.pid}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._gone = gone
        self.etag: str | None = None
        self.expires_at = 0.0
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending_expiry = 0.0

    def _body(self) -> bytes:
        now = self._clock()
        doc = LeaseDocument(
            owner=self.owner,
            survey=self.survey,
            process=self.process,
            ttl=self.ttl,
            renewed_at=_iso(now),
            expires_at=now + self.ttl,
            expires=_iso(now + self.ttl),
        )
        self._pending_expiry = doc.expires_at
        return json.dumps(to_document(doc)).encode()

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
        self.expires_at = self._pending_expiry
        return str(resp["ETag"])

    def _error(self, verb: str, exc: BaseException) -> StorageError:
        return StorageError(f"{verb} s3://{self.bucket}/{self.key} (lease) failed: {aws_error(exc)}", key=self.key)

    def try_acquire(self) -> Holder | None:
        """Take the lease if it is free, expired, orphaned or unreadable past its bound; else its holder."""
        if self._claim():
            return None
        holder = self._read()
        if holder is None:
            return Holder("?", 0.0, None)  # released meanwhile: the caller tries again
        reason = self._takeover_reason(holder)
        if reason is None:
            if holder.problem:
                until = _iso(holder.expires_at)
                what = {"key": self.key, "problem": holder.problem, "held_until": until}
                log.event(logger, "malformed lease treated as held", level=logging.WARNING, **what)
            return holder
        if not self._claim(if_match=holder.etag):
            return holder  # another run took it over first
        log.event(
            logger, "lease taken over", level=logging.WARNING, key=self.key, previous_owner=holder.owner, reason=reason
        )
        return None

    def _claim(self, *, if_match: str | None = None) -> bool:
        """Create the lease, or take over the one whose ETag is ``if_match``; False if another run got there first."""
        lost = _CONFLICT_CODES if if_match is None else _CONFLICT_CODES | NOT_FOUND_CODES
        try:
            self.etag = self._put(if_match=if_match)
        except ClientError as exc:
            if error_code(exc) not in lost:
                raise self._error("PUT", exc) from exc
            return False
        except BotoCoreError as exc:
            raise self._error("PUT", exc) from exc
        return True

    def _takeover_reason(self, holder: Holder) -> str | None:
        now = self._clock()
        if holder.process is not None and self._gone(holder.process, self.process):
            return f"its owner process {holder.process.pid} on {holder.process.host} is gone"
        if holder.expires_at < now:
            if holder.problem:
                return f"a malformed lease ({holder.problem}) past its LastModified plus the TTL"
            return "it expired"
        return None

    def _read(self) -> Holder | None:
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=self.key)
            raw = resp["Body"].read()
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                return None
            raise self._error("GET", exc) from exc
        except BotoCoreError as exc:
            raise self._error("GET", exc) from exc
        modified = resp.get("LastModified")
        last_modified = modified.timestamp() if isinstance(modified, datetime) else self._clock()
        return read_holder(raw, str(resp["ETag"]), last_modified, self.ttl)

    def renew(self) -> None:
        """Extend the lease; if someone else took it over, mark it lost."""
        with self._lock:
            if self.etag is None or self.lost:
                return
            try:
                self.etag = self._put(if_match=self.etag)
            except ClientError as exc:
                if error_code(exc) in _CONFLICT_CODES | NOT_FOUND_CODES:
                    self.lost = f"the lease s3://{self.bucket}/{self.key} was taken over by another sync"
                    log.event(logger, "lease lost", level=logging.ERROR, key=self.key)
                    return
                log.event(logger, "lease renewal failed", level=logging.WARNING, key=self.key, error=aws_error(exc))
            except BotoCoreError as exc:
                log.event(logger, "lease renewal failed", level=logging.WARNING, key=self.key, error=aws_error(exc))

    def check(self) -> None:
        """Raise :class:`LeaseHeldError` if the lease was lost or has lapsed (stop acting on the survey)."""
        if not self.lost and self.etag is not None and self._clock() > self.expires_at:
            self.lost = (
                f"the lease s3://{self.bucket}/{self.key} lapsed at {_iso(self.expires_at)} (renewals failed); "
                "another sync may have taken it"
            )
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
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self.etag is None or self.lost:
                return
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
            except (ClientError, BotoCoreError) as exc:
                # It expires on its own; the next run takes it over.
                log.event(logger, "lease release failed", level=logging.WARNING, key=self.key, error=aws_error(exc))
            self.etag = None


def acquire(  # noqa: PLR0913 - where and how long, then the seams tests inject (clock, sleep, process)
    s3: S3Client,
    bucket: str,
    survey: str,
    *,
    ttl: float,
    wait: float = 0.0,
    poll: float = 2.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    process: ProcessIdentity | None = None,
    gone: Callable[[ProcessIdentity, ProcessIdentity], bool] = owner_gone,
) -> Lease:
    """Take the survey's lease, waiting up to ``wait`` seconds; :class:`LeaseHeldError` if it stays held."""
    lease = Lease(s3, bucket, survey, ttl=ttl, clock=clock, process=process, gone=gone)
    deadline = clock() + wait
    attempts = 0
    while True:
        holder = lease.try_acquire()
        if holder is None:
            log.event(logger, "lease acquired", key=lease.key, owner=lease.owner, ttl=ttl)
            return lease
        attempts += 1
        if holder.etag is None and attempts < 10:
            continue  # released between our PUT and our GET: try again at once
        remaining = deadline - clock()
        if remaining <= 0:
            why = f" ({holder.problem}: held until its LastModified plus the TTL)" if holder.problem else ""
            raise LeaseHeldError(
                f"another sync of survey {survey!r} is running (lease s3://{bucket}/{lease.key} held by "
                f"{holder.owner} until {_iso(holder.expires_at)}{why}); wait for it to finish, or if it was "
                "killed, until the lease expires, then run again",
                key=lease.key,
            )
        sleep(min(poll, remaining))
