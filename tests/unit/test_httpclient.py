from __future__ import annotations

import itertools
import socket
import ssl
import threading

import httpx
import pytest

from dataquest.errors import ForbiddenError, SourceError
from dataquest.http.client import BLS, POPULATION, Fetcher, Pacer, build_client, is_permanent, same_origin


class Clock:
    """A fake clock: sleeping advances it, so pacing and backoff are observable without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def fetcher(handler, clock: Clock, **kw) -> Fetcher:  # type: ignore[no-untyped-def]
    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"User-Agent": "t (+a@b.org)"})
    kw.setdefault("jitter", lambda: 1.0)  # the top of each jittered step: the full exponential backoff
    return Fetcher(client, sleep=clock.sleep, clock=clock, **kw)


def test_retries_5xx_then_succeeds_with_exponential_backoff() -> None:
    answers = iter([503, 502, 200])
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(next(answers), content=b"ok"), clock, backoff=1.0, min_interval=0)
    assert f.get("http://x/a").content == b"ok"
    assert clock.sleeps == [1.0, 2.0]
    assert f.requests_sent == 3


def test_retry_after_is_honoured_on_429() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=b"ok")])
    clock = Clock()
    f = fetcher(lambda req: next(answers), clock, min_interval=0)
    assert f.get("http://x/a").content == b"ok"
    assert clock.sleeps == [7.0]


def test_retries_are_bounded_and_the_error_names_the_url() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(500), clock, retries=2, min_interval=0)
    with pytest.raises(SourceError, match=r"http://x/a answered 500") as info:
        f.get("http://x/a")
    assert info.value.status == 500
    assert f.requests_sent == 3


def test_connection_errors_are_retried_then_reported() -> None:
    def refuse(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    clock = Clock()
    f = fetcher(refuse, clock, retries=1, min_interval=0)
    with pytest.raises(SourceError, match="failed after 2 attempts: ConnectError"):
        f.get("http://x/a")


def test_403_says_to_set_a_contact_and_is_not_retried() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(403), clock, min_interval=0)
    with pytest.raises(ForbiddenError, match="DQ_CONTACT"):
        f.get("http://x/a", source=BLS)
    assert f.requests_sent == 1


def test_requests_are_paced() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(200), clock, min_interval=0.5)
    for _ in range(3):
        f.get("http://x/a")
    assert clock.sleeps == [0.5, 0.5]


def test_the_first_request_never_waits_and_the_interval_runs_between_request_starts() -> None:
    clock = Clock()

    def slow(req: httpx.Request) -> httpx.Response:
        clock.now += 0.3  # the request itself takes 0.3 s: the next one waits only what is left of the interval
        return httpx.Response(200)

    f = fetcher(slow, clock, min_interval=1.0)
    starts: list[float] = []
    for _ in range(3):
        f.get("http://x/a")
        starts.append(clock.now - 0.3)
    assert clock.sleeps == [pytest.approx(0.7), pytest.approx(0.7)]  # nothing before the first request
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [1.0, 1.0]


def test_the_default_interval_is_the_contracts_one_second() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(200), clock)
    f.get("http://x/a")
    f.get("http://x/a")
    assert clock.sleeps == [1.0]


def test_oversized_bodies_are_refused() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(200, content=b"x" * 100), clock, min_interval=0)
    with pytest.raises(SourceError, match="larger than 10 bytes"):
        f.get("http://x/a", max_bytes=10)


def test_the_client_sends_the_user_agent() -> None:
    client = build_client("dataquest/0 (+ops@example.org)")
    assert client.headers["User-Agent"] == "dataquest/0 (+ops@example.org)"


# --- permanent errors fail at once; what may pass is retried, with jitter --------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 451])
def test_a_4xx_other_than_408_and_429_is_not_retried(status: int) -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(status), clock, min_interval=0)
    with pytest.raises(SourceError) as info:
        f.get("http://x/a")
    assert info.value.status == status
    assert f.requests_sent == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [408, 429, 500, 501, 502, 503, 504, 599])
def test_408_429_and_every_5xx_are_retried(status: int) -> None:
    answers = iter([status, 200])
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(next(answers), content=b"ok"), clock, min_interval=0)
    assert f.get("http://x/a").content == b"ok"
    assert f.requests_sent == 2


def test_backoff_is_jittered_between_half_and_the_whole_step() -> None:
    answers = iter([503, 503, 503, 200])
    draws = iter([0.0, 0.5, 1.0])
    clock = Clock()
    f = fetcher(
        lambda req: httpx.Response(next(answers)), clock, backoff=2.0, min_interval=0, jitter=lambda: next(draws)
    )
    f.get("http://x/a")
    assert clock.sleeps == [1.0, 3.0, 8.0]  # steps 2, 4, 8: half + draw * half


def test_connection_resets_are_retried() -> None:
    calls = iter([httpx.ReadError("connection reset by peer"), None])

    def handler(req: httpx.Request) -> httpx.Response:
        exc = next(calls)
        if exc is not None:
            raise exc
        return httpx.Response(200, content=b"ok")

    clock = Clock()
    f = fetcher(handler, clock, min_interval=0)
    assert f.get("http://x/a").content == b"ok"
    assert f.requests_sent == 2


def _raise_from(outer: Exception, inner: BaseException) -> Exception:
    """``outer`` as ``raise outer from inner`` leaves it (httpx wraps httpcore's error, which wraps the OS one)."""
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        _raise_from(httpx.ConnectError("[Errno -2] Name or service not known"), socket.gaierror(-2, "unknown")),
        _raise_from(httpx.ConnectError("certificate verify failed"), ssl.SSLCertVerificationError(1, "verify failed")),
        httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
        httpx.LocalProtocolError("Illegal header value"),
    ],
    ids=["unresolvable-host", "bad-certificate", "unsupported-scheme", "malformed-request"],
)
def test_permanent_transport_errors_fail_at_once(exc: Exception) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise exc

    clock = Clock()
    f = fetcher(handler, clock, min_interval=0)
    with pytest.raises(SourceError, match=type(exc).__name__) as info:
        f.get("http://x/a", source=POPULATION)
    assert "after" not in str(info.value)  # one attempt, no "after N attempts"
    assert "DQ_POPULATION_URL" in str(info.value)
    assert f.requests_sent == 1
    assert clock.sleeps == []
    assert is_permanent(exc)


