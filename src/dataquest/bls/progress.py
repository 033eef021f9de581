"""The sync's progress bar on a terminal: bytes with rate and ETA, files done, one bar per survey.

Drawn by tqdm, imported only when the bar is enabled (the command line on a terminal): the ingest Lambda never
imports it, and its image does not install it (tqdm comes with the ``cli`` extra; without it the bar is off and a
warning says why). While a bar is shown, the
``dataquest`` logger's lines on the bar's terminal are written through ``tqdm.write``, above the bar, never on
its line. Disabled (stderr is not a terminal, a Lambda, a test), every method does nothing. The transfer threads
(``DQ_TRANSFER_STREAMS``) count bytes and files on the same bar: each update holds the bar's lock.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from dataquest import log
from dataquest.log import LOGGER_NAME

logger = log.get(__name__)


class Progress:
    """One bar per survey on ``stream`` (stderr) when ``enabled``; silent otherwise."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()  # never bar lines into a file or a pipe
        self.files = 0
        self.files_done = 0
        self._bar: Any = None  # a tqdm bar (tqdm ships no type hints)
        self._moved: list[tuple[logging.Handler, logging.Handler]] = []
        self._lock = threading.Lock()  # the transfer threads update one bar

    def start(self, label: str, files: int, total_bytes: int) -> None:
        if not self.enabled:
            return
        try:
            from tqdm import tqdm  # type: ignore[import-untyped]  # noqa: PLC0415 - the command line only
        except ImportError:
            self.enabled = False
            log.event(logger, "no progress bar: tqdm is not installed (the cli extra)", level=logging.WARNING)
            return
        self.finish()
        self.files, self.files_done = files, 0
        self._bar = tqdm(
            total=total_bytes,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self.stream,
            dynamic_ncols=True,
            mininterval=0.1,
            postfix=self._files(),
        )
        self._write_logs_above(tqdm.write)

    def add_bytes(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1
            if self._bar is not None:
                self._bar.set_postfix_str(self._files())

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        logger = logging.getLogger(LOGGER_NAME)
        for original, above in self._moved:
            logger.handlers[logger.handlers.index(above)] = original
        self._moved = []

    def _files(self) -> str:
        return f"{self.files_done}/{self.files} files"

    def _write_logs_above(self, write: Callable[..., None]) -> None:
        """While the bar is shown, the logger's handlers that write to its terminal write through tqdm."""
        logger = logging.getLogger(LOGGER_NAME)
        for i, handler in enumerate(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (self.stream, sys.stderr):
                above = _AboveTheBar(handler, write)
                logger.handlers[i] = above
                self._moved.append((handler, above))


class _AboveTheBar(logging.Handler):
    """A stream handler's lines, formatted and filtered as it would, written above the bar (``tqdm.write``)."""

    def __init__(self, original: logging.StreamHandler[TextIO], write: Callable[..., None]) -> None:
        super().__init__(original.level)
        self.setFormatter(original.formatter)
        self.filters = list(original.filters)
        self._stream = original.stream
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write(self.format(record), file=self._stream)
        except Exception:  # noqa: BLE001 - logging's own contract: a failed emit is reported, never raised
            self.handleError(record)
