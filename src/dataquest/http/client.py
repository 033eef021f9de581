"""HTTP for the sources (BLS, DataUSA): one client, a contact in the User-Agent, bounded retries, pacing.

Fetcher wraps an ``httpx.Client`` (built by the caller, so tests pass one over ``httpx.MockTransport``)
and adds what httpx leaves to its user:

- **retries** with exponential backoff and jitter on what may pass: connection errors and timeouts, 5xx, 408 and
  429 (honouring ``Retry-After``). What cannot pass fails at once: an unresolvable host, an unsupported scheme,
  an invalid URL, a certificate that does not verify, any other 4xx;
- **redirects** followed by hand, each hop checked by a policy (:data:`RedirectPolicy`: the sync's keeps every
  hop on the base URL's scheme and host, inside the survey folder), at most ``max_redirects`` hops;
- **pacing** (:class:`Pacer`): a minimum interval between the *starts* of two requests (``DQ_REQUEST_INTERVAL``,
  1 s by default), for every thread that shares the Fetcher (``sync-bls``'s transfer streams): every request
  counts, listings, HEADs, GETs, each retry and each redirect hop; the first request of a run never waits;
- **errors that name the right cause**: every failure is a :class:`~dataquest.errors.SourceError` whose message
  says which source (:class:`~dataquest.http.sources.Source`: BLS, the population API) failed and what to do; a
  body quoted in a message is escaped and trimmed (:func:`dataquest.redaction.printable`); URLs are redacted.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import httpx

from dataquest import log
from dataquest.errors import SourceError
from dataquest.http.pacing import Pacer
from dataquest.http.sources import BLS, GENERIC, POPULATION, RETRY_STATUSES, Source, raise_for_status
from dataquest.redaction import printable

__all__ = [  # Source and its kinds live in dataquest.http.sources; named here too, where the fetches are
    "BLS",
    "GENERIC",
    "POPULATION",
    "RETRY_STATUSES",
    "Fetcher",
    "Pacer",
    "RedirectPolicy",
    "Source",
    "build_client",
    "is_permanent",
    "raise_for_status",
    "same_origin",
]

logger = log.get(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
MAX_REDIRECTS = 5

RedirectPolicy = Callable[[str, str], str | None]
"""``policy(first_url, next_url)``: ``None`` to follow the hop to ``next_url``, else why it is refused."""


def same_origin(first_url: str, next_url: str) -> str | None:
    """The default redirect policy: stay on the first URL's scheme, host and port."""
    a, b = urlsplit(first_url), urlsplit(next_url)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        return f"leaves {a.scheme}://{a.hostname}{'' if a.port is None else f':{a.port}'}"
    return None


def build_client(user_agent: str, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """The one ``httpx.Client`` a process uses for the sources (redirects are followed by :class:`Fetcher`)."""
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        timeout=timeout,
        follow_redirects=False,
    )


