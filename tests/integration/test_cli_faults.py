"""Issue 11 end to end: `dataquest` as a user runs it (a separate process) against the BLS stand-in and a moto
server. Signals stop a sync cleanly; a killed run neither blocks the next nor hides how far it got; a malformed
lease is held, then taken over; bad inputs are one line; verify finds and repairs replaced bytes; population
payloads that would poison the report are refused and SQS records of any shape fail alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dataquest.config import POPULATION_KEY
from tests.conftest import ROOT
from tests.support import aws
from tests.support.bls_site import BlsSite, MiB
from tests.unit.test_report import DATA, POPULATION

pytestmark = pytest.mark.integration

CONTACT = "ops@example.org"
BIG = "pr/pr.data.1.AllData"
BIG_SIZE = 9 * MiB  # above the 8 MiB threshold: a multipart upload of 2 parts


@dataclass
class Env:
    s3: Any
    bucket: str
    site: BlsSite
    env: dict[str, str]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dataquest.cli", *args]

    def run(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            check=False,
            capture_output=True,
            text=True,
            env={**self.env, **(extra or {})},
            timeout=120,
        )

    def start(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **(extra or {})},
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def body(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def trail(self, index: int = -1) -> list[dict[str, Any]]:
        """The events of a run's trail (the runs in the order they started)."""
        key = self.keys("_logs/ingest/")[index]
        return [json.loads(line) for line in self.body(key).decode().splitlines()]

    def open_uploads(self) -> list[Any]:
        return list(self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))


@pytest.fixture
def env(moto_endpoint: str) -> Iterator[Env]:
    s3 = aws.client("s3", moto_endpoint)
    bucket = f"faults-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with BlsSite() as site:
        site.put("pr/pr.class", b"class\r\n")
        site.put("pr/pr.series", b"series\r\n")
        environ = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DQ_BUCKET": bucket,
            "DQ_CONTACT": CONTACT,
            "DQ_BLS_BASE_URL": site.base_url,
            "DQ_REQUEST_INTERVAL": "0",
        }
        for name in ("DQ_LOG_LEVEL", "DQ_LEASE_TTL", "DQ_BLS_SURVEYS"):
            environ.pop(name, None)
        yield Env(s3, bucket, site, environ)


def error_lines(stderr: str, command: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith(f"dataquest {command}: error: ")]


