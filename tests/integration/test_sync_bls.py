"""sync-bls against a real local HTTP server (tests/support/bls_site.py) and a moto server."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataquest.bls import lease as leases
from dataquest.bls.summary import SyncSummary
from dataquest.bls.sync import sync_surveys
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.config import Settings
from dataquest.http.client import Fetcher, build_client
from tests.conftest import ROOT
from tests.support import aws
from tests.support.bls_site import BlsSite

pytestmark = pytest.mark.integration

CFG = TransferConfig(part_size=64 * 1024, multipart_threshold=100 * 1024, concurrency=3)
CONTACT = "ops@example.org"


def stock(s: BlsSite) -> None:
    """The survey every test here starts from: a small file, a text, and a multipart one (5 parts)."""
    s.put("pr/pr.class", b"class\r\n")
    s.put("pr/pr.txt", b"readme " * 100)
    s.put_generated("pr/pr.data.1.AllData", 300 * 1024, seed=1)


@pytest.fixture
def site(site: BlsSite) -> BlsSite:
    """The stand-in (tests/conftest.py) with the stock pr files and a nested one."""
    stock(site)
    site.put("pr/sub/nested.txt", b"nested")
    return site


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)  # the moto server runs in this process
    client = aws.client("s3", moto_endpoint)
    client.bucket = f"sync-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=client.bucket)
    return client


def settings(site: BlsSite, s3: Any, **kw: Any) -> Settings:
    return Settings(bucket=s3.bucket, contact=CONTACT, bls_base_url=site.base_url, request_interval=0, **kw)


def fetcher(user_agent: str | None = None, **kw: Any) -> Fetcher:
    client = build_client(user_agent or f"dataquest/test (+{CONTACT})")
    return Fetcher(client, min_interval=0, backoff=0.01, **kw)


def sync(site: BlsSite, s3: Any, **kw: Any) -> SyncSummary:
    return sync_surveys(settings(site, s3), fetcher(), s3, transfer_config=CFG, **kw)


def mirror(s3: Any) -> dict[str, bytes]:
    out = {}
    for obj in s3.list_objects_v2(Bucket=s3.bucket, Prefix="bls/").get("Contents", []):
        out[obj["Key"]] = s3.get_object(Bucket=s3.bucket, Key=obj["Key"])["Body"].read()
    return out


def expected(site: BlsSite) -> dict[str, bytes]:
    return {"bls/" + p.removeprefix(site.root): site.data_of(p) for p in site.files if p.startswith(site.root)}


def no_uploads_left(s3: Any) -> bool:
    return s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_first_sync_then_a_no_op_rerun_costs_one_listing_per_folder(site: BlsSite, s3: Any) -> None:
    first = sync(site, s3)
    assert first.ok, first.errors
    assert mirror(s3) == expected(site)
    big = "bls/pr/pr.data.1.AllData"
    tags = s3.get_object_tagging(Bucket=s3.bucket, Key=big)["TagSet"]
    assert tags == [{"Key": "sha256", "Value": site.sha256_of("pr/pr.data.1.AllData")}]
    site.reset_counts()

    again = sync(site, s3)
    assert (again.uploaded, again.skipped, again.bytes_downloaded, again.ok) == (0, 4, 0, True)
    assert site.file_gets() == 0
    assert site.listing_gets() == {"/pub/time.series/pr/": 1, "/pub/time.series/pr/sub/": 1}
    assert site.count(method="HEAD") == 0


def test_changed_added_removed_and_touched_files(site: BlsSite, s3: Any) -> None:
    site.put("pr/gone.txt", b"soon gone")
    assert sync(site, s3).ok
    site.put("pr/pr.txt", b"a new release " * 80)  # changed size
    site.put("pr/added.txt", b"added")
    site.remove("pr/gone.txt")
    site.put("pr/pr.class", b"CLASS\r\n", modified=datetime(2025, 10, 2, 8, 30))  # same size, newer timestamp
    site.reset_counts()
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert (summary.uploaded, summary.deleted, summary.skipped) == (3, 1, 2)
    assert mirror(s3) == expected(site)
    assert sorted(r.path for r in site.requests if not r.path.endswith("/")) == [
        "/pub/time.series/pr/added.txt",
        "/pub/time.series/pr/pr.class",
        "/pub/time.series/pr/pr.txt",
    ]
    meta = s3.head_object(Bucket=s3.bucket, Key="bls/pr/pr.class")["Metadata"]
    assert meta["source-timestamp"] == "2025-10-02T08:30"
    assert meta["sha256"] == hashlib.sha256(b"CLASS\r\n").hexdigest()


def test_a_cut_transfer_keeps_the_previous_object_and_the_next_run_repairs_it(site: BlsSite, s3: Any) -> None:
    assert sync(site, s3).ok
    old = mirror(s3)
    site.put_generated("pr/pr.data.1.AllData", 300 * 1024, seed=2, modified=datetime(2025, 10, 2, 8, 30))
    site.cut("pr/pr.data.1.AllData", after=150 * 1024, times=1)
    summary = sync(site, s3)
    assert not summary.ok
    assert summary.errors[0].key == "bls/pr/pr.data.1.AllData"
    assert "cut after" in summary.errors[0].error
    assert mirror(s3) == old
    assert no_uploads_left(s3)

    repaired = sync(site, s3)
    assert repaired.ok
    assert repaired.uploaded == 1
    assert mirror(s3) == expected(site)


def test_retries_on_5xx_then_recovers(site: BlsSite, s3: Any) -> None:
    site.fail("pr/", 503, times=2)
    site.fail("pr/pr.txt", 500, times=1)
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert site.count("pr/") == 3
    assert site.count("pr/pr.txt") == 2
    assert mirror(s3) == expected(site)


def test_a_slow_response_beyond_the_timeout_is_retried(site: BlsSite, s3: Any) -> None:
    # A read timeout of a second, not a fraction of one: on a loaded machine (two cores, several suites) every
    # other request of the run, on the same client, must come in under it; the slow answer is well past it.
    site.slow("pr/", 4.0, times=1)
    client = build_client(f"t (+{CONTACT})", timeout=httpx.Timeout(1.0))
    summary = sync_surveys(settings(site, s3), Fetcher(client, min_interval=0, backoff=0.01), s3, transfer_config=CFG)
    assert summary.ok, summary.errors
    assert site.count("pr/") == 2


def bad_listings(parent: str) -> pytest.MarkDecorator:
    """Listing pages that must never cause a delete (blank, garbage, cut short, empty), ``parent`` their parent
    link's path; as a parametrize mark over ``page``."""
    head = f'<html><pre><A HREF="{parent}">[To Parent Directory]</A><br><br>'.encode()
    pages = [b"", b"<html><body><h1>Service Unavailable</h1></body></html>"]
    pages += [head + b"  9/4/2025  7:30 AM    ", head + b"</pre></html>"]
    return pytest.mark.parametrize("page", pages, ids=["blank", "garbage", "truncated", "empty"])


