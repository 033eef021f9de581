"""scripts/local_invoke.py (`make local-invoke`): it waits for the transfer outcomes of the run the ingest function
planned, says what they are, and fails on a failed or missing transfer (moto's S3; no containers)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from tests.conftest import ROOT

BUCKET = "dq-local-invoke"
RUN = "20261206T095210Z-abc"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_invoke", ROOT / "scripts" / "local_invoke.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key=f"_logs/ingest/{RUN}.jsonl", Body=b'{"event": "start"}\n')
        yield client


def _outcome(s3: Any, name: str, doc: dict[str, Any]) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"_logs/ingest/{RUN}/transfers/{name}.jsonl", Body=json.dumps(doc).encode())


PLANNED = {"planned": {"pr": {"files": 2, "bytes": 30}}}


def test_every_planned_transfer_done_is_reported(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _outcome(s3, "m1", {"event": "upload", "survey": "pr", "path": "pr.class", "bytes": 10})
    _outcome(s3, "m2", {"event": "skip", "survey": "pr", "path": "pr.series"})
    assert _script().wait_for_transfers(s3, BUCKET, set(), PLANNED, time.monotonic() + 5)
    err = capsys.readouterr().err
    assert f"run {RUN} planned 2 transfer(s)" in err
    assert f"transfers of run {RUN}: 1 uploaded, 1 already there, 0 failed" in err
    assert f"s3://{BUCKET}/_logs/ingest/{RUN}/transfers/" in err


def test_a_failed_transfer_fails_naming_the_file(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _outcome(s3, "m1", {"event": "upload", "survey": "pr", "path": "pr.class", "bytes": 10})
    _outcome(s3, "m2", {"event": "error", "survey": "pr", "path": "pr.series", "error": "HTTP 503"})
    assert not _script().wait_for_transfers(s3, BUCKET, set(), PLANNED, time.monotonic() + 5)
    assert "the transfers did not all succeed: bls/pr/pr.series: HTTP 503" in capsys.readouterr().err


def test_transfers_not_done_by_the_deadline_fail(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _outcome(s3, "m1", {"event": "upload", "survey": "pr", "path": "pr.class", "bytes": 10})
    assert not _script().wait_for_transfers(s3, BUCKET, set(), PLANNED, time.monotonic())
    assert "not all transfers finished in time" in capsys.readouterr().err


def test_a_run_that_left_no_trail_fails(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert not _script().wait_for_transfers(s3, BUCKET, {RUN}, PLANNED, time.monotonic() + 5)
    assert "the ingest run left no trail" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["00001-b.metadata.json", "00001-b.gz.metadata.json"])
def test_a_new_commit_of_the_lakes_observations_is_reported(
    s3: Any, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """Plain or gzipped (``*.gz.metadata.json``: how the lake writes them now), as Iceberg reads them by the name."""
    script = _script()
    old = "lake/observations/metadata/00000-a.metadata.json"
    s3.put_object(Bucket=BUCKET, Key=old, Body=b"{}")
    before = script.lake_commits(s3, BUCKET)
    assert before == {old}
    metadata = {
        "current-snapshot-id": 7,
        "snapshots": [
            {"snapshot-id": 6, "summary": {"operation": "append"}},
            {"snapshot-id": 7, "summary": {"operation": "overwrite", "added-records": "120", "dataquest.lineage": "x"}},
        ],
    }
    new = f"lake/observations/metadata/{name}"
    body = json.dumps(metadata).encode()
    s3.put_object(Bucket=BUCKET, Key=new, Body=gzip.compress(body) if name.endswith(".gz.metadata.json") else body)
    s3.put_object(Bucket=BUCKET, Key="lake/observations/data/survey=pr/x.parquet", Body=b"x")
    assert script.wait_for_lake(s3, BUCKET, before, time.monotonic() + 5)
    err = capsys.readouterr().err
    assert f'observations committed ({new}): {{"operation": "overwrite", "added-records": "120"}}' in err


def test_no_lake_commit_in_time_says_where_to_look(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    script = _script()
    assert not script.wait_for_lake(s3, BUCKET, script.lake_commits(s3, BUCKET), time.monotonic())
    err = capsys.readouterr().err
    assert "lake: no new commit under s3://dq-local-invoke/lake/observations/metadata/ in time" in err


def test_an_emulator_with_glue_holds_the_lake_and_one_without_is_said_at_once() -> None:
    script = _script()
    with mock_aws():
        assert script.glue_missing(boto3.client("glue", region_name="us-east-1")) is None
    # An endpoint where no Glue answers (LocalStack's free edition answers 501 to every Glue call): a reason, no wait.
    refused = boto3.client(
        "glue",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    reason = script.glue_missing(refused)
    assert reason is not None
    assert reason.startswith("its Glue does not answer (")