def wait_for_a_part(env: Env, timeout: float = 60) -> None:
    """Until the sync's multipart upload of BIG has a part in S3 (the transfer is mid-way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for upload in env.open_uploads():
            parts = env.s3.list_parts(Bucket=env.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            if parts.get("Parts"):
                return
        time.sleep(0.05)
    raise AssertionError("the sync never had a part of its multipart upload in S3")


# --- the process ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_aborts_the_upload_releases_the_lease_writes_the_trail_and_exits_with_one_line(
    env: Env, sig: signal.Signals, code: int
) -> None:
    env.site.put_generated(BIG, BIG_SIZE, seed=5)
    env.site.stall(BIG, after=8 * MiB + 512 * 1024, delay=60, times=1)
    proc = env.start("sync-bls", "--json", "--log-level", "critical")  # lower case; only the error line on stderr
    try:
        wait_for_a_part(env)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert err.strip().splitlines() == error_lines(err, "sync-bls")  # one line, nothing else
    (line,) = err.strip().splitlines()
    assert f"interrupted by {sig.name}" in line
    doc = json.loads(out)  # the summary reached, with the error
    assert f"interrupted by {sig.name}" in doc["error"]
    assert doc["surveys"] == ["pr"]

    assert env.open_uploads() == []  # the multipart upload was aborted: no parts left
    assert f"bls/{BIG}" not in env.keys("bls/")  # never half-written
    assert env.keys("_locks/") == []  # the lease was released
    trail = env.trail()
    assert trail[0]["event"] == "start"
    assert trail[-1]["event"] == "interrupted"
    assert trail[-1]["signal"] == sig.name

    again = env.run("sync-bls", "--json")  # at once: nothing to wait for
    assert again.returncode == 0, again.stderr
    assert env.body(f"bls/{BIG}") == env.site.data_of(BIG)


def test_a_killed_run_does_not_block_the_next_on_this_host_and_its_trail_shows_how_far_it_got(env: Env) -> None:
    env.site.put_generated(BIG, BIG_SIZE, seed=6)
    env.site.stall(BIG, after=8 * MiB + 512 * 1024, delay=60, times=1)
    ttl = {"DQ_LEASE_TTL": "600"}  # an expiry far away: only the dead-owner check can free the lease
    ttl["DQ_TRANSFER_STREAMS"] = "1"  # one file after another: the trail shows exactly the file before the stall
    proc = env.start("sync-bls", extra=ttl)
    try:
        wait_for_a_part(env)
        # a second sync while the first lives: declined, naming the holder
        second = env.run("sync-bls", "--json", extra=ttl)
        assert second.returncode == 1
        assert "another sync of survey 'pr' is running" in json.loads(second.stdout)["error"]
        trail_key = env.keys("_logs/ingest/")[0]  # the killed run's (the declined one's comes after)
        deadline = time.monotonic() + 30
        while b'"event": "upload"' not in env.body(trail_key) and time.monotonic() < deadline:
            time.sleep(0.2)  # the trail's background write (every 5 s) brings the upload before the stall
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    trail = env.trail(0)  # the killed run's (the declined one's comes after)
    events = [e["event"] for e in trail]
    assert events[0] == "start"
    uploaded = sorted(e["key"] for e in trail if e["event"] == "upload")
    assert uploaded == env.keys("bls/") == ["bls/pr/pr.class"]  # how far it got: the file before the stalled one
    assert "summary" not in events  # it did not finish, and the trail says so by its end
    assert env.keys("_locks/") == ["_locks/sync-bls/pr.json"]  # SIGKILL: no cleanup

    started = time.monotonic()
    after = env.run("sync-bls", "--json", extra=ttl)
    assert after.returncode == 0, after.stderr
    assert time.monotonic() - started < 60
    assert json.loads(after.stdout)["errors"] == []
    assert env.body(f"bls/{BIG}") == env.site.data_of(BIG)
    assert env.keys("_locks/") == []


def age(env: Env, key: str, seconds: float) -> None:
    """Move the object's LastModified back by ``seconds`` (the moto server runs in this process): no sleeping."""
    import moto.s3.models

    fake = moto.s3.models.s3_backends["123456789012"]["aws"].buckets[env.bucket].keys[key]
    fake.last_modified = fake.last_modified - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "body",
    [b'{"owner": "x", "expires_at": null}', b'{"owner": "x", "expires_at": 1e400}', b"not json at all"],
)
def test_a_malformed_lease_is_held_until_last_modified_plus_the_ttl_then_taken_over(env: Env, body: bytes) -> None:
    # (every malformed shape is in tests/unit/test_bls_lease.py; here, three through the command line)
    key = "_locks/sync-bls/pr.json"
    env.s3.put_object(Bucket=env.bucket, Key=key, Body=body)
    ttl = {"DQ_LEASE_TTL": "60"}
    held = env.run("sync-bls", "--json", extra=ttl)
    assert held.returncode == 1
    (line,) = error_lines(held.stderr, "sync-bls")
    assert "held until its LastModified plus the TTL" in line
    assert env.keys("bls/") == []
    age(env, key, 61)  # as if written 61 s ago: past LastModified plus the TTL
    taken = env.run("sync-bls", "--json", extra=ttl)
    assert taken.returncode == 0, taken.stderr
    assert "lease taken over" in taken.stderr
    assert "malformed lease" in taken.stderr
    assert env.keys("bls/") == ["bls/pr/pr.class", "bls/pr/pr.series"]


