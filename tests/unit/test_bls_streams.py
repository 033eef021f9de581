"""``DQ_TRANSFER_STREAMS``: a survey's uploads on a pool of that many threads; a stop aborts every one in flight."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from dataquest.bls import sync as sync_module
from dataquest.bls.transfer.streams import Streams, cut_reads
from dataquest.config import Settings
from dataquest.errors import ConfigurationError, Interrupted
from dataquest.http.client import Fetcher
from tests.support.bls_site import BlsSite
from tests.unit.test_bls_sync import CFG, Source, body, keys, settings

BUCKET = "sync-bucket"

pytestmark = pytest.mark.usefixtures("small_parts")


def test_the_setting_defaults_to_two_and_is_one_or_more() -> None:
    assert Settings.from_env({}).transfer_streams == 2
    assert Settings.from_env({"DQ_TRANSFER_STREAMS": "3"}).transfer_streams == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(ConfigurationError, match=r"^DQ_TRANSFER_STREAMS="):
            Settings.from_env({"DQ_TRANSFER_STREAMS": bad})


def test_the_pool_runs_every_item_at_most_size_at_once() -> None:
    lock = threading.Lock()
    now = peak = 0
    done: list[int] = []
    both = threading.Barrier(2, timeout=5)

    def work(item: int) -> None:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        if item < 2:
            both.wait()  # the first two run together: two streams are used
        with lock:
            now -= 1
            done.append(item)

    Streams(2).run(list(range(7)), work)
    assert (sorted(done), peak) == (list(range(7)), 2)


def test_the_first_failure_stops_the_pool_and_goes_up() -> None:
    started: list[int] = []

    def work(item: int) -> None:
        started.append(item)
        if item == 0:
            raise RuntimeError("the lease is lost")

    with pytest.raises(RuntimeError, match="the lease is lost"):
        Streams(1).run(list(range(5)), work)
    assert started == [0]


def test_an_interrupt_aborts_every_upload_in_flight_on_two_streams(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Source()
    for name, size in (("a.txt", 1), ("b.txt", 5000), ("c.txt", 1), ("d.txt", 5000)):  # b and d: multipart
        source.site.put(f"pr/{name}", name[0].encode() * size)
    real_transfer = sync_module.transfer
    both = threading.Barrier(2, timeout=5)

    def two_in_flight(*args: Any, **kw: Any) -> Any:
        count = kw["on_bytes"]
        if kw["key"] == "bls/pr/b.txt":

            def interrupt(n: int) -> None:  # SIGTERM arrives once b and d both stream
                both.wait()
                raise Interrupted("SIGTERM")

            kw["on_bytes"] = interrupt
        elif kw["key"] == "bls/pr/d.txt":

            def wait_for_the_stop(n: int) -> None:
                both.wait()
                for _ in range(500):  # until the pool stops this upload (at most 5 s: then the test fails)
                    count(0)
                    time.sleep(0.01)

            kw["on_bytes"] = wait_for_the_stop
        return real_transfer(*args, **kw)

    monkeypatch.setattr(sync_module, "transfer", two_in_flight)
    with pytest.raises(Interrupted) as info:
        sync_module.sync_surveys(settings(transfer_streams=2), source.fetcher(), s3, transfer_config=CFG)
    doc = info.value.document
    assert doc is not None
    assert (doc["uploaded"], [e["error"] for e in doc["errors"]]) == (2, ["interrupted by SIGTERM"])
    assert keys(s3, "bls/") == ["bls/pr/a.txt", "bls/pr/c.txt"]  # b and d never half-written
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert keys(s3, "_locks/") == []


def test_two_streams_at_the_stand_in_never_three(s3: Any) -> None:
    with BlsSite(bandwidth=256 * 1024) as site:  # 64 KiB bodies: a quarter of a second each
        for i in range(6):
            site.put_generated(f"pr/pr.data.{i}", 64 * 1024, seed=i)
        client = httpx.Client(headers={"User-Agent": "dataquest/test (+ops@example.org)"})
        fetcher = Fetcher(client, min_interval=0.01)
        try:
            summary = sync_module.sync_surveys(
                settings(bls_base_url=site.base_url, transfer_streams=2), fetcher, s3, transfer_config=CFG
            )
        finally:
            client.close()
        site.wait_idle()
        assert summary.ok, summary.errors
        assert summary.uploaded == 6
        assert (site.bodies(), site.max_streams()) == (6, 2)
        for i in range(6):
            assert body(s3, f"bls/pr/pr.data.{i}") == site.data_of(f"pr/pr.data.{i}")


def test_the_sync_bls_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataquest.cli import build_parser
    from dataquest.cli.common import settings_from

    monkeypatch.setenv("DQ_TRANSFER_STREAMS", "4")
    monkeypatch.setenv("DQ_REQUEST_INTERVAL", "2")
    args = build_parser().parse_args(["sync-bls", "--survey", "all", "--streams", "3", "--request-interval", "0.5"])
    got = settings_from(args)
    assert (got.all_surveys, got.transfer_streams, got.request_interval) == (True, 3, 0.5)
    env_only = settings_from(build_parser().parse_args(["sync-bls"]))
    assert (env_only.transfer_streams, env_only.request_interval) == (4, 2.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sync-bls", "--streams", "0"])


def test_a_stop_cuts_a_read_blocked_on_a_stalled_source() -> None:
    """Without the cut, the stalled read would wait for the source (30 s) and then read the whole body."""
    with BlsSite() as site:
        site.put_generated("pr/big", 256 * 1024, seed=1)
        site.stall("pr/big", after=64 * 1024, delay=30, times=1)
        client = httpx.Client(headers={"User-Agent": "dataquest/test (+ops@example.org)"}, timeout=60)
        fetcher = Fetcher(client, min_interval=0)
        streams = Streams(2, on_stop=lambda: cut_reads(fetcher))
        read: list[int] = []
        ended: list[BaseException] = []

        def work(item: str) -> None:
            if item == "fail":
                while not fetcher.reading():  # the other stream is reading
                    time.sleep(0.01)
                time.sleep(0.1)  # and stalled
                raise RuntimeError("the lease is lost")
            with fetcher.stream(site.url("pr/big")) as response:
                try:
                    for chunk in response.iter_bytes():
                        read.append(len(chunk))
                except Exception as exc:
                    ended.append(exc)
                    raise

        try:
            with pytest.raises(RuntimeError, match="the lease is lost"):
                streams.run(["big", "fail"], work)
        finally:
            client.close()
        assert streams.stopping
        assert sum(read) < 256 * 1024
        assert len(ended) == 1
        assert isinstance(ended[0], httpx.HTTPError)
        assert fetcher.reading() == []