def is_permanent(exc: Exception) -> bool:
    """Whether a transport failure cannot pass by retrying: an unsupported scheme, an invalid URL or request, a
    host name that does not resolve, a TLS certificate that does not verify."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.LocalProtocolError):
        return True  # LocalProtocolError: our own request is malformed (a header value httpx refuses)
    cause: BaseException | None = exc
    seen = 0
    # httpx.ConnectError <- httpcore.ConnectError <- socket.gaierror; RemoteProtocolError("Invalid URL in location
    # header") <- (context) httpx.InvalidURL: a redirect to a URL that cannot be parsed fails the same each time.
    while cause is not None and seen < 10:
        if isinstance(cause, socket.gaierror | ssl.SSLCertVerificationError | httpx.InvalidURL):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False


class Fetcher:
    """GETs (and HEADs) with bounded retries, checked redirects and pacing over a caller-built ``httpx.Client``."""

    def __init__(  # noqa: PLR0913 - keyword-only tunables and injected clocks, each named at the call
        self,
        client: httpx.Client,
        *,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        min_interval: float = 1.0,
        max_redirects: int = MAX_REDIRECTS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_redirects = max_redirects
        self._sleep = sleep
        self._jitter = jitter
        self.pacer = Pacer(min_interval, sleep=sleep, clock=clock)
        self._reading: set[httpx.Response] = set()  # the bodies streaming now (from any thread)
        self._reading_lock = threading.Lock()

    def reading(self) -> list[httpx.Response]:
        """The responses whose bodies are being read now, by any thread (a stop cuts them)."""
        with self._reading_lock:
            return list(self._reading)

    @property
    def min_interval(self) -> float:
        return self.pacer.interval

    @property
    def requests_sent(self) -> int:
        """Requests started through this Fetcher (each retry and redirect hop is one)."""
        return self.pacer.started

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and "retry-after" in response.headers:
            try:
                seconds = float(response.headers["retry-after"])
            except ValueError:
                seconds = -1.0  # an HTTP-date or garbage: fall back to the backoff
            if seconds >= 0:  # false for NaN; a negative or NaN value made time.sleep raise
                return min(seconds, self.max_backoff)
        # "Equal jitter": half the exponential step, plus up to as much again at random, so that clients that
        # failed together do not retry together.
        step = float(min(self.backoff * (2**attempt), self.max_backoff))
        return step / 2 + step / 2 * min(max(self._jitter(), 0.0), 1.0)

    def _send(self, method: str, url: str, headers: dict[str, str] | None, source: Source) -> httpx.Response:
        """One request, retried while its failure may pass; the response is open (streamed)."""
        attempt = 0
        while True:
            started = self.pacer.start()
            if logger.isEnabledFor(logging.DEBUG):  # each start, on the pacer's clock: bench-tree measures them
                log.event(logger, "http request", level=logging.DEBUG, method=method, url=url, start=started)
            try:
                request = self.client.build_request(method, url, headers=headers)
                response = self.client.send(request, stream=True, follow_redirects=False)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if is_permanent(exc) or not isinstance(exc, httpx.TransportError) or attempt >= self.retries:
                    tries = "" if attempt == 0 else f" after {attempt + 1} attempts"
                    raise SourceError(
                        f"{method} {url} failed{tries}: {type(exc).__name__}: {exc}; {source.on_unreachable}",
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
                log.event(logger, "http retry", url=url, attempt=attempt + 1, status=response.status_code, delay=delay)
                self._sleep(delay)
                attempt += 1
                continue
            return response

    def _open(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        source: Source,
        allow: RedirectPolicy,
    ) -> httpx.Response:
        """The final response after redirects, each hop checked by ``allow``; a non-2xx status raises."""
        current = url
        for hop in range(self.max_redirects + 1):
            response = self._send(method, current, headers, source)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or location is None:
                try:
                    raise_for_status(response, current, source=source, method=method)
                except BaseException:
                    response.close()
                    raise
                return response
            response.close()
            target = location.strip()
            try:
                target = urljoin(current, target)
                why = "is not an http(s) URL" if not target.startswith(("http://", "https://")) else allow(url, target)
            except ValueError as exc:  # urllib refuses it ("Invalid IPv6 URL", a port that is not a number)
                why = f"is not a valid URL ({exc})"
            if why is not None:
                shown = printable(target, 300)[1:-1]
                raise SourceError(
                    f"{method} {url}: {source.name} redirected to {shown}, which {why}; not followed (every hop "
                    "must stay where the listing's own links may go)",
                    url=url,
                    status=response.status_code,
                )
            log.event(logger, "http redirect", url=current, to=target, status=response.status_code, hop=hop + 1)
            current = target
        raise SourceError(
            f"{method} {url}: {source.name} redirected more than {self.max_redirects} times (a loop?); "
            "not followed; run again later",
            url=url,
        )

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        source: Source = GENERIC,
        allow: RedirectPolicy = same_origin,
    ) -> Iterator[httpx.Response]:
        """Open ``url`` for streaming once its status is 2xx (retrying before any body byte is read)."""
        response = self._open("GET", url, headers, source, allow)
        with self._reading_lock:
            self._reading.add(response)
        try:
            yield response
        finally:
            with self._reading_lock:
                self._reading.discard(response)
            response.close()

    def head(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        source: Source = GENERIC,
        allow: RedirectPolicy = same_origin,
    ) -> httpx.Response:
        """HEAD ``url`` (headers only: ``Last-Modified``, ``Content-Length``) with the same rules as a GET."""
        response = self._open("HEAD", url, headers, source, allow)
        response.close()
        return response

    def get(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        source: Source = GENERIC,
        allow: RedirectPolicy = same_origin,
    ) -> httpx.Response:
        """GET ``url`` and read its body (refusing more than ``max_bytes``)."""
        with self.stream(url, source=source, allow=allow) as response:
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

    def get_text(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        source: Source = GENERIC,
        allow: RedirectPolicy = same_origin,
    ) -> str:
        """GET ``url`` and decode its body as text (a directory listing, a JSON document)."""
        return self.get(url, max_bytes=max_bytes, source=source, allow=allow).text
