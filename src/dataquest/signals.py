"""SIGTERM and SIGINT as an exception in the main thread, so that a stopped run cleans up on its way out.

By default SIGTERM ends a Python process at once: no ``finally`` runs, a multipart upload is left open, the
lease stays until it expires and the run's trail is not written. Within :func:`interruptible`, both signals
raise :class:`~dataquest.errors.Interrupted` (a ``KeyboardInterrupt``) in the main thread instead: the
transfer aborts its multipart upload (a single ``PutObject`` either completes or never appears), the sync
releases its lease and writes its trail, and the CLI prints one line. A second signal while that cleanup runs
is noted and ignored, so that the cleanup finishes; ``SIGKILL`` cannot be caught, and the lease's owner record
(same host) or its expiry covers it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dataquest import log
from dataquest.errors import Interrupted

logger = log.get(__name__)

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted` once; outside the main thread, no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal raised
        name = signal.Signals(signum).name
        if raised:
            log.event(logger, "signal ignored while stopping", level=logging.WARNING, signal=name)
            return
        raised = True
        log.event(logger, "stopping on signal", level=logging.WARNING, signal=name)
        raise Interrupted(name)

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
