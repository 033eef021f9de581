"""The Fetcher behaviours the sync relies on (beyond tests/unit/test_httpclient.py)."""

from __future__ import annotations

import httpx
import pytest

from dataquest.http.client import Fetcher


@pytest.mark.parametrize("value", ["-5", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_an_odd_retry_after_falls_back_to_the_backoff(value: str) -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": value}), httpx.Response(200, content=b"ok")])
    sleeps: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(lambda r: next(answers)))
    f = Fetcher(client, min_interval=0, backoff=0.25, sleep=sleeps.append, jitter=lambda: 1.0)
    assert f.get_text("http://x/a") == "ok"
    assert sleeps == [0.25]


def test_get_text_refuses_an_oversized_listing() -> None:
    from dataquest.errors import SourceError

    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 100)))
    with pytest.raises(SourceError, match="larger than 10 bytes"):
        Fetcher(client, min_interval=0).get_text("http://x/a", max_bytes=10)