# --- the command line ----------------------------------------------------------------------------------------
def test_dry_run_says_would_download(env: Env) -> None:
    done = env.run("sync-bls", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would download" in done.stdout
    assert "downloaded" not in done.stdout
    assert env.keys() == []


def test_with_one_survey_failing_json_still_prints_the_summary_of_the_others(env: Env) -> None:
    env.site.put("ce/ce.txt", b"ce")
    env.site.override_listing("ce/", b"<html>not a listing</html>")
    done = env.run("sync-bls", "--survey", "ce", "--survey", "pr", "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["surveys"] == ["ce", "pr"]
    assert doc["uploaded"] == 2  # pr synced
    assert [e["path"] for e in doc["errors"]] == [env.site.base_url + "ce/"]
    assert "error" in doc
    assert len(error_lines(done.stderr, "sync-bls")) == 1
    assert env.keys("bls/") == ["bls/pr/pr.class", "bls/pr/pr.series"]


@pytest.fixture
def local(tmp_path: Path) -> tuple[Path, Path]:
    data, pop = tmp_path / "pr.data.0.Current", tmp_path / "population.json"
    data.write_bytes(DATA)
    pop.write_bytes(POPULATION)
    return data, pop


BAD_DATA_FILES = {
    "empty": (b"", "the file is empty"),
    "header only": (b"series_id\tyear\tperiod\tvalue\r\n", "a header but no data rows"),
    "binary": (bytes(range(256)) * 64, "binary data"),
    "terminal escapes, not UTF-8": (b"\x1b]0;pwned\x07\x1b[2J\xff\xfe\r\n", "not UTF-8"),
}


@pytest.mark.parametrize(("body", "says"), BAD_DATA_FILES.values(), ids=BAD_DATA_FILES.keys())
def test_a_bad_data_file_is_one_printable_line(env: Env, local: tuple[Path, Path], body: bytes, says: str) -> None:
    data, pop = local
    data.write_bytes(body)
    done = env.run("report", "--data-file", str(data), "--population-file", str(pop), "--out", str(data.parent / "o"))
    assert done.returncode == 1
    (line,) = error_lines(done.stderr, "report")
    assert says in line
    assert line.isprintable()
    assert not (data.parent / "o").exists()  # nothing written


def test_a_directory_as_data_file_says_directory(env: Env, local: tuple[Path, Path]) -> None:
    _data, pop = local
    done = env.run("report", "--data-file", str(pop.parent), "--population-file", str(pop))
    (line,) = error_lines(done.stderr, "report")
    assert "is a directory" in line
    assert "no such file" not in line


@pytest.mark.parametrize(
    "case",
    [
        (["--log-level", "debug"], {}, 0, None),
        (["--log-level", "LOUD"], {}, 2, "--log-level='LOUD' is not a log level"),
        ([], {"DQ_LOG_LEVEL": "debug"}, 0, None),
        ([], {"DQ_LOG_LEVEL": "verbose"}, 2, "DQ_LOG_LEVEL='verbose' is not a log level"),
        (["--start-year", "2147483648"], {}, 2, "not a plausible year"),
    ],
)
def test_log_levels_and_options_never_give_a_traceback(
    env: Env, local: tuple[Path, Path], case: tuple[list[str], dict[str, str], int, str | None]
) -> None:
    args, extra, code, says = case
    data, pop = local
    done = env.run("report", "--data-file", str(data), "--population-file", str(pop), "--json", *args, extra=extra)
    assert done.returncode == code, done.stderr
    if says is None:
        assert json.loads(done.stdout)["best_years"]
        assert "Traceback" not in done.stderr
    else:
        (line,) = error_lines(done.stderr, "report")
        assert says in line


def test_series_id_that_matches_nothing_warns(env: Env, local: tuple[Path, Path]) -> None:
    data, pop = local
    done = env.run("report", "--data-file", str(data), "--population-file", str(pop), "--series-id", "NOPE")
    assert done.returncode == 0
    assert "dataquest report: warning: --series-id NOPE with --period Q01 matched no row" in done.stderr


def test_report_without_its_extra_names_the_extra(env: Env, local: tuple[Path, Path]) -> None:
    data, pop = local
    # polars made unimportable, as on `pip install dataquest` without [report]
    code = "import sys; sys.modules['polars'] = None; from dataquest.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "report", "--data-file", str(data), "--population-file", str(pop)],
        check=False,
        capture_output=True,
        text=True,
        env=env.env,
        timeout=60,
    )
    assert done.returncode == 2
    (line,) = error_lines(done.stderr, "report")
    assert "pip install 'dataquest[report]'" in line


def test_a_bug_is_one_line_with_the_debug_hint(env: Env, local: tuple[Path, Path]) -> None:
    data, pop = local
    code = (
        "import sys, dataquest.report.builder as r\n"
        "def boom(*a, **k): raise AssertionError('an invariant broke')\n"
        "r.report_from_files = boom\n"
        "from dataquest.cli import main; sys.exit(main())"
    )
    argv = ["report", "--data-file", str(data), "--population-file", str(pop)]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], check=False, capture_output=True, text=True, env=env.env, timeout=60
    )
    assert done.returncode == 1
    (line,) = error_lines(done.stderr, "report")
    assert "unexpected AssertionError: an invariant broke" in line
    assert "--log-level DEBUG" in line
    debug = subprocess.run(
        [sys.executable, "-c", code, *argv, "--log-level", "DEBUG"],
        check=False,
        capture_output=True,
        text=True,
        env=env.env,
        timeout=60,
    )
    assert "in boom" in debug.stderr  # the traceback, in the debug log


