"""A local stand-in for download.bls.gov (and any other HTTP source): a threaded ``http.server`` over an
in-memory tree, with IIS-format directory listings, request counting and fault injection.

Usage::

    from tests.support.bls_site import BlsSite

    with BlsSite() as site:                       # binds 127.0.0.1 on a free port
        site.put("pr/pr.class", b"...", modified=datetime(2025, 9, 4, 7, 30))
        site.put_generated("pr/big.bin", 64 * MiB, seed=1)   # bytes made on the fly, not held in memory
        site.serve("/tesseract/data.jsonrecords", b'{"data": []}', content_type="application/json")
        site.base_url                             # "http://127.0.0.1:PORT/pub/time.series/" (DQ_BLS_BASE_URL)
        site.url("/tesseract/data.jsonrecords")   # any served path as a full URL
        site.put_calendar([Event("Productivity and Costs for ...", eastern(2026, 12, 3))])  # BLS's release calendar
        site.calendar_url                         # where it is served (DQ_BLS_CALENDAR_URL)
        ...
        site.count("/pub/time.series/pr/")        # GETs of that path (query strings ignored)
        site.count(method="HEAD")                 # every HEAD
        site.file_gets()                          # GETs of files (not listings), all paths

The tree
    ``put(path, data, modified=..., content_type=...)`` adds or replaces a file. A ``path`` without a leading
    ``/`` is relative to ``root`` (default ``/pub/time.series/``); an absolute one may be anywhere (a DataUSA
    JSON at ``/tesseract/data.jsonrecords``: ``serve`` is ``put`` with JSON's content type). Folders exist
    because files are under them (``mkdir`` makes an empty one). ``remove(path)`` deletes a file or a folder.
    ``touch(path, modified)`` changes a file's listing timestamp only. ``data_of(path)`` / ``sha256_of(path)``
    give the bytes a file serves.

Listings
    A GET of a folder path (ending in ``/``) answers the IIS listing BLS serves: uppercase tags, absolute
    hrefs, ``M/D/YYYY  H:MM AM`` timestamps, right-aligned sizes, ``&lt;dir&gt;`` for folders, a
    ``[To Parent Directory]`` link, all entries on one line. ``listing(folder)`` returns that page;
    ``add_raw_entry(folder, html)`` appends hand-written entries (hostile links) to a folder's generated page;
    ``override_listing(folder, body)`` serves ``body`` instead (an empty, garbage or truncated page; or a real
    BLS page verbatim); ``clear_override(folder)`` undoes it. ``iis_entry(...)`` formats one entry line.

Faults (each matches a path exactly; ``times=None`` means every request, else the next ``times`` requests)
    ``fail(path, status, times, body=...)``: answer ``status`` (e.g. 503 then recover, or 403), with ``body``.
    ``redirect(path, location, status=302, times)``: answer a redirect to ``location`` (absolute, or a path on
    this server; another BlsSite's URL sends the client elsewhere).
    ``cut(path, after, times)``: send the full ``Content-Length`` but only ``after`` body bytes, then close.
    ``slow(path, delay, times)``: sleep ``delay`` seconds before answering; ``stall(path, after, delay)``:
    send ``after`` body bytes, sleep ``delay`` seconds, then the rest (a process can be killed mid-transfer).
    ``require_contact`` (default True): like BLS, answer 403 when the User-Agent has no e-mail address.
    ``listing_clock`` (a ``timedelta``, default 0): added to every time the listings show, as when the server's
    clock moves (daylight saving, a new time zone); ``Last-Modified`` is unaffected.
    ``clear_faults()`` removes them all.

Requests
    ``requests`` is the list of :class:`Request` (method, path, user_agent, arrival time, ``Range`` header) in
    arrival order, ``bytes_sent`` the body bytes sent and ``streams`` one :class:`Stream` per file body sent (path,
    start and end time, bytes, status); ``reset_counts()`` resets them. Files answer ``HEAD`` too, with
    ``Content-Length``, ``Accept-Ranges`` and ``Last-Modified`` (the file's ``modified`` as GMT); a GET with
    ``If-Modified-Since`` at or after it answers ``304 Not Modified``. A request's ``authorization`` header is
    recorded (``Request``).
    ``max_requests_per_second()`` is the most requests started in any one-second window, ``max_streams()`` the
    most file bodies in flight at once (after ``wait_idle()``), ``listing_gets()`` the GETs per folder,
    ``bodies()`` the file bodies sent.

Ranges
    A GET with ``Range: bytes=a-b`` (also ``a-`` and ``-n``; one range) answers ``206`` with ``Content-Range``, or
    ``416`` when it starts past the end. With ``If-Range`` (an HTTP date) the range is honoured only when it equals
    the file's ``Last-Modified``; otherwise the whole file comes back as ``200`` (the file changed).
    ``bandwidth`` (bytes per second, default ``None``: no cap) paces every file body on its own, so a bench can
    model slow large files.
"""

