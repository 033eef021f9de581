"""The lake handler on a moto server: S3 notifications on bls/ -> the survey's tables in Glue + S3, gold after pr."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import polars as pl
import pytest

pytest.importorskip("pyiceberg")

from dataquest.app import App
from dataquest.config import Settings
from dataquest.handlers import lake as lake_handler
from dataquest.lake.catalog import Lake, bucket_lake
from dataquest.lake.query import run_query
from tests.support.lake_survey import POPULATION, write_survey


@pytest.fixture
def env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("DQ_BUCKET", bucket)
    monkeypatch.setenv("DQ_LAKE_DATABASE", f"db_{bucket.replace('-', '_')}")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3, bucket


def upload(s3: Any, bucket: str, folder: Path, survey: str) -> None:
    for path in folder.iterdir():
        s3.put_object(Bucket=bucket, Key=f"bls/{survey}/{path.name}", Body=path.read_bytes())


def record(message_id: str, bucket: str, *keys: str, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    body = {"Records": [{"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": k}}} for k in keys]}
    return {"messageId": message_id, "body": json.dumps(body)}


def invoke(s3: Any, bucket: str, *records: dict[str, Any], lake: Lake | None = None) -> list[str]:
    app = App(Settings.from_env(), s3=s3)
    result = lake_handler.handler({"Records": list(records)}, None, app=app, lake=lake or bucket_lake(bucket))
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_notifications_build_silver_and_gold_in_the_bucket(env: tuple[Any, str], tmp_path: Path) -> None:
    s3, bucket = env
    upload(s3, bucket, write_survey(tmp_path / "pr"), "pr")
    s3.put_object(Bucket=bucket, Key="population/nation_population.json", Body=json.dumps(POPULATION).encode())
    failed = invoke(
        s3,
        bucket,
        record("m1", bucket, "bls/pr/pr.data.0.Current"),
        record("m2", bucket, "bls/pr/pr.series", "population/nation_population.json"),
        {"messageId": "m3", "body": json.dumps({"Event": "s3:TestEvent"})},
        record("m4", bucket, "reports/latest/report.json"),
        {"messageId": "m5", "body": "not json"},
    )
    assert failed == ["m5"]
    lake = bucket_lake(bucket)
    answer = run_query(lake, "SELECT series_id, year, value FROM best_years WHERE periods = 'quarters' ORDER BY 1")
    assert answer.rows[0] == {"series_id": "PRS30006011", "year": 2013, "value": 3.8}
    obs = run_query(lake, "SELECT source_file, source_version FROM observations WHERE year = 2014").rows
    head = s3.head_object(Bucket=bucket, Key="bls/pr/pr.data.0.Current")
    assert obs == [{"source_file": "pr.data.0.Current", "source_version": head["VersionId"]}]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    written = [k for k in keys if not k.startswith(("bls/", "population/"))]
    assert written
    assert all(k.startswith("lake/") for k in written)
    glue = boto3.client("glue", region_name="us-east-1")
    tables = {t["Name"] for t in glue.get_tables(DatabaseName=lake.namespace)["TableList"]}
    assert {"observations", "series", "footnotes", "best_years", "population_stats", "series_population"} <= tables


def test_a_failed_survey_fails_only_its_records_and_a_removed_file_takes_its_rows(
    env: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = env
    upload(s3, bucket, write_survey(tmp_path / "pr"), "pr")
    upload(s3, bucket, write_survey(tmp_path / "xx", "xx"), "xx")
    lake = bucket_lake(bucket)
    assert invoke(s3, bucket, record("a", bucket, "bls/pr/pr.data.0.Current"), lake=lake) == []
    s3.put_object(Bucket=bucket, Key="bls/xx/xx.data.1.AllData", Body=b"\xff\xfe not text\r\n")
    s3.delete_object(Bucket=bucket, Key="bls/pr/pr.data.0.Current")
    failed = invoke(
        s3,
        bucket,
        record("b", bucket, "bls/xx/xx.data.1.AllData"),
        record("c", bucket, "bls/pr/pr.data.0.Current", event="ObjectRemoved:Delete"),
        lake=lake,
    )
    assert failed == ["b"]
    obs = pl.DataFrame(run_query(lake, "SELECT survey, year, source_file FROM observations").rows)
    assert obs.get_column("survey").unique().to_list() == ["pr"]
    assert obs.filter(pl.col("year") == 2014).height == 0
    assert obs.get_column("source_file").unique().to_list() == ["pr.data.1.AllData"]
    verdicts = run_query(lake, "SELECT survey, status, message FROM expectations WHERE survey = 'xx'").rows
    assert verdicts[0]["status"] == "failed"
    assert verdicts[0]["message"].startswith("xx.data.1.AllData: not UTF-8 text")


def test_an_unchanged_survey_commits_nothing(env: tuple[Any, str], tmp_path: Path) -> None:
    s3, bucket = env
    upload(s3, bucket, write_survey(tmp_path / "pr"), "pr")
    lake = bucket_lake(bucket)
    invoke(s3, bucket, record("a", bucket, "bls/pr/pr.series"), lake=lake)
    before = len(lake.table("observations").snapshots())
    assert invoke(s3, bucket, record("b", bucket, "bls/pr/pr.series"), lake=lake) == []
    assert len(lake.table("observations").snapshots()) == before


def test_dataquest_query_answers_from_the_bucket_tables(
    env: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataquest.cli import main

    s3, bucket = env
    upload(s3, bucket, write_survey(tmp_path / "pr"), "pr")
    s3.put_object(Bucket=bucket, Key="population/nation_population.json", Body=json.dumps(POPULATION).encode())
    assert invoke(s3, bucket, record("a", bucket, "bls/pr/pr.series", "population/nation_population.json")) == []
    capsys.readouterr()
    assert main(["query", "SELECT years, mean FROM population_stats", "--json"]) == 0  # DQ_BUCKET: the bucket's
    assert json.loads(capsys.readouterr().out)["rows"] == [{"years": 6, "mean": 135.0}]


def bridged(message_id: str, bucket: str, key: str, kind: str = "Object Created") -> dict[str, Any]:
    """An S3 event as the lake's EventBridge rule puts it on the queue."""
    detail = {"bucket": {"name": bucket}, "object": {"key": key, "version-id": "v1"}, "reason": "PutObject"}
    body = {"version": "0", "source": "aws.s3", "detail-type": kind, "detail": detail}
    return {"messageId": message_id, "body": json.dumps(body)}


