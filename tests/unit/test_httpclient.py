from __future__ import annotations

import itertools

import httpx
import pytest

from dataquest.errors import ForbiddenError, SourceError
from dataquest.httpclient import Fetcher, build_client


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
        f.get("http://x/a")
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
