"""The run's trail is in S3 as the run goes; an interrupt aborts the upload in flight, releases the lease and
writes the trail; an unexpected failure of one survey is that survey's error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataquest.bls import sync as sync_module
from dataquest.bls.trail import Trail
from dataquest.errors import Interrupted
from tests.unit.test_bls_sync import CFG, Source, keys, settings

BUCKET = "sync-bucket"  # the module of test_bls_sync's helpers

pytestmark = pytest.mark.usefixtures("small_parts")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def events(s3: Any, key: str) -> list[str]:
    raw = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line)["event"] for line in raw.splitlines()]


def test_the_trail_is_written_at_once_then_at_most_every_interval(s3: Any) -> None:
    clock = Clock()
    trail = Trail("run-1", s3, BUCKET, every=5, clock=clock)
    trail.add("start")
    assert events(s3, trail.key) == ["start"]  # a run killed right away still has its trail
    trail.add("upload", key="a")
    trail.add("upload", key="b")
    assert events(s3, trail.key) == ["start"]  # within the interval: no rewrite per event
    clock.now += 5
    trail.add("upload", key="c")
    assert events(s3, trail.key) == ["start", "upload", "upload", "upload"]
    assert trail.write()
    assert trail.writes == 2  # nothing new since: no PUT
    trail.add("summary")
    assert trail.write()
    assert events(s3, trail.key)[-1] == "summary"
    assert trail.writes == 3


def test_a_failed_trail_write_is_remembered_and_the_run_goes_on(s3: Any) -> None:
    trail = Trail("run-2", s3, "no-such-bucket")
    trail.add("start")  # does not raise
    assert trail.write_error is not None
    assert "no-such-bucket" in trail.write_error


def test_a_dry_run_trail_writes_nothing(s3: Any) -> None:
    trail = Trail("run-3")
    trail.add("start")
    assert not trail.write()
    assert keys(s3) == []


def test_an_interrupt_mid_run_aborts_the_upload_releases_the_lease_and_writes_the_trail(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Source()
    source.site.put("pr/a.txt", b"a")
    source.site.put("pr/b.txt", b"b" * 5000)  # multipart with CFG
    source.site.put("pr/c.txt", b"c")
    real_transfer = sync_module.transfer

    def stopping(*args: Any, **kw: Any) -> Any:
        if kw["key"] == "bls/pr/b.txt":

            def interrupt(n: int) -> None:  # SIGTERM arriving while the body streams
                raise Interrupted("SIGTERM")

            kw["on_bytes"] = interrupt
        return real_transfer(*args, **kw)

    monkeypatch.setattr(sync_module, "transfer", stopping)
    with pytest.raises(Interrupted) as info:  # one stream: a, then b (interrupted), and c never starts
        sync_module.sync_surveys(settings(transfer_streams=1), source.fetcher(), s3, transfer_config=CFG)
    doc = info.value.document
    assert doc is not None
    assert (doc["uploaded"], doc["errors"][-1]["error"]) == (1, "interrupted by SIGTERM")
    assert keys(s3, "bls/") == ["bls/pr/a.txt"]  # b was never half-written, c never started
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert keys(s3, "_locks/") == []  # the lease is released
    (trail_key,) = keys(s3, "_logs/ingest/")
    got = events(s3, trail_key)
    assert got[0] == "start"
    assert "upload" in got
    assert got[-1] == "interrupted"


def test_a_plain_keyboard_interrupt_is_reported_the_same_way(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Source()
    source.site.put("pr/a.txt", b"a")

    def ctrl_c(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_module, "transfer", ctrl_c)
    with pytest.raises(Interrupted) as info:
        sync_module.sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert info.value.signal_name == "SIGINT"
    assert keys(s3, "_locks/") == []
    assert events(s3, keys(s3, "_logs/ingest/")[0])[-1] == "interrupted"


def test_an_unexpected_failure_of_one_survey_is_its_error_and_the_others_sync(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Source()
    source.site.put("pr/a.txt", b"a")
    source.site.put("ce/c.txt", b"c")
    real_walk = sync_module.walk

    def walk(fetcher: Any, url: str) -> Any:
        if url.endswith("/ce/"):
            raise RuntimeError("injected bug")
        return real_walk(fetcher, url)

    monkeypatch.setattr(sync_module, "walk", walk)
    summary = sync_module.sync_surveys(settings(surveys=("ce", "pr")), source.fetcher(), s3, transfer_config=CFG)
    assert summary.uploaded == 1
    assert [e.error for e in summary.errors] == ["unexpected RuntimeError: injected bug"]
    assert keys(s3, "bls/") == ["bls/pr/a.txt"]
    assert keys(s3, "_locks/") == []
    assert summary.trail_key is not None
    assert events(s3, summary.trail_key)[-1] == "summary"


def test_a_background_thread_writes_what_came_while_the_run_is_stuck(s3: Any) -> None:
    import time

    clock = Clock()
    trail = Trail("run-4", s3, BUCKET, every=0.05, clock=clock)
    trail.add("start")
    trail.add("upload", key="a")  # within the interval: not written by add()
    assert events(s3, trail.key) == ["start"]
    trail.keep_writing()  # then the run blocks in a long transfer: no more events come
    deadline = time.monotonic() + 5
    while events(s3, trail.key) == ["start"] and time.monotonic() < deadline:
        time.sleep(0.02)
    trail.stop_writing()
    assert events(s3, trail.key) == ["start", "upload"]