def test_an_unsupported_scheme_and_an_invalid_url_through_a_real_client_fail_at_once() -> None:
    clock = Clock()
    f = Fetcher(build_client("t (+a@b.org)"), sleep=clock.sleep, clock=clock, min_interval=0)
    for url in ("ftp://download.bls.gov/pub/", "http://[::1/x"):
        with pytest.raises(SourceError):
            f.get(url)
    assert clock.sleeps == []


def test_an_unresolvable_host_through_a_real_client_fails_at_once() -> None:
    clock = Clock()
    f = Fetcher(build_client("t (+a@b.org)"), sleep=clock.sleep, clock=clock, min_interval=0)
    with pytest.raises(SourceError, match="ConnectError"):
        f.get("http://no-such-host.invalid/pub/")  # .invalid never resolves (RFC 2606)
    assert f.requests_sent == 1
    assert clock.sleeps == []


# --- redirects are links too ---------------------------------------------------------------------------------


def redirecting(chain: dict[str, tuple[int, str]], final: bytes = b"final") -> httpx.MockTransport:
    def handler(req: httpx.Request) -> httpx.Response:
        hop = chain.get(str(req.url))
        if hop is not None:
            return httpx.Response(hop[0], headers={"Location": hop[1]})
        return httpx.Response(200, content=final)

    return httpx.MockTransport(handler)


def test_a_redirect_on_the_same_host_is_followed() -> None:
    client = httpx.Client(transport=redirecting({"http://x/a": (302, "/b")}))
    f = Fetcher(client, min_interval=0)
    assert f.get("http://x/a").content == b"final"
    assert f.requests_sent == 2


@pytest.mark.parametrize(
    "location",
    [
        "http://evil.example/a",
        "https://x/a",
        "http://x:8080/a",
        "ftp://x/a",
        "file:///etc/passwd",
        "//evil/a",
        "http://[bad/a",
        "http://x:notaport/a",
        "javascript:alert(1)",
        "http://x\x00.evil/a",
    ],
)
def test_a_redirect_off_the_origin_is_refused_and_not_fetched(location: str) -> None:
    fetched: list[str] = []
    inner = redirecting({"http://x/a": (301, location)})

    def handler(req: httpx.Request) -> httpx.Response:
        fetched.append(str(req.url))
        return inner.handle_request(req)

    f = Fetcher(httpx.Client(transport=httpx.MockTransport(handler)), min_interval=0)
    with pytest.raises(SourceError, match=r"redirected to .*not followed|InvalidURL|Invalid URL in location") as info:
        f.get("http://x/a", source=BLS)
    assert fetched == ["http://x/a"]  # one request, nothing fetched where it pointed, no retry
    assert str(info.value).isprintable()


def test_a_redirect_loop_is_bounded_and_an_error() -> None:
    client = httpx.Client(transport=redirecting({"http://x/a": (302, "/b"), "http://x/b": (307, "/a")}))
    f = Fetcher(client, min_interval=0, max_redirects=3)
    with pytest.raises(SourceError, match="more than 3 times"):
        f.get("http://x/a")
    assert f.requests_sent == 4


def test_a_policy_sees_every_hop() -> None:
    seen: list[tuple[str, str]] = []

    def policy(first: str, nxt: str) -> str | None:
        seen.append((first, nxt))
        return None if nxt.startswith("http://x/in/") else "leaves the folder"

    client = httpx.Client(transport=redirecting({"http://x/in/a": (302, "/in/b"), "http://x/in/b": (302, "/out")}))
    f = Fetcher(client, min_interval=0)
    with pytest.raises(SourceError, match="http://x/out, which leaves the folder"):
        f.get("http://x/in/a", allow=policy)
    assert seen == [("http://x/in/a", "http://x/in/b"), ("http://x/in/a", "http://x/out")]


