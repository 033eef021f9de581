"""Politeness: the one pacer that spaces the starts of requests to a source (``DQ_REQUEST_INTERVAL``).

BLS blocks robots that send several requests a second. :class:`Pacer` lets requests start at least ``interval``
seconds apart for every thread that shares it: in one process (``sync-bls --survey all``, its transfer streams,
the listings and HEADs between them) that is the whole deployment's figure. In AWS each transfer container paces
itself at ``DQ_REQUEST_INTERVAL`` times the transfer function's maximum concurrency (``DQ_TRANSFER_STREAMS``), so
that all of them together stay within the interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Spaces the starts of requests by at least ``interval`` seconds, across every thread that shares it.

    :meth:`start` holds a lock while it waits, so the threads start their requests one after another, each at
    least ``interval`` after the one before (measured from the moment the previous one was let go, on ``clock``);
    the first call never waits. ``interval`` 0 turns pacing off.
    """

    def __init__(
        self,
        interval: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self.started = 0  # requests let go so far

    def start(self) -> float:
        """Wait until the next request may start; the time (on ``clock``) it was let go."""
        with self._lock:
            now = self._clock()
            if self._last is not None and self.interval > 0:
                wait = self._last + self.interval - now
                if wait > 0:
                    self._sleep(wait)
                    now = self._clock()
            self._last = now
            self.started += 1
            return now