@bad_listings("/pub/time.series/")
def test_a_bad_listing_deletes_nothing(site: BlsSite, s3: Any, page: bytes) -> None:
    assert sync(site, s3).ok
    before = mirror(s3)
    site.override_listing("pr/", page)
    summary = sync(site, s3)
    assert not summary.ok
    assert summary.deleted == 0
    assert summary.errors[0].path == site.base_url + "pr/"
    assert "nothing is deleted" in summary.errors[0].error or "not a BLS" in summary.errors[0].error
    assert mirror(s3) == before


def test_a_listing_that_suddenly_lacks_most_files_needs_max_delete(site: BlsSite, s3: Any) -> None:
    assert sync(site, s3).ok
    for path in ("pr/pr.txt", "pr/pr.data.1.AllData", "pr/sub/nested.txt"):
        site.remove(path)
    refused = sync(site, s3)
    assert not refused.ok
    assert refused.deleted == 0
    assert "more than half" in refused.errors[0].error
    assert len(mirror(s3)) == 4

    capped = sync(site, s3, max_delete=2)
    assert capped.deleted == 2
    assert "--max-delete is 2" in capped.errors[0].error
    assert len(mirror(s3)) == 2

    done = sync(site, s3, max_delete=5)
    assert done.ok
    assert done.deleted == 1
    assert mirror(s3) == expected(site)


def test_without_a_contact_bls_answers_403_and_the_error_says_what_to_do(site: BlsSite, s3: Any) -> None:
    summary = sync_surveys(settings(site, s3), fetcher("python-httpx/0.28"), s3, transfer_config=CFG)
    assert not summary.ok
    assert "403 Forbidden" in summary.errors[0].error
    assert "DQ_CONTACT" in summary.errors[0].error
    assert mirror(s3) == {}


def test_an_s3_error_during_a_multipart_upload_leaves_no_parts(site: BlsSite, s3: Any) -> None:
    def fail_part_3(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 3:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "UploadPart")

    s3.meta.events.register("before-parameter-build.s3.UploadPart", fail_part_3)
    summary = sync(site, s3)
    assert not summary.ok
    assert [e.key for e in summary.errors] == ["bls/pr/pr.data.1.AllData"]
    assert "SlowDown" in summary.errors[0].error
    assert "bls/pr/pr.data.1.AllData" not in mirror(s3)
    assert no_uploads_left(s3)
    s3.meta.events.unregister("before-parameter-build.s3.UploadPart", fail_part_3)
    assert sync(site, s3).ok
    assert mirror(s3) == expected(site)


