"""Issue 11, the source side, end to end: the BLS stand-in (a real HTTP server), a moto server, and the sync or
the ``dataquest`` command line. Every fault stays one file's (or one folder's) error; the run goes on, writes
its trail and prints its summary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from dataquest.bls.summary import SyncSummary
from dataquest.bls.sync import sync_surveys
from dataquest.cli import main
from dataquest.config import Settings
from dataquest.errors import SourceError
from dataquest.http.client import Fetcher, build_client
from dataquest.storage import MAX_METADATA_BYTES, metadata_bytes
from tests.integration.test_sync_bls import CFG, CONTACT, bad_listings, mirror, s3, stock
from tests.support.bls_site import BlsSite, iis_entry

pytestmark = pytest.mark.integration
__all__ = ["s3"]  # a fixture of test_sync_bls's, used here

SECRET = "hunter2-s3cr3t"


@pytest.fixture
def site(site: BlsSite) -> BlsSite:
    """The stand-in (tests/conftest.py) with the stock pr files and three nested ones."""
    stock(site)
    for i in range(3):
        site.put(f"pr/sub/nested{i}.txt", b"nested %d" % i)
    return site


@pytest.fixture
def evil() -> Iterator[BlsSite]:
    """Another host: nothing may ever be fetched from it."""
    with BlsSite(require_contact=False) as s:
        s.put("pr/pr.txt", b"readme " * 100)  # the same size: only its host tells it apart
        yield s


SLEEPS: list[float] = []  # what the Fetcher would have slept: tests never sleep for real


def sync(site: BlsSite, s3: Any, base_url: str | None = None, **kw: Any) -> SyncSummary:
    settings = Settings(bucket=s3.bucket, contact=CONTACT, bls_base_url=base_url or site.base_url, request_interval=0)
    fetcher = Fetcher(build_client(f"dataquest/test (+{CONTACT})"), min_interval=0, sleep=SLEEPS.append)
    return sync_surveys(settings, fetcher, s3, transfer_config=CFG, **kw)


def trail(s3: Any) -> list[dict[str, Any]]:
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket, Prefix="_logs/").get("Contents", []))
    body = s3.get_object(Bucket=s3.bucket, Key=keys[-1])["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def expected(site: BlsSite) -> dict[str, bytes]:
    return {"bls/" + p.removeprefix(site.root): site.data_of(p) for p in site.files if p.startswith(site.root)}


# --- redirects are links too -------------------------------------------------------------------------------------


def test_a_file_redirected_to_another_host_is_not_fetched_and_is_that_files_error(
    site: BlsSite, evil: BlsSite, s3: Any
) -> None:
    site.redirect("pr/pr.txt", evil.url("pr/pr.txt"))
    summary = sync(site, s3)
    assert [e.key for e in summary.errors] == ["bls/pr/pr.txt"]
    assert "not followed" in summary.errors[0].error
    assert evil.requests == []  # neither our User-Agent nor our contact went there
    assert "bls/pr/pr.txt" not in mirror(s3)
    assert len(mirror(s3)) == 5
    assert trail(s3)[-1]["event"] == "summary"


@pytest.mark.parametrize(
    "location",
    [
        "/pub/time.series/ce/ce.txt",  # another survey
        "/pub/time.series/pr/../ce/ce.txt",
        "/pub/time.series/pr/a%2fb",
        "/pub/time.series/pr/pr.class?download=1",
        "ftp://127.0.0.1/pub/time.series/pr/pr.txt",
        "https://127.0.0.1/pub/time.series/pr/pr.txt",  # the scheme changes
    ],
)
def test_a_redirect_that_leaves_the_survey_folder_is_refused(site: BlsSite, s3: Any, location: str) -> None:
    site.put("ce/ce.txt", b"x" * 700)
    site.redirect("pr/pr.txt", location)
    summary = sync(site, s3)
    assert [e.key for e in summary.errors] == ["bls/pr/pr.txt"]
    assert "not followed" in summary.errors[0].error
    assert site.count("ce/ce.txt") == 0
    assert len(mirror(s3)) == 5


def test_a_redirect_inside_the_survey_folder_is_followed(site: BlsSite, s3: Any) -> None:
    site.put("pr/v2/pr.class", b"CLASS\r\n")
    site.redirect("pr/pr.class", "/pub/time.series/pr/v2/pr.class")
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert mirror(s3)["bls/pr/pr.class"] == b"CLASS\r\n"


def test_a_redirect_loop_on_one_file_is_that_files_error_and_the_run_goes_on(site: BlsSite, s3: Any) -> None:
    site.redirect("pr/pr.txt", "/pub/time.series/pr/pr.txt2")
    site.redirect("pr/pr.txt2", "/pub/time.series/pr/pr.txt")
    started = time.monotonic()
    summary = sync(site, s3)
    assert time.monotonic() - started < 10
    assert [e.key for e in summary.errors] == ["bls/pr/pr.txt"]
    assert "redirected more than 5 times" in summary.errors[0].error
    assert site.count("pr/pr.txt") + site.count("pr/pr.txt2") == 6  # the first request and 5 hops
    assert len(mirror(s3)) == 5


def test_a_sub_folder_listing_redirected_off_the_host_keeps_that_folders_mirror(
    site: BlsSite, evil: BlsSite, s3: Any
) -> None:
    assert sync(site, s3).ok
    site.redirect("pr/sub/", evil.url("pr/"))
    summary = sync(site, s3)
    assert [e.path for e in summary.errors] == [site.base_url + "pr/sub/"]
    assert summary.deleted == 0
    assert mirror(s3) == expected(site)
    assert evil.requests == []


def test_the_cli_prints_its_summary_and_exits_non_zero_when_one_file_loops(
    site: BlsSite, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env(monkeypatch, site, s3, moto_endpoint)
    site.redirect("pr/pr.txt", "/pub/time.series/pr/pr.txt")
    assert main(["sync-bls", "--json"]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["uploaded"] == 5
    assert doc["errors"][0]["key"] == "bls/pr/pr.txt"
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("dataquest sync-bls: error: 1 error(s); first: bls/pr/pr.txt:")


# --- every listing is guarded, per folder --------------------------------------------------------------------------


@bad_listings("/pub/time.series/pr/")
def test_a_bad_sub_folder_listing_deletes_nothing_under_it(site: BlsSite, s3: Any, page: bytes) -> None:
    assert sync(site, s3).ok
    before = mirror(s3)
    site.override_listing("pr/sub/", page)
    summary = sync(site, s3)
    assert not summary.ok
    assert summary.deleted == 0
    assert mirror(s3) == before
    assert any("sub/" in (e.path or "") + e.error for e in summary.errors)


def test_a_sub_folder_listing_less_than_half_of_its_mirror_deletes_nothing_without_max_delete(
    site: BlsSite, s3: Any
) -> None:
    assert sync(site, s3).ok
    site.remove("pr/sub/nested0.txt")
    site.remove("pr/sub/nested1.txt")
    refused = sync(site, s3)
    assert refused.deleted == 0
    assert "lists 1 of the mirror's 3 objects" in refused.errors[0].error
    assert len(mirror(s3)) == 6
    allowed = sync(site, s3, max_delete=2)
    assert allowed.ok, allowed.errors
    assert allowed.deleted == 2
    assert mirror(s3) == expected(site)


# --- listing clocks move -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [1, -1, 5])
def test_a_clock_shift_of_the_whole_listing_re_downloads_nothing(site: BlsSite, s3: Any, hours: int) -> None:
    s3.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})  # as Terraform's
    assert sync(site, s3).ok
    site.listing_clock = timedelta(hours=hours)
    site.reset_counts()
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert (summary.uploaded, summary.skipped, summary.bytes_downloaded) == (0, 6, 0)
    assert site.file_gets() == 0
    assert site.count(method="HEAD") == 6
    assert site.bytes_sent == sum(len(site.listing(f)) for f in ("pr/", "pr/sub/"))
    site.reset_counts()  # confirmed once: the next run asks the source nothing but the listings
    again = sync(site, s3)
    assert (again.ok, again.uploaded, again.skipped) == (True, 0, 6)
    assert site.count(method="HEAD") == 0
    assert site.file_gets() == 0
    versions = s3.list_object_versions(Bucket=s3.bucket, Prefix="bls/").get("Versions", [])
    assert len(versions) == 6  # a tag, not a copy: no new version, no ObjectCreated for the report


def test_a_shifted_listing_still_downloads_the_file_that_changed(site: BlsSite, s3: Any) -> None:
    assert sync(site, s3).ok
    site.listing_clock = timedelta(hours=1)
    site.put("pr/pr.class", b"CLASS\r\n", modified=datetime(2025, 9, 4, 8, 30))  # lists as 9:30, +2 h
    summary = sync(site, s3)
    assert summary.uploaded == 1
    assert mirror(s3) == expected(site)


def test_the_stand_in_serves_last_modified_and_honours_if_modified_since(site: BlsSite) -> None:
    url = site.base_url + "pr/pr.class"
    head = httpx.head(url, headers={"User-Agent": f"t (+{CONTACT})"})
    assert head.headers["last-modified"] == "Thu, 04 Sep 2025 07:30:00 GMT"
    same = httpx.get(url, headers={"User-Agent": f"t (+{CONTACT})", "If-Modified-Since": head.headers["last-modified"]})
    assert (same.status_code, same.content) == (304, b"")
    older = httpx.get(
        url, headers={"User-Agent": f"t (+{CONTACT})", "If-Modified-Since": "Wed, 03 Sep 2025 00:00:00 GMT"}
    )
    assert (older.status_code, older.content) == (200, b"class\r\n")


# --- permanent errors are not retried -----------------------------------------------------------------------------


def test_an_unresolvable_host_fails_at_once(site: BlsSite, s3: Any) -> None:
    settings = Settings(bucket=s3.bucket, contact=CONTACT, bls_base_url="http://no-such-host.invalid/pub/time.series/")
    sleeps: list[float] = []
    fetcher = Fetcher(build_client(f"t (+{CONTACT})"), min_interval=0, sleep=sleeps.append)
    started = time.monotonic()
    summary = sync_surveys(settings, fetcher, s3, transfer_config=CFG)
    assert time.monotonic() - started < 3
    assert sleeps == []  # no retry: it could never pass
    assert fetcher.requests_sent == 1
    assert "ConnectError" in summary.errors[0].error
    assert "DQ_BLS_BASE_URL" in summary.errors[0].error


@pytest.mark.parametrize("status", [400, 401, 404, 410, 451])
def test_a_4xx_on_a_file_is_requested_once(site: BlsSite, s3: Any, status: int) -> None:
    site.fail("pr/pr.txt", status, times=None)
    SLEEPS.clear()
    summary = sync(site, s3)
    assert SLEEPS == []
    assert site.count("pr/pr.txt") == 1
    assert [e.key for e in summary.errors] == ["bls/pr/pr.txt"]
    assert f"answered {status}" in summary.errors[0].error


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_408_429_and_5xx_on_a_file_are_retried(site: BlsSite, s3: Any, status: int) -> None:
    site.fail("pr/pr.txt", status, times=2)
    SLEEPS.clear()
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert site.count("pr/pr.txt") == 3
    assert len(SLEEPS) == 2
    assert 0.5 <= SLEEPS[0] <= 1.0  # the first step (1 s), jittered between half and whole
    assert 1.0 <= SLEEPS[1] <= 2.0


# --- credentials in a configured URL never leak ------------------------------------------------------------------


def env(monkeypatch: pytest.MonkeyPatch, site: BlsSite, s3: Any, moto_endpoint: str, **extra: str) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "DQ_BUCKET": s3.bucket,
        "DQ_CONTACT": CONTACT,
        "DQ_BLS_BASE_URL": site.base_url,
        "DQ_REQUEST_INTERVAL": "0",
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


def test_credentials_in_the_bls_base_url_reach_no_sink(
    site: BlsSite, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = site.base_url.replace("http://", f"http://mirror:{SECRET}@")
    env(monkeypatch, site, s3, moto_endpoint, DQ_BLS_BASE_URL=base)
    site.fail("pr/pr.txt", 404, times=None)  # an error message that names the URL
    site.add_raw_entry("pr/", iis_entry(datetime(2025, 9, 4, 7, 30), 5, "http://elsewhere.example/x", "odd"))
    assert main(["sync-bls", "--json", "--log-level", "DEBUG"]) == 1
    out, err = capsys.readouterr()
    assert site.requests[0].authorization.startswith("Basic ")  # the credentials were used...
    assert SECRET not in out  # ...and never shown: not in the summary,
    assert SECRET not in err  # the logs or the error line,
    assert "***@127.0.0.1" in err
    lines = "\n".join(json.dumps(e) for e in trail(s3))
    assert SECRET not in lines  # the trail,
    assert "***@127.0.0.1" in lines
    for key in mirror(s3):  # nor the metadata
        meta = s3.head_object(Bucket=s3.bucket, Key=key)["Metadata"]
        assert meta["source-url"].startswith("http://***@127.0.0.1:")


def test_a_key_in_the_population_url_reaches_no_sink(
    site: BlsSite, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b'{"data": [{"Year": 2020, "Population": 331000000.0}]}'
    site.serve("/api/data", body)
    url = site.url("/api/data") + f"?cube=pop&api_key={SECRET}"
    env(monkeypatch, site, s3, moto_endpoint, DQ_POPULATION_URL=url)
    assert main(["fetch-population", "--json", "--log-level", "DEBUG"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    meta = s3.head_object(Bucket=s3.bucket, Key="population/nation_population.json")["Metadata"]
    assert meta["source-url"].endswith("?cube=pop&api_key=***")
    site.fail("/api/data", 400, times=None)
    assert main(["fetch-population", "--json"]) == 1
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "api_key=***" in err


# --- names and messages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("href", ["/pub/time.series/pr/sub%2fnested0.txt", "/pub/time.series/pr/x%2F..%2F..%2Fce"])
def test_an_encoded_slash_in_a_link_makes_no_folder(site: BlsSite, s3: Any, href: str) -> None:
    site.add_raw_entry("pr/", iis_entry(datetime(2025, 9, 4, 7, 30), 8, href, "encoded"))
    summary = sync(site, s3)
    assert summary.ok, summary.errors
    assert mirror(s3) == expected(site)
    assert site.file_gets() == len(expected(site))  # each listed file once; the encoded link never


def test_a_name_too_long_for_its_metadata_is_stored_cut_and_flagged_then_skipped(site: BlsSite, s3: Any) -> None:
    name = "pr/" + "\u00e9" * 440  # 880 bytes of key; 5280 characters of percent-encoded URL
    site.put(name, b"long")
    first = sync(site, s3)
    assert first.ok, first.errors
    meta = s3.head_object(Bucket=s3.bucket, Key="bls/" + name)["Metadata"]
    assert meta["source-url-truncated"] == "true"
    assert metadata_bytes(meta) <= MAX_METADATA_BYTES
    second = sync(site, s3)
    assert (second.ok, second.uploaded) == (True, 0)


def test_population_errors_name_the_population_api_not_bls(
    site: BlsSite, s3: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env(monkeypatch, site, s3, moto_endpoint, DQ_POPULATION_URL=site.url("/api/missing"))
    assert main(["fetch-population"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "404" in err
    assert "DQ_POPULATION_URL" in err
    assert "survey" not in err
    site.serve("/api/forbidden", b"{}")
    site.fail("/api/forbidden", 403, times=None)
    monkeypatch.setenv("DQ_POPULATION_URL", site.url("/api/forbidden"))
    assert main(["fetch-population"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "403" in err
    assert "BLS" not in err
    assert "DQ_CONTACT" not in err


def test_a_binary_error_body_is_never_dumped_raw(site: BlsSite, s3: Any) -> None:
    site.fail("pr/pr.txt", 400, times=None, body=bytes(range(256)) * 64)
    summary = sync(site, s3)
    error = summary.errors[0].error
    assert error.isprintable()
    assert "\\x00" in error
    assert len(error) < 500


def test_a_fetch_that_raises_is_never_a_traceback() -> None:
    with BlsSite() as site:
        site.put("pr/a", b"a")
        fetcher = Fetcher(build_client(f"t (+{CONTACT})"), min_interval=0)
        with pytest.raises(SourceError, match=r"UnsupportedProtocol"):
            fetcher.get("gopher://127.0.0.1/")