from __future__ import annotations

import hashlib
import html
import random
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

from tests.support.bls_calendar import DEFAULT_EVENTS, Event, ics

MiB = 1024 * 1024
DEFAULT_MODIFIED = datetime(2025, 9, 4, 7, 30)
CALENDAR_PATH = "/schedule/news_release/bls.ics"  # www.bls.gov's path of the release calendar
_BLOCK = 1 * MiB
POLL_INTERVAL = 0.02  # how soon stop() returns (serve_forever's shutdown check); each wake-up is a select()


@dataclass
class _File:
    data: bytes | None
    size: int
    modified: datetime
    content_type: str
    seed: int = 0

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        if self.data is not None:
            for i in range(start, self.size, 256 * 1024):
                yield self.data[i : i + 256 * 1024]
            return
        base = random.Random(self.seed).randbytes(_BLOCK)
        index, offset = divmod(start, _BLOCK)
        pos = start
        while pos < self.size:
            k = (index * 7919) % _BLOCK
            block = base[k:] + base[:k]
            piece = block[offset : min(_BLOCK, offset + self.size - pos)]
            yield piece
            pos += len(piece)
            index, offset = index + 1, 0


@dataclass
class _Fault:
    kind: str
    times: int | None
    status: int = 0
    after: int = 0
    delay: float = 0.0
    location: str = ""
    body: bytes = b""

    def take(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    user_agent: str
    query: str = ""
    authorization: str = ""
    at: float = 0.0  # time.monotonic() on arrival
    range: str = ""


@dataclass
class Stream:
    """One file body: ``status`` 200 or 206, ``start``/``end`` as ``time.monotonic()``, the bytes sent. Recorded
    before the headers go out; ``end`` and ``bytes`` are final once it is no longer ``active``
    (:meth:`BlsSite.wait_idle`)."""

    path: str
    status: int
    start: float
    end: float
    bytes: int
    active: bool = False


@dataclass
class BlsSite:
    """See the module docstring for the API."""

    root: str = "/pub/time.series/"
    require_contact: bool = True
    host_label: str = "download.bls.gov"
    files: dict[str, _File] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    bytes_sent: int = 0
    streams: list[Stream] = field(default_factory=list)
    listing_clock: timedelta = timedelta(0)
    bandwidth: float | None = None

    def __post_init__(self) -> None:
        if not (self.root.startswith("/") and self.root.endswith("/")):
            raise ValueError("root must start and end with '/'")
        self._lock = threading.Lock()
        self._faults: dict[str, list[_Fault]] = {}
        self._overrides: dict[str, bytes] = {}
        self._raw_entries: dict[str, list[str]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> BlsSite:
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # serve_forever checks for shutdown() every poll_interval (0.5 s by default): each stop waited ~0.25 s.
        serve = partial(self._server.serve_forever, poll_interval=POLL_INTERVAL)
        self._thread = threading.Thread(target=serve, name="bls-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> BlsSite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the site is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + self.root

    def url(self, path: str) -> str:
        return self.origin + quote(self._abs(path), safe="/?=&%")

    # --- the tree ------------------------------------------------------------------------------------------
    def _abs(self, path: str) -> str:
        return path if path.startswith("/") else self.root + path

    def put(
        self,
        path: str,
        data: bytes,
        *,
        modified: datetime = DEFAULT_MODIFIED,
        content_type: str = "text/plain",
    ) -> None:
        with self._lock:
            self.files[self._abs(path)] = _File(data, len(data), modified, content_type)

    def put_generated(self, path: str, size: int, *, seed: int = 0, modified: datetime = DEFAULT_MODIFIED) -> None:
        """A file of ``size`` pseudo-random bytes made as they are sent (large files cost no memory)."""
        with self._lock:
            self.files[self._abs(path)] = _File(None, size, modified, "application/octet-stream", seed)

    def serve(self, path: str, data: bytes, *, content_type: str = "application/json") -> None:
        self.put(path, data, content_type=content_type)

    # --- BLS's release calendar (www.bls.gov's path, on this server) ----------------------------------------
    @property
    def calendar_url(self) -> str:
        """Where :meth:`put_calendar` serves the calendar (``DQ_BLS_CALENDAR_URL``)."""
        return self.url(CALENDAR_PATH)

    def put_calendar(self, events: Iterable[Event] = DEFAULT_EVENTS, *, raw: Iterable[str] = ()) -> bytes:
        """Serve a generated release calendar (:func:`tests.support.bls_calendar.ics`) at ``calendar_url``."""
        body = ics(events, raw=raw)
        self.put(CALENDAR_PATH, body, content_type="text/calendar")
        return body

    def touch(self, path: str, modified: datetime) -> None:
        with self._lock:
            self.files[self._abs(path)].modified = modified

    def remove(self, path: str) -> None:
        p = self._abs(path)
        with self._lock:
            for key in [k for k in self.files if k == p or (p.endswith("/") and k.startswith(p))]:
                del self.files[key]
            self.folders = {f for f in self.folders if not f.startswith(p)}

    def mkdir(self, path: str) -> None:
        p = self._abs(path)
        with self._lock:
            self.folders.add(p if p.endswith("/") else p + "/")

    def data_of(self, path: str) -> bytes:
        return b"".join(self.files[self._abs(path)].chunks())

    def sha256_of(self, path: str) -> str:
        h = hashlib.sha256()
        for chunk in self.files[self._abs(path)].chunks():
            h.update(chunk)
        return h.hexdigest()

    def _all_folders(self) -> set[str]:
        found = set(self.folders)
        for path in list(self.files) + list(self.folders):
            parts = path.split("/")[1:-1]
            for i in range(len(parts) + 1):
                found.add("/" + "".join(p + "/" for p in parts[:i]))
        return found

    def _children(self, folder: str) -> tuple[list[tuple[str, _File]], list[str]]:
        files = sorted((p, f) for p, f in self.files.items() if p.startswith(folder) and "/" not in p[len(folder) :])
        dirs = sorted(
            d for d in self._all_folders() if d != folder and d.startswith(folder) and "/" not in d[len(folder) : -1]
        )
        return [(p, f) for p, f in files], dirs

    # --- listings ------------------------------------------------------------------------------------------
    def listing(self, folder: str) -> bytes:
        folder = self._abs(folder)
        with self._lock:
            if folder in self._overrides:
                return self._overrides[folder]
            files, dirs = self._children(folder)
            dir_times = {
                d: max((f.modified for p, f in self.files.items() if p.startswith(d)), default=DEFAULT_MODIFIED)
                for d in dirs
            }
            raw = list(self._raw_entries.get(folder, []))
        shift = self.listing_clock
        entries = [iis_entry(dir_times[d] + shift, None, quote(d), d[len(folder) : -1]) for d in dirs]
        entries += [iis_entry(f.modified + shift, f.size, quote(p), p[len(folder) :]) for p, f in files]
        entries += raw
        parent = folder.rstrip("/").rsplit("/", 1)[0] + "/"
        head = f"{self.host_label} - {folder}"
        parent_link = "" if folder == "/" else f'<A HREF="{quote(parent)}">[To Parent Directory]</A><br><br>'
        page = (
            f"<html><head><title>{head}</title></head><body><H1>{head}</H1><hr>\n\n"
            f"<pre>{parent_link}{''.join(entries)}</pre><hr></body></html>"
        )
        return page.encode()

    def add_raw_entry(self, folder: str, entry_html: str) -> None:
        with self._lock:
            self._raw_entries.setdefault(self._abs(folder), []).append(entry_html)

    def override_listing(self, folder: str, body: bytes | str) -> None:
        with self._lock:
            self._overrides[self._abs(folder)] = body.encode() if isinstance(body, str) else body

    def clear_override(self, folder: str) -> None:
        with self._lock:
            self._overrides.pop(self._abs(folder), None)

    # --- faults --------------------------------------------------------------------------------------------
    def fail(self, path: str, status: int, times: int | None = 1, *, body: bytes | None = None) -> None:
        text = f"injected {status}\n".encode() if body is None else body
        self._add_fault(path, _Fault("fail", times, status=status, body=text))

    def redirect(self, path: str, location: str, *, status: int = 302, times: int | None = None) -> None:
        self._add_fault(path, _Fault("redirect", times, status=status, location=location))

    def cut(self, path: str, after: int, times: int | None = 1) -> None:
        self._add_fault(path, _Fault("cut", times, after=after))

    def slow(self, path: str, delay: float, times: int | None = None) -> None:
        self._add_fault(path, _Fault("slow", times, delay=delay))

    def stall(self, path: str, after: int, delay: float, times: int | None = None) -> None:
        self._add_fault(path, _Fault("stall", times, after=after, delay=delay))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, path: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(self._abs(path), []).append(fault)

    def _take_faults(self, path: str) -> list[_Fault]:
        with self._lock:
            return [f for f in self._faults.get(path, []) if f.take()]

    # --- requests ------------------------------------------------------------------------------------------
    def count(self, path: str | None = None, method: str = "GET") -> int:
        p = None if path is None else self._abs(path)
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and (p is None or r.path == p))

    def file_gets(self) -> int:
        """GETs of files (listing pages not counted)."""
        with self._lock:
            return sum(1 for r in self.requests if r.method == "GET" and not r.path.endswith("/"))

    def listing_gets(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for r in self.requests:
                if r.method == "GET" and r.path.endswith("/"):
                    out[r.path] = out.get(r.path, 0) + 1
            return out

    def bodies(self) -> int:
        """File bodies sent (200 or 206 with a body; HEAD, 304 and listings not counted)."""
        with self._lock:
            return len(self.streams)

    def max_requests_per_second(self) -> int:
        """The most requests (any method, any path) that started within one second of each other."""
        with self._lock:
            times = sorted(r.at for r in self.requests)
        best, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= 1.0:
                first += 1
            best = max(best, last - first + 1)
        return best

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no file body is being sent (a client can hold the last byte before the server has recorded
        the stream's end)."""
        deadline = time.monotonic() + timeout
        while any(s.active for s in list(self.streams)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"file bodies still being sent after {timeout} s")
            time.sleep(0.01)

    def max_streams(self) -> int:
        """The most file bodies that were being sent at the same time (call :meth:`wait_idle` first)."""
        with self._lock:
            edges = sorted([(s.start, 1) for s in self.streams] + [(s.end, -1) for s in self.streams])
        best = now = 0
        for _, step in edges:  # an end sorts before a start at the same instant
            now += step
            best = max(best, now)
        return best

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.streams.clear()
            self.bytes_sent = 0

    def _sent(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n


def iis_entry(modified: datetime, size: int | None, href: str, name: str) -> str:
    """One IIS listing entry: ``  9/4/2025  7:30 AM          102 <A HREF="...">name</A><br>``."""
    date = f"{modified.month}/{modified.day}/{modified.year}"
    hour = modified.hour % 12 or 12
    clock = f"{hour}:{modified.minute:02d} {'AM' if modified.hour < 12 else 'PM'}"
    size_text = f"{size:>12}" if size is not None else "       &lt;dir&gt;"
    return f'{date:>10} {clock:>8} {size_text} <A HREF="{href}">{html.escape(name, quote=False)}</A><br>'


_EMAIL = re.compile(r"[^@\s()<>+]+@[^@\s()<>]+\.[a-z]{2,}", re.IGNORECASE)


class _QuietServer(ThreadingHTTPServer):
    """A client that closes a connection early (a redirect it refuses, a response it abandons) is normal here."""

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    site: BlsSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        site = self.site
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        agent = self.headers.get("User-Agent", "")
        with site._lock:
            site.requests.append(
                Request(
                    self.command,
                    path,
                    agent,
                    parts.query,
                    self.headers.get("Authorization", ""),
                    at=time.monotonic(),
                    range=self.headers.get("Range", ""),
                )
            )
        faults = site._take_faults(path)
        for fault in faults:
            if fault.kind == "slow":
                time.sleep(fault.delay)
        if site.require_contact and not _EMAIL.search(agent):
            return self._plain(403, b"Access Denied: add a contact e-mail to your User-Agent\n", head)
        for fault in faults:
            if fault.kind == "fail":
                return self._plain(fault.status, fault.body, head)
            if fault.kind == "redirect":
                return self._redirect(fault.status, fault.location, head)

        if path.endswith("/") and (path in site._overrides or path in site._all_folders()):
            return self._plain(200, site.listing(path), head, content_type="text/html")
        with site._lock:
            file = site.files.get(path)
        if file is None:
            return self._plain(404, b"Not Found\n", head)
        modified = file.modified.replace(tzinfo=UTC, microsecond=0)
        since = _http_date(self.headers.get("If-Modified-Since"))
        if since is not None and modified <= since:
            self.send_response(304)
            self.send_header("Last-Modified", format_datetime(modified, usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        last_modified = format_datetime(modified, usegmt=True)
        span = _range(self.headers.get("Range"), self.headers.get("If-Range"), last_modified, file.size)
        if isinstance(span, str):  # "unsatisfiable"
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{file.size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        start, end = span if span is not None else (0, file.size)
        stream = Stream(path, 200 if span is None else 206, time.monotonic(), time.monotonic(), 0, active=not head)
        if not head:
            with site._lock:
                site.streams.append(stream)
        self.send_response(stream.status)
        self.send_header("Content-Type", file.content_type)
        self.send_header("Content-Length", str(end - start))
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{file.size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        if head:
            return None
        try:
            stream.bytes = self._body(file, start, end, faults)
        finally:
            with site._lock:
                stream.end, stream.active = time.monotonic(), False
        return None

    def _body(self, file: _File, start: int, end: int, faults: list[_Fault]) -> int:
        """Send bytes ``start..end`` of ``file`` (faults and the bandwidth cap applied); the body bytes sent."""
        site = self.site
        cut = next((f for f in faults if f.kind == "cut"), None)
        stall = next((f for f in faults if f.kind == "stall"), None)
        began, sent = time.monotonic(), 0
        try:
            for block in file.chunks(start):
                for chunk in _pieces(block[: end - start - sent], site.bandwidth):
                    if cut is not None and sent + len(chunk) >= cut.after:
                        self.wfile.write(chunk[: cut.after - sent])
                        self.wfile.flush()
                        site._sent(cut.after - sent)
                        self.close_connection = True
                        return cut.after
                    piece = chunk
                    if stall is not None and sent + len(chunk) >= stall.after >= sent:
                        self.wfile.write(chunk[: stall.after - sent])
                        self.wfile.flush()
                        time.sleep(stall.delay)
                        piece = chunk[stall.after - sent :]
                        stall = None
                    self.wfile.write(piece)
                    sent += len(chunk)
                    site._sent(len(chunk))
                    if site.bandwidth:
                        time.sleep(max(0.0, began + sent / site.bandwidth - time.monotonic()))
                if sent >= end - start:
                    break
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return sent

    def _redirect(self, status: int, location: str, head: bool) -> None:
        body = f"moved to {location}\n".encode()
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _plain(self, status: int, body: bytes, head: bool, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
            self.site._sent(len(body))


def _pieces(chunk: bytes, bandwidth: float | None) -> Iterator[bytes]:
    """``chunk`` whole, or in pieces of about a tenth of a second each under a bandwidth cap."""
    step = len(chunk) if not bandwidth else max(1024, int(bandwidth / 10))
    for i in range(0, len(chunk), max(step, 1)):
        yield chunk[i : i + step]


_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def _range(header: str | None, if_range: str | None, last_modified: str, size: int) -> tuple[int, int] | str | None:
    """The ``(start, end)`` a ``Range`` header asks for (end exclusive), ``"unsatisfiable"``, or ``None`` for the
    whole file: no header, one this stand-in does not read (several ranges), or an ``If-Range`` that no longer
    matches ``Last-Modified``."""
    m = _RANGE_RE.fullmatch((header or "").strip())
    if m is None or (not m[1] and not m[2]):
        return None
    if if_range is not None and if_range.strip() != last_modified:
        return None
    if not m[1]:  # the last n bytes
        return (max(0, size - int(m[2])), size) if int(m[2]) > 0 else "unsatisfiable"
    start = int(m[1])
    if start >= size:
        return "unsatisfiable"
    end = size if not m[2] else min(size, int(m[2]) + 1)
    return (start, end) if end > start else "unsatisfiable"


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
