"""The BLS stand-in's Range/If-Range answers and its request records (tests/support/bls_site.py)."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime

import httpx
import pytest

from tests.support.bls_site import BlsSite, Request, Stream

UA = {"User-Agent": "tests (test@example.org)"}
SIZE = 300_000
MODIFIED = datetime(2025, 9, 4, 7, 30)
LAST_MODIFIED = "Thu, 04 Sep 2025 07:30:00 GMT"


@pytest.fixture
def site(site: BlsSite) -> BlsSite:
    """The stand-in (tests/conftest.py: the fixture every suite uses) with one generated file."""
    site.put_generated("pr/big.bin", SIZE, seed=11, modified=MODIFIED)
    return site


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=100-199", 100, 200), ("bytes=299990-", 299_990, SIZE), ("bytes=-10", SIZE - 10, SIZE),
     ("bytes=299990-999999", 299_990, SIZE)],
)  # fmt: skip
def test_a_range_answers_206_with_those_bytes(site: BlsSite, header: str, start: int, end: int) -> None:
    r = httpx.get(site.url("pr/big.bin"), headers={**UA, "Range": header})
    assert r.status_code == 206
    assert r.content == site.data_of("pr/big.bin")[start:end]
    assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert site.requests[-1].range == header
    site.wait_idle()
    assert site.streams[-1].status == 206
    assert site.streams[-1].bytes == end - start


def test_a_range_past_the_end_answers_416(site: BlsSite) -> None:
    r = httpx.get(site.url("pr/big.bin"), headers={**UA, "Range": f"bytes={SIZE}-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"
    assert site.bodies() == 0


def test_if_range_honours_the_range_only_while_last_modified_is_unchanged(site: BlsSite) -> None:
    same = httpx.get(site.url("pr/big.bin"), headers={**UA, "Range": "bytes=10-19", "If-Range": LAST_MODIFIED})
    assert (same.status_code, len(same.content)) == (206, 10)
    site.touch("pr/big.bin", datetime(2025, 10, 1, 8, 0))
    changed = httpx.get(site.url("pr/big.bin"), headers={**UA, "Range": "bytes=10-19", "If-Range": LAST_MODIFIED})
    assert changed.status_code == 200
    assert changed.content == site.data_of("pr/big.bin")
    assert changed.headers["Last-Modified"] == "Wed, 01 Oct 2025 08:00:00 GMT"


def test_head_sends_no_body_and_announces_ranges(site: BlsSite) -> None:
    r = httpx.head(site.url("pr/big.bin"), headers=UA)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Last-Modified"] == LAST_MODIFIED
    assert (site.bodies(), site.bytes_sent, site.count(method="HEAD")) == (0, 0, 1)


def test_bodies_listings_and_streams_in_flight_are_counted(site: BlsSite) -> None:
    site.put_generated("pr/other.bin", SIZE, seed=12)
    site.bandwidth = 1_000_000  # 0.3 s a body
    httpx.get(site.base_url + "pr/", headers=UA)
    with httpx.Client(headers=UA) as client, ExitStack() as stack:
        # Both responses open (headers in, bodies on their way) before either body is read: two streams in flight
        # whatever the machine's load, where two threads fetching could each finish before the other starts.
        streams = [stack.enter_context(client.stream("GET", site.url(p))) for p in ("pr/big.bin", "pr/other.bin")]
        got = [r.read() for r in streams]
    assert [len(b) for b in got] == [SIZE, SIZE]
    site.wait_idle()
    assert site.bodies() == 2
    assert site.max_streams() == 2
    assert site.listing_gets() == {"/pub/time.series/pr/": 1}
    assert site.max_requests_per_second() == 3
    site.reset_counts()
    assert (site.bodies(), site.max_streams(), site.max_requests_per_second()) == (0, 0, 0)


def test_max_requests_per_second_and_max_streams_from_the_records() -> None:
    site = BlsSite()
    site.requests = [Request("GET", "/", "", at=t) for t in (0.0, 0.5, 0.99, 1.0, 1.2, 5.0)]
    assert site.max_requests_per_second() == 4  # 0.5, 0.99, 1.0, 1.2
    site.streams = [Stream("/a", 200, 0, 2, 1), Stream("/b", 200, 1, 3, 1), Stream("/c", 200, 2, 4, 1)]
    assert site.max_streams() == 2  # /a ends as /c starts