_KILLABLE = textwrap.dedent(
    """
    import sys
    from dataquest.bls.sync import sync_surveys
    from dataquest.bls.transfer.upload import TransferConfig
    from dataquest.config import Settings
    from dataquest.http.client import Fetcher, build_client
    from dataquest.storage import s3_client

    settings = Settings.from_env()
    cfg = TransferConfig(part_size=64 * 1024, multipart_threshold=100 * 1024, concurrency=2)
    fetcher = Fetcher(build_client(settings.user_agent()), min_interval=0)
    summary = sync_surveys(settings, fetcher, s3_client(settings), transfer_config=cfg)
    sys.exit(0 if summary.ok else 1)
    """
)


def test_a_killed_run_leaves_no_half_written_object_blocks_a_second_run_and_the_next_repairs(
    site: BlsSite, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sync(site, s3).ok
    old = mirror(s3)
    big = "pr/pr.data.1.AllData"
    site.put_generated(big, 300 * 1024, seed=3, modified=datetime(2025, 10, 2, 8, 30))
    site.stall(big, after=200 * 1024, delay=60, times=1)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "DQ_BUCKET": s3.bucket,
        "DQ_CONTACT": CONTACT,
        "DQ_BLS_BASE_URL": site.base_url,
        "DQ_LEASE_TTL": "2",
        "PYTHONPATH": str(ROOT / "src"),
    }
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        uploads: list[Any] = []
        while time.monotonic() < deadline:
            uploads = s3.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
            if uploads and s3.list_parts(Bucket=s3.bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]).get(
                "Parts"
            ):
                break
            time.sleep(0.05)
        assert uploads, "the subprocess never started its multipart upload"

        # a second sync while the first holds the lease: declined clearly, nothing changed
        second = sync(site, s3)
        assert not second.ok
        assert "another sync of survey 'pr' is running" in second.errors[0].error
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    assert mirror(s3) == old  # the killed upload never became visible
    # The next run comes after the killed run's lease (TTL 2 s) expired: its clock is 10 s ahead, instead of a
    # sleep. The dead owner is not looked up, so that only the expiry can free the lease (as from another host).
    later = functools.partial(leases.acquire, clock=lambda: time.time() + 10, gone=lambda owner, here: False)
    monkeypatch.setattr(leases, "acquire", later)
    repaired = sync(site, s3)
    assert repaired.ok, repaired.errors
    assert repaired.uploaded == 1
    assert mirror(s3) == expected(site)
    assert no_uploads_left(s3)


@pytest.mark.shared_data
def test_the_real_pr_release_is_mirrored_byte_for_byte(shared_data: Path, s3: Any) -> None:
    folder = shared_data / "bls-pr-2025-09"
    files = sorted(folder.iterdir())
    with BlsSite() as site:
        for f in files:
            site.put("pr/" + f.name, f.read_bytes())
        # The real page, less the entries of files the sample leaves out (pr.data.1.AllData; tests/data/README.md).
        site.override_listing("pr/", real_listing_of(shared_data, {f.name for f in files}))
        summary = sync(site, s3)
        assert summary.ok, summary.errors
        assert summary.files_seen == summary.uploaded == len(files) >= 11
        got = mirror(s3)
        assert got == {f"bls/pr/{f.name}": f.read_bytes() for f in folder.iterdir()}
        meta = s3.head_object(Bucket=s3.bucket, Key="bls/pr/pr.period")["Metadata"]
        assert meta["source-timestamp"] == "1994-01-07T14:53"
        assert meta["source-size"] == "146"
        site.reset_counts()
        assert sync(site, s3).skipped == len(files)
        assert site.file_gets() == 0


def real_listing_of(data: Path, names: set[str]) -> bytes:
    """The real pr listing page, with only the entries (``<br>`` + date, size, link) of the files in ``names``."""
    page = (data / "bls-pr-2025-09.listing.html").read_text()
    entry = re.compile(r'<br>[^<]*<A HREF="/pub/time\.series/pr/([^"]+)">[^<]*</A>')
    kept = entry.sub(lambda m: m.group(0) if m.group(1) in names else "", page)
    assert len(entry.findall(kept)) == len(names), "the sample has a file the real listing does not name"
    return kept.encode()
