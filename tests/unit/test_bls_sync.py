from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from dataquest.bls.lease import acquire
from dataquest.bls.summary import SUMMARY_KEYS
from dataquest.bls.sync import sync_surveys
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.config import Settings
from dataquest.documents import to_document
from dataquest.errors import ConfigurationError
from dataquest.http.client import Fetcher
from tests.support.bls_site import BlsSite

BUCKET = "sync-bucket"
BASE = "https://download.bls.gov/pub/time.series/"
CFG = TransferConfig(part_size=1000, multipart_threshold=3000)


# Kilobyte parts: moto is told to accept parts below S3's 5 MiB floor.
pytestmark = pytest.mark.usefixtures("small_parts")


class Source:
    """A BLS site answered through httpx.MockTransport (no server), with the requests it saw."""

    def __init__(self) -> None:
        self.site = BlsSite()
        self.seen: list[tuple[str, str]] = []
        self.methods: list[str] = []
        self.status: dict[str, int] = {}
        self.redirects: dict[str, str] = {}
        self.raises: dict[str, Exception] = {}

    def fetcher(self, user_agent: str = "dataquest/test (+ops@example.org)") -> Fetcher:
        def handler(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            self.seen.append((path, request.headers.get("user-agent", "")))
            self.methods.append(request.method)
            if path in self.raises:
                raise self.raises[path]
            if path in self.redirects:
                return httpx.Response(302, headers={"Location": self.redirects[path]})
            if path in self.status:
                return httpx.Response(self.status[path])
            if path.endswith("/"):
                return httpx.Response(200, content=self.site.listing(path))
            if path in self.site.files:
                modified = self.site.files[path].modified.replace(tzinfo=UTC)
                headers = {"Last-Modified": format_datetime(modified, usegmt=True)}
                return httpx.Response(200, content=self.site.data_of(path), headers=headers)
            return httpx.Response(404)

        client = httpx.Client(transport=httpx.MockTransport(handler), headers={"User-Agent": user_agent})
        return Fetcher(client, min_interval=0, retries=1, sleep=lambda s: None)

    def file_gets(self) -> int:
        return sum(1 for p, _ in self.seen if not p.endswith("/"))


def settings(**kw: Any) -> Settings:
    kw.setdefault("bls_base_url", BASE)
    return Settings(bucket=BUCKET, contact="ops@example.org", request_interval=0, **kw)


def keys(s3: Any, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def trail(s3: Any) -> list[dict[str, Any]]:
    last = sorted(keys(s3, "_logs/ingest/"))[-1]
    return [json.loads(line) for line in body(s3, last).decode().splitlines()]


@pytest.fixture
def source() -> Source:
    src = Source()
    src.site.put("pr/pr.class", b"class\r\n")
    src.site.put("pr/pr.series", b"s" * 5000)  # multipart with CFG
    src.site.put("pr/sub/deep.txt", b"deep")
    return src


def test_first_sync_mirrors_every_file_and_reports_the_contract_document(s3: Any, source: Source) -> None:
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    doc = to_document(summary)
    assert tuple(doc) == SUMMARY_KEYS
    assert summary.ok
    assert {k: doc[k] for k in ("surveys", "files_seen", "uploaded", "skipped", "deleted")} == {
        "surveys": ["pr"],
        "files_seen": 3,
        "uploaded": 3,
        "skipped": 0,
        "deleted": 0,
    }
    assert doc["bytes_downloaded"] == doc["bytes_uploaded"] == 7 + 5000 + 4
    assert keys(s3, "bls/") == ["bls/pr/pr.class", "bls/pr/pr.series", "bls/pr/sub/deep.txt"]
    for key in keys(s3, "bls/"):
        assert body(s3, key) == source.site.data_of(key.replace("bls/", ""))
    assert all(ua == "dataquest/test (+ops@example.org)" for _, ua in source.seen)
    assert keys(s3, "_locks/") == []  # the lease was released


def test_a_rerun_of_an_unchanged_source_downloads_nothing(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.seen.clear()
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert (summary.uploaded, summary.skipped, summary.bytes_downloaded) == (0, 3, 0)
    assert sorted(p for p, _ in source.seen) == ["/pub/time.series/pr/", "/pub/time.series/pr/sub/"]


def test_a_missing_contact_fails_before_any_request(s3: Any, source: Source) -> None:
    with pytest.raises(ConfigurationError, match="DQ_CONTACT"):
        sync_surveys(Settings(bucket=BUCKET, bls_base_url=BASE), source.fetcher(), s3)
    assert source.seen == []
    assert keys(s3) == []


def test_a_failing_survey_does_not_stop_the_others(s3: Any, source: Source) -> None:
    source.site.put("ce/ce.txt", b"ce")
    source.status["/pub/time.series/xx/"] = 404
    summary = sync_surveys(settings(surveys=("xx", "ce", "pr")), source.fetcher(), s3, transfer_config=CFG)
    assert not summary.ok
    assert to_document(summary.errors) == [
        {
            "path": BASE + "xx/",
            "error": f"GET {BASE}xx/ answered 404 Not Found: check the survey name (--survey, DQ_BLS_SURVEYS) "
            "and DQ_BLS_BASE_URL",
        }
    ]
    assert summary.uploaded == 4
    assert "bls/ce/ce.txt" in keys(s3)


def test_a_403_is_reported_with_the_fix(s3: Any, source: Source) -> None:
    source.status["/pub/time.series/pr/"] = 403
    summary = sync_surveys(settings(), source.fetcher(), s3)
    assert len(summary.errors) == 1
    assert "403 Forbidden" in summary.errors[0].error
    assert "set DQ_CONTACT" in summary.errors[0].error


def test_a_dry_run_prints_the_plan_and_changes_nothing(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    before = {k: body(s3, k) for k in keys(s3)}
    source.site.put("pr/pr.class", b"class v2\r\n")
    source.site.remove("pr/sub/deep.txt")
    source.site.put("pr/new.txt", b"new")
    source.seen.clear()
    summary = sync_surveys(settings(), source.fetcher(), s3, dry_run=True, transfer_config=CFG)
    doc = to_document(summary)
    assert doc["dry_run"] is True
    assert {(a["action"], a["key"]) for a in doc["plan"]} == {
        ("upload", "bls/pr/new.txt"),
        ("upload", "bls/pr/pr.class"),
        ("skip", "bls/pr/pr.series"),
        ("delete", "bls/pr/sub/deep.txt"),
    }
    assert all(a["reason"] for a in doc["plan"])
    assert (doc["uploaded"], doc["skipped"], doc["deleted"]) == (2, 1, 1)
    assert {k: body(s3, k) for k in keys(s3)} == before  # no object, trail or lease written
    assert source.file_gets() == 0


def test_removed_files_are_deleted_and_nothing_outside_the_survey_prefix(s3: Any, source: Source) -> None:
    source.site.put("pr/extra.txt", b"e")
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    s3.put_object(Bucket=BUCKET, Key="bls/prx/keep", Body=b"other prefix")
    s3.put_object(Bucket=BUCKET, Key="population/nation_population.json", Body=b"{}")
    source.site.remove("pr/extra.txt")
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.deleted == 1
    assert "bls/pr/extra.txt" not in keys(s3)
    assert {"bls/prx/keep", "population/nation_population.json"} <= set(keys(s3))
    assert len(keys(s3, "_logs/ingest/")) == 2


def test_the_event_trail_records_start_each_action_and_the_summary(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.put("pr/pr.class", b"changed\r\n")
    source.site.remove("pr/sub/deep.txt")
    source.site.put("pr/sub/other.txt", b"o")  # keeps the deletes under half of the mirror
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    events = trail(s3)
    assert events[0]["event"] == "start"
    assert events[-1]["event"] == "summary"
    assert events[-1]["uploaded"] == summary.uploaded == 2
    assert events[-1]["deleted"] == 1
    assert len({e["run_id"] for e in events}) == 1
    by_event = {(e["event"], e.get("key")) for e in events}
    assert ("upload", "bls/pr/pr.class") in by_event
    assert ("skip", "bls/pr/pr.series") in by_event
    assert ("delete", "bls/pr/sub/deep.txt") in by_event
    upload = next(e for e in events if e["event"] == "upload" and e["key"] == "bls/pr/pr.class")
    assert upload["reason"].startswith("size changed")
    assert len(upload["sha256"]) == 64


def test_a_held_lease_declines_that_survey_clearly(s3: Any, source: Source) -> None:
    acquire(s3, BUCKET, "pr", ttl=600)
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert not summary.ok
    assert "another sync of survey 'pr' is running" in summary.errors[0].error
    assert keys(s3, "bls/") == []
    assert source.seen == []


def test_a_negative_max_delete_is_a_usage_error(s3: Any, source: Source) -> None:
    with pytest.raises(ConfigurationError, match="--max-delete"):
        sync_surveys(settings(), source.fetcher(), s3, max_delete=-1)


def test_a_same_size_file_with_a_newer_timestamp_is_uploaded(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.put("pr/pr.class", b"CLASS\r\n", modified=datetime(2025, 10, 1, 8, 0))
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.uploaded == 1
    assert body(s3, "bls/pr/pr.class") == b"CLASS\r\n"
    meta = s3.head_object(Bucket=BUCKET, Key="bls/pr/pr.class")["Metadata"]
    assert meta["source-timestamp"] == "2025-10-01T08:00"


def test_request_interval_and_lease_ttl_come_from_the_environment() -> None:
    s = Settings.from_env({"DQ_REQUEST_INTERVAL": "0", "DQ_LEASE_TTL": "30"})
    assert (s.request_interval, s.lease_ttl) == (0.0, 30.0)
    assert Settings.from_env({}).request_interval == 1.0  # the contract's default
    with pytest.raises(ConfigurationError, match="DQ_REQUEST_INTERVAL"):
        Settings.from_env({"DQ_REQUEST_INTERVAL": "soon"})


def test_parts_in_flight_come_from_the_environment_with_a_default_of_four() -> None:
    assert Settings.from_env({}).parts_in_flight == 4
    assert Settings.from_env({"DQ_PARTS_IN_FLIGHT": "8"}).parts_in_flight == 8
    for bad in ("0", "-1", "many", "65"):
        with pytest.raises(ConfigurationError, match="DQ_PARTS_IN_FLIGHT"):
            Settings.from_env({"DQ_PARTS_IN_FLIGHT": bad})


@pytest.mark.parametrize("parts", [None, 1, 3])
def test_the_sync_uploads_with_the_parts_in_flight_of_its_settings(
    s3: Any, source: Source, monkeypatch: pytest.MonkeyPatch, parts: int | None
) -> None:
    from dataquest.bls import sync as sync_module

    seen: list[int] = []
    real = sync_module.transfer

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["config"].concurrency)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_module, "transfer", spy)
    given = settings() if parts is None else settings(parts_in_flight=parts)
    # No transfer_config: the sync builds its own from the settings (real 8 MiB parts; these files are small).
    summary = sync_surveys(given, source.fetcher(), s3)
    assert summary.uploaded == 3
    assert seen == [4 if parts is None else parts] * 3


def test_the_trail_counts_the_requests_of_its_own_run_only(s3: Any, source: Source) -> None:
    fetcher = source.fetcher()
    sync_surveys(settings(), fetcher, s3, transfer_config=CFG)
    sync_surveys(settings(), fetcher, s3, transfer_config=CFG)  # a warm Lambda container reuses its Fetcher
    assert trail(s3)[-1]["requests_sent"] == 2  # one listing per folder, no file


# --- issue 11: contain every fault of the source side ------------------------------------------------------------


def test_any_exception_while_fetching_one_file_is_that_files_error_and_the_run_goes_on(s3: Any, source: Source) -> None:
    source.site.put("pr/z.txt", b"last")
    source.raises["/pub/time.series/pr/pr.class"] = httpx.DecodingError("bad gzip")
    source.redirects["/pub/time.series/pr/sub/deep.txt"] = "https://evil.example/deep.txt"
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    errors = {e.key: e.error for e in summary.errors}
    assert set(errors) == {"bls/pr/pr.class", "bls/pr/sub/deep.txt"}
    assert "DecodingError" in errors["bls/pr/pr.class"]
    assert "evil.example" in errors["bls/pr/sub/deep.txt"]
    assert "not followed" in errors["bls/pr/sub/deep.txt"]
    assert keys(s3, "bls/") == ["bls/pr/pr.series", "bls/pr/z.txt"]
    assert trail(s3)[-1]["event"] == "summary"  # the trail is written
    assert {e["key"] for e in trail(s3) if e["event"] == "error"} == set(errors)


def test_an_unexpected_exception_from_s3_is_that_files_error(s3: Any, source: Source) -> None:
    def explode(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "bls/pr/pr.class":
            raise ValueError("not a botocore error \x00 at all")

    s3.meta.events.register("before-parameter-build.s3.PutObject", explode)
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert [e.key for e in summary.errors] == ["bls/pr/pr.class"]
    assert summary.errors[0].error.startswith("unexpected ValueError: not a botocore error")
    assert summary.errors[0].error.isprintable()
    assert summary.uploaded == 2


def test_an_unexpected_exception_of_one_survey_does_not_stop_the_others(s3: Any, source: Source) -> None:
    source.site.put("ce/ce.txt", b"ce")
    source.raises["/pub/time.series/xx/"] = RuntimeError("boom")
    summary = sync_surveys(settings(surveys=("xx", "pr", "ce")), source.fetcher(), s3, transfer_config=CFG)
    assert to_document(summary.errors) == [{"path": BASE + "xx/", "error": "unexpected RuntimeError: boom"}]
    assert "bls/ce/ce.txt" in keys(s3)


def test_a_broken_sub_folder_listing_keeps_its_mirror_and_is_an_error(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.override_listing("pr/sub/", "<html>maintenance</html>")
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.deleted == 0
    assert "bls/pr/sub/deep.txt" in keys(s3)
    assert summary.errors[0].path == BASE + "pr/sub/"
    assert "not a BLS directory listing" in summary.errors[0].error


def test_an_empty_sub_folder_listing_deletes_nothing_there(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.remove("pr/sub/deep.txt")
    source.site.mkdir("pr/sub/")
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.deleted == 0
    assert "bls/pr/sub/deep.txt" in keys(s3)
    assert "is empty" in summary.errors[0].error
    allowed = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG, max_delete=1)
    assert allowed.deleted == 1


def test_a_listing_clock_moved_by_an_hour_costs_a_head_per_file_and_no_download(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    meta = s3.head_object(Bucket=BUCKET, Key="bls/pr/pr.class")["Metadata"]
    assert meta["source-last-modified"] == "Thu, 04 Sep 2025 07:30:00 GMT"
    multipart = s3.head_object(Bucket=BUCKET, Key="bls/pr/pr.series")["Metadata"]
    assert multipart["source-last-modified"] == "Thu, 04 Sep 2025 07:30:00 GMT"
    source.site.listing_clock = timedelta(hours=-1)  # daylight saving ends
    source.seen.clear()
    source.methods.clear()
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.ok, summary.errors
    assert (summary.uploaded, summary.skipped, summary.bytes_downloaded) == (0, 3, 0)
    assert source.methods.count("HEAD") == 3
    assert source.methods.count("GET") == 2  # the two listings
    skip = next(e for e in trail(s3) if e["event"] == "skip" and e["key"] == "bls/pr/pr.class")
    assert "-1 h" in skip["reason"]
    assert "as recorded" in skip["reason"]
    # remembered in a tag (the multipart object keeps its sha256 tag): the next run asks the source nothing
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="bls/pr/pr.series")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "sha256": hashlib.sha256(b"s" * 5000).hexdigest(),
        "source-timestamp-confirmed": "2025-09-04T06:30",
    }
    source.methods.clear()
    again = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert (again.ok, again.uploaded, again.skipped) == (True, 0, 3)
    assert source.methods == ["GET", "GET"]  # the two listings only
    assert body(s3, "bls/pr/pr.series") == b"s" * 5000


def test_a_shifted_file_that_really_changed_is_downloaded(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.put("pr/pr.class", b"CLASS\r\n", modified=datetime(2025, 9, 4, 8, 30))  # same size, +1 h
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert summary.uploaded == 1
    assert body(s3, "bls/pr/pr.class") == b"CLASS\r\n"


def test_an_object_from_before_last_modified_was_recorded_is_confirmed_by_its_write_time(
    s3: Any, source: Source
) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    # as an older release of the sync wrote it: no source-last-modified
    meta = s3.head_object(Bucket=BUCKET, Key="bls/pr/pr.class")["Metadata"]
    del meta["source-last-modified"]
    s3.put_object(Bucket=BUCKET, Key="bls/pr/pr.class", Body=b"class\r\n", Metadata=meta)
    source.site.listing_clock = timedelta(hours=1)
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert (summary.uploaded, summary.skipped) == (0, 3)  # Last-Modified (2025) predates the copy (now)


def test_a_dry_run_confirms_a_clock_shift_too_and_tags_nothing(s3: Any, source: Source) -> None:
    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    source.site.listing_clock = timedelta(hours=2)
    doc = to_document(sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG, dry_run=True))
    assert {a["action"] for a in doc["plan"]} == {"skip"}
    assert s3.get_object_tagging(Bucket=BUCKET, Key="bls/pr/pr.class")["TagSet"] == []


def test_credentials_in_the_base_url_reach_no_sink(s3: Any, source: Source, caplog: pytest.LogCaptureFixture) -> None:
    secret = "https://mirror:hunter2@download.bls.gov/pub/time.series/"
    source.status["/pub/time.series/pr/sub/deep.txt"] = 500
    with caplog.at_level("DEBUG", logger="dataquest"):
        summary = sync_surveys(settings(bls_base_url=secret), source.fetcher(), s3, transfer_config=CFG)
    assert summary.uploaded == 2
    assert "hunter2" not in json.dumps(to_document(summary))
    assert any("***@download.bls.gov" in e.error for e in summary.errors)
    trail_text = body(s3, sorted(keys(s3, "_logs/ingest/"))[-1]).decode()
    assert "hunter2" not in trail_text
    assert "***@download.bls.gov" in trail_text
    for key in keys(s3, "bls/"):
        url = s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["source-url"]
        assert url.startswith("https://***@download.bls.gov/pub/time.series/pr/")
    formatter = __import__("dataquest.log", fromlist=["JsonFormatter"]).JsonFormatter()
    assert all("hunter2" not in formatter.format(r) for r in caplog.records)


def test_a_name_whose_metadata_would_exceed_2kb_is_stored_with_the_url_cut_and_flagged(s3: Any, source: Source) -> None:
    from dataquest.storage import MAX_METADATA_BYTES, metadata_bytes

    name = "é" * 440  # 880 bytes: a key S3 takes; percent-encoded in the URL: 5280 characters
    source.site.put("pr/" + name, b"long name")
    first = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert first.ok, first.errors
    meta = s3.head_object(Bucket=BUCKET, Key="bls/pr/" + name)["Metadata"]
    assert meta["source-url-truncated"] == "true"
    assert metadata_bytes(meta) <= MAX_METADATA_BYTES
    assert BASE.startswith(meta["source-url"][:40])
    again = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert (again.ok, again.uploaded, again.skipped) == (True, 0, 4)


def test_an_object_whose_head_fails_is_that_files_error_and_left_as_it_is(s3: Any, source: Source) -> None:
    from botocore.exceptions import ClientError

    sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    before = body(s3, "bls/pr/pr.class")

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "bls/pr/pr.class":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, "HeadObject")

    s3.meta.events.register("before-parameter-build.s3.HeadObject", deny)
    source.site.put("pr/new.txt", b"new")
    summary = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert to_document(summary.errors) == [
        {"key": "bls/pr/pr.class", "error": "HEAD s3://sync-bucket/bls/pr/pr.class failed: AccessDenied: injected"}
    ]
    assert (summary.uploaded, summary.skipped, summary.deleted) == (1, 2, 0)
    assert body(s3, "bls/pr/pr.class") == before
    assert "bls/pr/new.txt" in keys(s3)