def test_eventbridge_events_and_s3_notifications_update_alike_and_a_malformed_body_fails_alone(
    env: tuple[Any, str], tmp_path: Path
) -> None:
    s3, bucket = env
    upload(s3, bucket, write_survey(tmp_path / "pr"), "pr")
    upload(s3, bucket, write_survey(tmp_path / "xx", "xx"), "xx")
    lake = bucket_lake(bucket)
    failed = invoke(
        s3,
        bucket,
        bridged("e1", bucket, "bls/pr/pr.data.0.Current"),
        record("s1", bucket, "bls/xx/xx.series"),
        {"messageId": "bad", "body": json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": 1})},
        lake=lake,
    )
    assert failed == ["bad"]
    surveys = run_query(lake, "SELECT DISTINCT survey FROM observations ORDER BY survey").rows
    assert surveys == [{"survey": "pr"}, {"survey": "xx"}]

    s3.delete_object(Bucket=bucket, Key="bls/pr/pr.data.0.Current")
    assert invoke(s3, bucket, bridged("e2", bucket, "bls/pr/pr.data.0.Current", "Object Deleted"), lake=lake) == []
    files = run_query(lake, "SELECT DISTINCT source_file FROM observations WHERE survey = 'pr'").rows
    assert files == [{"source_file": "pr.data.1.AllData"}]
