"""Transfers streaming at once: one survey's uploads on a pool of ``DQ_TRANSFER_STREAMS`` threads (default 2).

:meth:`Streams.run` hands each upload to the next free thread; a file's own failure is the work's to record (the
run goes on), so what reaches the pool stops the survey: a lost lease, an interrupt (SIGTERM, SIGINT, Ctrl-C,
raised in the main thread while it waits). Then no further upload starts, and each one in flight is stopped at
its next chunk: :meth:`Streams.check`, called by the work between two chunks of a body, raises :class:`Stopped`,
which aborts that upload as any failure does (a multipart upload aborted, a single PUT never sent) and is not
counted as the file's error. A read blocked on a stalled source would not reach its next chunk before the read
timeout: ``on_stop`` (the sync's: :func:`cut_reads`) shuts the sockets of the bodies being read, so that each
such read fails at once and the work, seeing :attr:`Streams.stopping`, turns its failure into :class:`Stopped`.
The pool is drained before the exception goes on up, so that the lease is released only once nothing of the
survey is in flight.

The requests of every thread still go through the one :class:`~dataquest.http.client.Fetcher`, whose pacer
spaces their starts by ``DQ_REQUEST_INTERVAL`` for the whole process; the parts of one multipart upload in
flight (``DQ_PARTS_IN_FLIGHT``) stay per file.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from dataquest.http.client import Fetcher

T = TypeVar("T")


class Stopped(BaseException):
    """Raised inside a transfer once the pool stops (a ``BaseException``: not one file's error, never caught by
    the ``except Exception`` that records those)."""


class Streams:
    """A pool of ``size`` transfer threads, and the stop signal its work checks between two chunks."""

    def __init__(self, size: int, on_stop: Callable[[], None] | None = None) -> None:
        if size < 1:
            raise ValueError(f"transfer streams must be 1 or more, not {size}")
        self.size = size
        self.on_stop = on_stop
        self._stopped = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    def check(self) -> None:
        """Raise :class:`Stopped` once the pool stops (called by the work between two chunks of a body)."""
        if self._stopped.is_set():
            raise Stopped

    def run(self, items: Sequence[T], work: Callable[[T], None]) -> None:
        """``work(item)`` for every item, ``size`` at once; the first exception stops the others, then goes up."""
        self._stopped.clear()

        def one(item: T) -> None:
            if self._stopped.is_set():
                return
            try:
                work(item)
            except BaseException:
                self._stopped.set()  # here, before this thread takes the next item
                raise

        pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="dq-transfer")
        try:
            for future in as_completed([pool.submit(one, item) for item in items]):
                future.result()
        except BaseException:
            self._stopped.set()
            if self.on_stop is not None:
                self.on_stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def cut_reads(fetcher: Fetcher) -> None:
    """Shut the sockets of the bodies ``fetcher`` is reading (on other threads): a blocked read returns at once."""
    for response in fetcher.reading():
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: nothing to cut
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, under TLS too