# --- verify --------------------------------------------------------------------------------------------------
def test_verify_finds_bytes_replaced_with_the_same_size_and_repairs_them(env: Env) -> None:
    env.site.put_generated(BIG, BIG_SIZE, seed=7)  # multipart: its sha256 is in a tag
    assert env.run("sync-bls").returncode == 0
    clean = env.run("verify", "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout) == {"checked": 3, "mismatched": [], "unrecorded": [], "repaired": [], "errors": []}

    for key in ("bls/pr/pr.class", f"bls/{BIG}"):
        head = env.s3.head_object(Bucket=env.bucket, Key=key)
        tags = env.s3.get_object_tagging(Bucket=env.bucket, Key=key)["TagSet"]
        good = env.body(key)
        env.s3.put_object(
            Bucket=env.bucket,
            Key=key,
            Body=bytes(b ^ 1 for b in good),  # same size, other bytes
            Metadata=head["Metadata"],
            Tagging="&".join(f"{t['Key']}={t['Value']}" for t in tags),
        )
    env.site.reset_counts()
    assert json.loads(env.run("sync-bls", "--json").stdout)["uploaded"] == 0  # what a sync does not notice

    found = env.run("verify", "--json")
    assert found.returncode == 1
    doc = json.loads(found.stdout)
    assert sorted(d["key"] for d in doc["mismatched"]) == ["bls/pr/pr.class", f"bls/{BIG}"]
    assert doc["checked"] == 3
    assert "dataquest verify --repair" in error_lines(found.stderr, "verify")[0]

    repaired = env.run("verify", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stderr
    assert sorted(json.loads(repaired.stdout)["repaired"]) == ["bls/pr/pr.class", f"bls/{BIG}"]
    assert env.body(f"bls/{BIG}") == env.site.data_of(BIG)
    assert env.body("bls/pr/pr.class") == b"class\r\n"
    assert env.run("verify").returncode == 0


# --- the payloads --------------------------------------------------------------------------------------------
API_PATH = "/tesseract/data.jsonrecords"
POISON_PAYLOADS = {
    "year 2**31": json.dumps({"data": [{"Year": 2**31, "Population": 1.0}]}).encode(),
    "nested 100,000 deep": b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "population 1e400": b'{"data": [{"Year": 2019, "Population": 1e400}]}',
    "a 5,000-digit year": b'{"data": [{"Year": ' + b"9" * 5000 + b', "Population": 1}]}',
}


@pytest.mark.parametrize("payload", POISON_PAYLOADS.values(), ids=POISON_PAYLOADS.keys())
def test_a_poisonous_population_payload_is_one_line_and_the_stored_json_stays(env: Env, payload: bytes) -> None:
    env.site.serve(API_PATH, POPULATION)
    extra = {"DQ_POPULATION_URL": env.site.url(API_PATH)}
    assert env.run("fetch-population", extra=extra).returncode == 0
    env.site.serve(API_PATH, payload)
    done = env.run("fetch-population", "--json", extra=extra)
    assert done.returncode == 1
    (line,) = error_lines(done.stderr, "fetch-population")
    assert len(line) < 500
    assert env.body(POPULATION_KEY) == POPULATION


@pytest.mark.parametrize(
    "bad", [b"", b"series_id        \tyear\tperiod\t       value\tfootnote_codes\r\n"], ids=["0 bytes", "header only"]
)
def test_a_bad_data_file_in_s3_is_refused_and_reports_latest_stays(env: Env, bad: bytes) -> None:
    env.s3.put_object(Bucket=env.bucket, Key="bls/pr/pr.data.0.Current", Body=DATA)
    env.s3.put_object(Bucket=env.bucket, Key=POPULATION_KEY, Body=POPULATION)
    assert env.run("report").returncode == 0
    latest = {k: env.body(k) for k in env.keys("reports/latest/")}
    assert len(latest) >= 4
    env.s3.put_object(Bucket=env.bucket, Key="bls/pr/pr.data.0.Current", Body=bad)
    done = env.run("report", "--json")
    assert done.returncode == 1
    (line,) = error_lines(done.stderr, "report")
    assert "s3://" in line
    assert ("the file is empty" if not bad else "no data rows") in line
    assert {k: env.body(k) for k in env.keys("reports/latest/")} == latest


# --- issue 25: a setting the run cannot use is one line naming it, before any request (never "a bug") ------------


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"DQ_CONTACT": "jos\u00e9@example.org"}, "DQ_CONTACT="),
        ({"DQ_LEASE_TTL": "1e12"}, "DQ_LEASE_TTL="),
        ({"DQ_REQUEST_INTERVAL": "100000"}, "DQ_REQUEST_INTERVAL="),
        ({"DQ_BLS_BASE_URL": "https://"}, "DQ_BLS_BASE_URL="),
        ({"DQ_TRANSFER_STREAMS": "1_0"}, "DQ_TRANSFER_STREAMS="),
        ({"DQ_MAX_SURVEYS": "0"}, "DQ_MAX_SURVEYS="),
    ],
    ids=["contact", "lease", "interval", "no-host", "streams", "max-surveys"],
)
def test_a_setting_the_run_cannot_use_is_one_line_before_any_request(
    env: Env, extra: dict[str, str], says: str
) -> None:
    done = env.run("sync-bls", "--json", extra=extra)

    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done.stderr, "sync-bls")
    assert says in line
    assert "bug" not in line
    assert env.site.requests == []
