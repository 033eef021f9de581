"""A run's event trail, in S3 as it goes: ``_logs/ingest/<run id>.jsonl``, one JSON object per line.

Every event is logged when it happens and kept in memory; the whole trail is written to the run's one key at
the start, then every ``every`` seconds while there is something new (a background thread, so that a run
stuck in a long transfer still shows the files it finished), after each survey, and a last time at the end or
when the run is interrupted. S3 objects cannot be appended to, so the choice was between
rewriting one key and writing numbered parts. One key keeps the contract's "one trail per run" a single GET
for every reader (``dataquest status``, a person), and each PUT replaces the object whole, so a reader never
sees half a line. The cost is that each write carries the trail so far: bounded by ``every`` (a run of 10,000
files writes its ~3 MB trail a few dozen times), and in a versioned bucket each rewrite leaves a noncurrent
version for the lifecycle rule to expire. A run killed with ``SIGKILL`` leaves a trail at most ``every``
seconds behind, and without its ``summary`` event: that is how a reader tells a run that did not finish.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dataquest import log
from dataquest.config import INGEST_LOG_PREFIX
from dataquest.errors import StorageError
from dataquest.storage import put_bytes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get("dataquest.bls.sync")

DEFAULT_EVERY = 5.0
"""Seconds between two writes of the trail while the run goes on."""


def trail_key(run_id: str) -> str:
    return f"{INGEST_LOG_PREFIX}{run_id}.jsonl"


class Trail:
    """The run's event trail: JSON lines kept in memory, logged as they happen, written to S3 as they go.

    Without ``s3`` (a dry run, a test) nothing is written. :meth:`write` failures are logged and remembered in
    :attr:`write_error`; the run goes on (the trail is the record, not the work).
    """

    def __init__(
        self,
        run_id: str,
        s3: S3Client | None = None,
        bucket: str | None = None,
        *,
        every: float = DEFAULT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.key = trail_key(run_id)
        self.lines: list[str] = []
        self._s3 = s3
        self._bucket = bucket
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._last_write: float | None = None
        self._written_lines = 0
        self.writes = 0
        self.write_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def keep_writing(self) -> None:
        """Write the trail every ``every`` seconds, in a background thread, until :meth:`stop_writing`."""
        if self._s3 is None or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self._every):
                self.write()

        self._thread = threading.Thread(target=loop, name="dq-trail", daemon=True)
        self._thread.start()

    def stop_writing(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def add(self, event: str, level: int = logging.INFO, **fields: Any) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc = {"time": now, "run_id": self.run_id, "event": event, **fields}
        with self._lock:
            self.lines.append(log.redact(json.dumps(doc, default=str)))
        log.event(logger, f"sync {event}", level=level, **fields)
        self.maybe_write()

    def body(self) -> bytes:
        with self._lock:
            return ("\n".join(self.lines) + "\n").encode()

    def maybe_write(self) -> None:
        """Write the trail if the last write is older than ``every`` seconds (or there was none)."""
        if self._s3 is None:
            return
        if self._last_write is None or self._clock() - self._last_write >= self._every:
            self.write()

    def write(self) -> bool:
        """Write the trail so far to its key (a whole-object PUT); False if it failed (logged, remembered)."""
        if self._s3 is None or self._bucket is None:
            return False
        with self._write_lock:
            with self._lock:
                count = len(self.lines)
            if self._last_write is not None and count == self._written_lines:
                return self.write_error is None
            self._last_write = self._clock()
            try:
                put_bytes(self._s3, self._bucket, self.key, self.body(), content_type="application/x-ndjson")
            except StorageError as exc:
                self.write_error = str(exc)
                log.event(logger, "trail write failed", level=logging.WARNING, key=self.key, error=str(exc))
                return False
            self._written_lines = count
            self.writes += 1
            self.write_error = None
            return True
