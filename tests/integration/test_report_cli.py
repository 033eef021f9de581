"""`dataquest fetch-population` and `dataquest report` as a user runs them: separate processes, a moto server,
a local HTTP stand-in for the DataUSA API."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataquest.config import POPULATION_KEY, REPORT_FILES
from dataquest.report.builder import BLS_DATA_KEY, ReportOptions, report_from_files
from tests.support import aws
from tests.support.bls_site import BlsSite
from tests.unit.test_analysis import bls_bytes, quarters

pytestmark = pytest.mark.integration

API_PATH = "/tesseract/data.jsonrecords"
POPULATION = json.dumps(
    {"data": [{"Year": y, "Population": 300_000_000.0 + 1000 * (y - 2013)} for y in range(2013, 2020)]}
).encode()
DATA = bls_bytes(
    [
        *quarters("PRS30006032", 2018, "0.5", "0.4", "7.0", "9.8"),
        *quarters("PRS30006032", 2020, "1", "2", "3", "4"),
        ("PRS30006033", 2018, "Q05", "3.3"),
    ]
)


@dataclass
class Env:
    s3: Any
    bucket: str
    site: BlsSite
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "dataquest.cli", *args],
            check=False,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"dataquest {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.fixture
def env(moto_endpoint: str) -> Iterator[Env]:
    s3 = aws.client("s3", moto_endpoint)
    bucket = f"report-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with BlsSite(require_contact=False) as site:
        site.serve(API_PATH, POPULATION)
        environ = {
            **os.environ,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DQ_BUCKET": bucket,
            "DQ_POPULATION_URL": site.url(API_PATH),
            "DQ_REQUEST_INTERVAL": "0",
        }
        environ.pop("DQ_CONTACT", None)
        yield Env(s3, bucket, site, environ)


def test_fetch_population_then_report_then_a_rerun_that_changes_nothing(env: Env) -> None:
    env.s3.put_object(Bucket=env.bucket, Key=BLS_DATA_KEY, Body=DATA)

    fetched = json.loads(env.run("fetch-population", "--json").stdout)
    assert fetched == {
        "key": POPULATION_KEY,
        "written": True,
        "sha256": hashlib.sha256(POPULATION).hexdigest(),
        "rows": 7,
    }
    assert env.s3.get_object(Bucket=env.bucket, Key=POPULATION_KEY)["Body"].read() == POPULATION

    first = env.run("report", "--json")
    doc = json.loads(first.stdout)
    assert doc["best_years"] == [
        {"series_id": "PRS30006032", "year": 2018, "value": 17.7, "basis": "quarters"},
        {"series_id": "PRS30006033", "year": 2018, "value": 3.3, "basis": "annual"},
    ]
    assert doc["series_population"] == [
        {"series_id": "PRS30006032", "year": 2018, "period": "Q01", "value": 0.5, "population": 300_005_000},
        {"series_id": "PRS30006032", "year": 2020, "period": "Q01", "value": 1.0, "population": None},
    ]
    # The report's log lines go to stderr as JSON (stderr is not a terminal): one per result.
    logged = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert {"population stats", "best years", "series population", "report written"} <= {e["message"] for e in logged}

    written = env.keys("reports/")
    assert len(written) == 2 * len(REPORT_FILES)  # the version folder and latest/
    assert {k.rsplit("/", 2)[-2] for k in written} == {"latest", doc_prefix(env)}

    again = json.loads(env.run("fetch-population", "--json").stdout)
    assert again == {**fetched, "written": False}
    rerun = env.run("report")
    assert "already at s3://" in rerun.stdout
    assert env.keys("reports/") == written


def doc_prefix(env: Env) -> str:
    def etag(key: str) -> str:
        return str(env.s3.head_object(Bucket=env.bucket, Key=key)["ETag"]).strip('"')

    return f"{etag(BLS_DATA_KEY)}_{etag(POPULATION_KEY)}"


def test_a_bad_payload_fails_in_one_line_and_keeps_the_stored_json(env: Env) -> None:
    env.run("fetch-population")
    env.site.serve(API_PATH, b"<!DOCTYPE html><html>Gateway Timeout</html>", content_type="text/html")
    done = env.run("fetch-population", "--json", check=False)
    assert done.returncode == 1
    assert "not JSON" in json.loads(done.stdout)["error"]
    assert done.stderr.strip().splitlines()[-1].startswith("dataquest fetch-population: error: GET http://127.0.0.1:")
    assert env.s3.get_object(Bucket=env.bucket, Key=POPULATION_KEY)["Body"].read() == POPULATION


def test_report_without_inputs_says_what_to_run(env: Env) -> None:
    done = env.run("report", check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"dataquest report: error: s3://{env.bucket}/{BLS_DATA_KEY} does not exist: the report needs it; "
        "run `dataquest sync-bls` first"
    )


def test_a_versioned_bucket_names_the_folder_by_version_ids(env: Env) -> None:
    env.s3.put_bucket_versioning(Bucket=env.bucket, VersioningConfiguration={"Status": "Enabled"})
    env.s3.put_object(Bucket=env.bucket, Key=BLS_DATA_KEY, Body=DATA)
    env.run("fetch-population")
    doc = json.loads(env.run("report", "--json").stdout)
    version = env.s3.head_object(Bucket=env.bucket, Key=BLS_DATA_KEY)["VersionId"]
    assert doc["inputs"]["bls"] == {"key": BLS_DATA_KEY, "version": version}
    assert any(k.startswith(f"reports/{version}_") for k in env.keys("reports/"))


def test_a_new_user_gets_the_report_from_local_files_with_one_command(tmp_path: Path) -> None:
    data, pop = tmp_path / "pr.data.0.Current", tmp_path / "population.json"
    data.write_bytes(DATA)
    pop.write_bytes(POPULATION)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DQ_", "AWS_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dataquest.cli",
            "report",
            "--data-file",
            str(data),
            "--population-file",
            str(pop),
            "--json",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=True,
    )
    expected = report_from_files(data, pop, ReportOptions()).document
    assert done.stdout.count("\n") == 1  # one document, on one line
    assert json.loads(done.stdout) == expected
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == expected


def test_local_files_of_the_real_release_give_the_known_answers(shared_data: Path) -> None:
    data = shared_data / "bls-pr-2025-09" / "pr.data.0.Current"
    pop = shared_data / "population" / "acs1-nation.tesseract.json"
    args = ["report", "--data-file", str(data), "--population-file", str(pop), "--json", "--periods", "all"]
    done = subprocess.run(
        [sys.executable, "-m", "dataquest.cli", *args], capture_output=True, text=True, timeout=120, check=True
    )
    doc = json.loads(done.stdout)
    assert doc["population_stats"]["mean"] == 322069808.0
    assert round(doc["population_stats"]["std"], 6) == 4158441.040908
    best = {r["series_id"]: (r["year"], r["value"]) for r in doc["best_years"]}
    assert len(best) == 282
    assert best["PRS30006011"] == (2022, 20.5)
    assert best["PRS30006013"] == (1998, 705.895)
    joined = {r["year"]: r for r in doc["series_population"]}
    assert len(joined) == 31
    assert (joined[2018]["value"], joined[2018]["population"]) == (0.5, 327167439)
    assert joined[2020]["population"] is None
