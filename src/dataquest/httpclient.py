"""HTTP for the sources (BLS, DataUSA): one client, a contact in the User-Agent, bounded retries, pacing.

Fetcher wraps an ``httpx.Client`` (built by the caller, so tests pass one over ``httpx.MockTransport``)
and adds what httpx leaves to its user: retries with exponential backoff on 5xx, 429 (honouring
``Retry-After``) and transport errors; a minimum interval between requests, so that BLS is never hit several
times a second; and errors that say what to do. Every failure is a :class:`~dataquest.errors.SourceError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from dataquest import log
from dataquest.errors import ForbiddenError, SourceError

logger = log.get(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)


def build_client(user_agent: str, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """The one ``httpx.Client`` a process uses for the sources."""
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        timeout=timeout,
        follow_redirects=True,
    )


class Fetcher:
    """GETs with bounded retries and pacing over a caller-built ``httpx.Client``."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        min_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.min_interval = min_interval
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self.requests_sent = 0

    def _pace(self) -> None:
        """Wait until ``min_interval`` has passed since the previous request started; the first never waits."""
        with self._lock:
            now = self._clock()
            if self._last is not None and self.min_interval > 0:
                wait = self._last + self.min_interval - now
                if wait > 0:
                    self._sleep(wait)
                    now = self._clock()
            self._last = now
            self.requests_sent += 1

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and "retry-after" in response.headers:
            try:
                seconds = float(response.headers["retry-after"])
            except ValueError:
                seconds = -1.0  # an HTTP-date or garbage: fall back to the backoff
            if seconds >= 0:  # false for NaN; a negative or NaN value made time.sleep raise
                return min(seconds, self.max_backoff)
        return float(min(self.backoff * (2**attempt), self.max_backoff))

    @contextmanager
    def stream(self, url: str, *, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
        """Open ``url`` for streaming once its status is 2xx (retrying before any body byte is read)."""
        attempt = 0
        while True:
            self._pace()
            try:
                request = self.client.build_request("GET", url, headers=headers)
                response = self.client.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise SourceError(
                        f"GET {url} failed after {attempt + 1} attempts: {type(exc).__name__}: {exc}; "
                        "check the URL and the network, then run again",
                        url=url,
                    ) from exc
                delay = self._delay(attempt, None)
                log.event(logger, "http retry", url=url, attempt=attempt + 1, error=type(exc).__name__, delay=delay)
                self._sleep(delay)
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                response.close()
                delay = self._delay(attempt, response)
                log.event(
                    logger,
                    "http retry",
                    url=url,
                    attempt=attempt + 1,
                    status=response.status_code,
                    delay=delay,
                )
                self._sleep(delay)
                attempt += 1
                continue
            try:
                raise_for_status(response, url)
                yield response
            finally:
                response.close()
            return

    def get(self, url: str, *, max_bytes: int | None = None) -> httpx.Response:
        """GET ``url`` and read its body (refusing more than ``max_bytes``)."""
        with self.stream(url) as response:
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise SourceError(
                            f"GET {url}: the body is larger than {max_bytes} bytes; refusing it",
                            url=url,
                            status=response.status_code,
                        )
                    chunks.append(chunk)
            except httpx.HTTPError as exc:
                raise SourceError(f"GET {url}: the body was cut: {type(exc).__name__}: {exc}", url=url) from exc
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                content=b"".join(chunks),
                request=response.request,
            )

    def get_text(self, url: str, *, max_bytes: int | None = None) -> str:
        """GET ``url`` and decode its body as text (a directory listing, a JSON document)."""
        return self.get(url, max_bytes=max_bytes).text


def raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 403:
        raise ForbiddenError(
            f"GET {url} answered 403 Forbidden: BLS refuses requests without a contact address in the "
            "User-Agent; set DQ_CONTACT to a real e-mail address you read",
            url=url,
            status=status,
        )
    if status == 404:
        raise SourceError(
            f"GET {url} answered 404 Not Found: check the URL (survey name, base URL)", url=url, status=status
        )
    raise SourceError(
        f"GET {url} answered {status} {response.reason_phrase}"
        + (" after retries; try again later" if status in RETRY_STATUSES else ""),
        url=url,
        status=status,
    )