def test_a_client_that_follows_redirects_itself_is_still_checked() -> None:
    client = httpx.Client(transport=redirecting({"http://x/a": (302, "http://evil.example/")}), follow_redirects=True)
    with pytest.raises(SourceError, match=r"evil\.example"):
        Fetcher(client, min_interval=0).get("http://x/a")


def test_same_origin_compares_scheme_host_and_port_not_credentials() -> None:
    assert same_origin("https://u:p@h/a", "https://h/b") is None
    assert same_origin("https://h/a", "http://h/a") is not None
    assert same_origin("https://h/a", "https://h:444/a") is not None


# --- messages name the right cause, never dump a body raw, never carry credentials ----------------------------


def test_404_and_403_name_the_source_they_came_from() -> None:
    clock = Clock()
    for status in (403, 404):
        f = fetcher(lambda req, s=status: httpx.Response(s), clock, min_interval=0)
        with pytest.raises(SourceError) as pop:
            f.get("https://api.example/data?cube=x", source=POPULATION)
        assert "DQ_POPULATION_URL" in str(pop.value)
        assert "survey" not in str(pop.value)
        assert "BLS" not in str(pop.value)
        with pytest.raises(SourceError) as bls:
            f.get("https://download.bls.gov/pub/time.series/xx/", source=BLS)
        assert "BLS" in str(bls.value) or "survey" in str(bls.value)
    f = fetcher(lambda req: httpx.Response(403), clock, min_interval=0)
    with pytest.raises(ForbiddenError) as forbidden:
        f.get("https://api.example/data", source=POPULATION)
    assert "DQ_CONTACT" not in str(forbidden.value)


def test_a_binary_error_body_is_escaped_and_trimmed_in_the_message() -> None:
    body = bytes(range(256)) * 40
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(400, content=body), clock, min_interval=0)
    with pytest.raises(SourceError) as info:
        f.get("http://x/a")
    message = str(info.value)
    assert message.isprintable()
    assert "\\x00" in message
    assert len(message) < 400


def test_credentials_in_the_url_never_reach_the_error() -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(500), clock, min_interval=0, retries=0)
    with pytest.raises(SourceError) as info:
        f.get("https://user:hunter2@x/a?api_key=s3cr3t&cube=c")
    assert "hunter2" not in str(info.value)
    assert "s3cr3t" not in str(info.value)
    assert info.value.url == "https://***@x/a?api_key=***&cube=c"


class SharedClock(Clock):
    """The fake clock, safe to advance from several threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            super().sleep(seconds)


def test_one_pacer_spaces_every_request_start_of_every_thread() -> None:
    """Listings, HEADs, GETs, a retry and a redirect hop, from two threads: each start is a full interval after
    the one before (on the fake clock), the first one waits for nothing, and every request was paced."""
    clock = SharedClock()
    lock = threading.Lock()
    arrived: list[str] = []
    failed_once: set[str] = set()

    def handler(req: httpx.Request) -> httpx.Response:
        path = req.url.path
        with lock:
            arrived.append(f"{req.method} {path}")
            first = path not in failed_once
            failed_once.add(path)
        if path.startswith("/retry") and first:
            return httpx.Response(503)
        if path.startswith("/moved"):
            return httpx.Response(302, headers={"Location": "/pr/moved-here"})
        return httpx.Response(200, content=b"x")

    f = fetcher(handler, clock, min_interval=1.0, backoff=0.0)
    starts: list[float] = []
    start = f.pacer.start

    def recorded() -> float:
        granted = start()
        with lock:
            starts.append(granted)
        return granted

    f.pacer.start = recorded  # type: ignore[method-assign]

    def worker(n: int) -> None:
        for i in range(5):
            f.get(f"http://x/pr/{n}-{i}/")
            f.head(f"http://x/pr/{n}-{i}.txt")
        f.get(f"http://x/retry{n}")
        f.get(f"http://x/moved{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(arrived) == f.requests_sent == len(starts) == 2 * (10 + 2 + 2)
    ordered = sorted(starts)
    assert ordered[0] == 100.0  # the first request of the run is not delayed
    assert min(b - a for a, b in itertools.pairwise(ordered)) == pytest.approx(1.0)
    assert ordered[-1] - ordered[0] == pytest.approx(len(starts) - 1)  # and never more than needed


def test_the_pacer_alone_lets_the_first_start_at_once() -> None:
    clock = Clock()
    pacer = Pacer(0.25, sleep=clock.sleep, clock=clock)
    assert [pacer.start() for _ in range(3)] == [100.0, 100.25, 100.5]
    assert (clock.sleeps, pacer.started) == ([0.25, 0.25], 3)


def test_each_request_start_is_logged_at_debug_on_the_pacers_clock(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    f = fetcher(lambda req: httpx.Response(200), clock, min_interval=0.5)
    with caplog.at_level("DEBUG", logger="dataquest"):
        f.get("http://x/a")
        f.head("http://x/b")
    got = [
        (r.fields["method"], r.fields["url"], r.fields["start"])  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "http request"
    ]
    assert got == [("GET", "http://x/a", 100.0), ("HEAD", "http://x/b", 100.5)]
