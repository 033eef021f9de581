"""Both handlers under the real Lambda client: ``python -m awslambdaric <handler>`` against the Runtime API
stand-in, with S3 and SQS on a moto server and real S3-to-SQS messages (put objects, receive what S3 sent)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from dataquest.local.embedded import Topology, create_topology
from dataquest.local.relay import sqs_event
from tests.conftest import EVENTS
from tests.integration.test_run_embedded import check_report, pipeline_env, publish, small_tree
from tests.support.aws import client, receive_all
from tests.support.bls_site import BlsSite
from tests.support.runtime_api import LambdaProcess, RuntimeApi

pytestmark = pytest.mark.integration

REPORT = "dataquest.handlers.report.handler"
INGEST = "dataquest.handlers.ingest.handler"
POPULATION_KEY = "population/nation_population.json"
BLS_KEY = "bls/pr/pr.data.0.Current"


@pytest.fixture
def topology(moto_endpoint: str) -> Topology:
    name = f"dq-{uuid.uuid4().hex[:10]}"
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    return create_topology(s3, sqs, name, queue=f"{name}-q", dlq=f"{name}-dlq", max_receive_count=2)


def lambda_env(moto_endpoint: str, bucket: str, site: BlsSite | None = None) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "DQ_BUCKET": bucket,
    }
    return {**env, **(pipeline_env(site) if site is not None else {})}


def json_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_report_handler_on_real_s3_messages(moto_endpoint: str, topology: Topology, tmp_path: Path) -> None:
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    tree = small_tree()
    s3.put_object(Bucket=topology.bucket, Key=BLS_KEY, Body=tree.files["pr/pr.data.0.Current"])
    s3.put_object(Bucket=topology.bucket, Key=POPULATION_KEY, Body=tree.population)
    s3.put_object(Bucket=topology.bucket, Key="bls/pr/pr.series", Body=b"not an input: no notification")
    messages = receive_all(sqs, topology.report.url)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert sum(1 for b in bodies if b.get("Event") == "s3:TestEvent") == 1
    assert sorted(b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b) == [
        "bls%2Fpr%2Fpr.data.0.Current",  # URL-encoded, as moto (quote_plus) sends them
        "population%2Fnation_population.json",
    ]
    event = sqs_event(messages, topology.report.arn)
    duplicate = copy.deepcopy(next(r for r in event["Records"] if "population" in r["body"]))
    duplicate["messageId"] = "duplicate-of-population"
    malformed = {**copy.deepcopy(event["Records"][0]), "messageId": "malformed", "body": "{not json"}
    no_records = {**copy.deepcopy(event["Records"][0]), "messageId": "no-records", "body": '{"Service": "x"}'}
    event["Records"] += [duplicate, malformed, no_records]

    out = tmp_path / "report.log"
    with RuntimeApi() as api, LambdaProcess(api, REPORT, env=lambda_env(moto_endpoint, topology.bucket), stdout=out):
        first = api.invoke(event, timeout=120)
        assert first.ok, first.body
        assert first.payload == {
            "batchItemFailures": [{"itemIdentifier": "malformed"}, {"itemIdentifier": "no-records"}]
        }
        listing = s3.list_objects_v2(Bucket=topology.bucket, Prefix="reports/")
        keys = sorted(o["Key"] for o in listing["Contents"])
        # redelivery of the whole batch, out of order: the same answer, no new report
        event["Records"].reverse()
        second = api.invoke(event, timeout=120)
        assert second.payload == {
            "batchItemFailures": [{"itemIdentifier": "no-records"}, {"itemIdentifier": "malformed"}]
        }

    folders = {k.split("/")[1] for k in keys}
    assert len(folders) == 2
    assert "latest" in folders
    assert {k.rsplit("/", 1)[1] for k in keys} == {
        "report.json",
        "best_years.csv",
        "series_population.csv",
        "report.md",
        "report.html",
    }
    after = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=topology.bucket, Prefix="reports/")["Contents"])
    assert after == keys
    doc = json.loads(s3.get_object(Bucket=topology.bucket, Key="reports/latest/report.json")["Body"].read())
    check_report(doc, tree)
    versions = {k: s3.head_object(Bucket=topology.bucket, Key=k)["VersionId"] for k in (BLS_KEY, POPULATION_KEY)}
    assert doc["inputs"]["bls"]["version"] == versions[BLS_KEY]
    assert doc["inputs"]["population"]["version"] == versions[POPULATION_KEY]

    logs = json_lines(out)
    assert {line.get("request_id") for line in logs if line.get("logger", "").startswith("dataquest")} == {
        first.request_id,
        second.request_id,
    }
    assert [line["skipped"] for line in logs if line.get("message") == "report done"] == [False, True]


def test_report_handler_acknowledges_a_test_event_alone(moto_endpoint: str, topology: Topology, tmp_path: Path) -> None:
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    messages = receive_all(sqs, topology.report.url)
    assert [json.loads(m["Body"])["Event"] for m in messages] == ["s3:TestEvent"]
    env = lambda_env(moto_endpoint, topology.bucket)
    with RuntimeApi() as api, LambdaProcess(api, REPORT, env=env, stdout=tmp_path / "log") as fn:
        outcome = fn.invoke(sqs_event(messages, topology.report.arn), timeout=60)
        fixture = fn.invoke(json.loads((EVENTS / "sqs-s3-test-event.json").read_text()), timeout=60)
    assert outcome.payload == {"batchItemFailures": []}
    assert fixture.payload == {"batchItemFailures": []}
    assert "Contents" not in s3.list_objects_v2(Bucket=topology.bucket, Prefix="reports/")


def test_ingest_handler_mirrors_and_fetches(
    moto_endpoint: str, topology: Topology, site: BlsSite, tmp_path: Path
) -> None:
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    tree = small_tree()
    publish(site, tree)
    out = tmp_path / "ingest.log"
    event = json.loads((EVENTS / "schedule-rule.json").read_text())
    with (
        RuntimeApi() as api,
        LambdaProcess(api, INGEST, env=lambda_env(moto_endpoint, topology.bucket, site), stdout=out),
    ):
        outcome = api.invoke(event, timeout=120)
    assert outcome.ok, outcome.body
    summary = outcome.payload
    assert (summary["files_seen"], summary["uploaded"], summary["errors"]) == (2, 2, [])
    assert summary["population"]["written"] is True
    for path, body in tree.files.items():
        assert s3.get_object(Bucket=topology.bucket, Key=f"bls/{path}")["Body"].read() == body
    assert s3.get_object(Bucket=topology.bucket, Key=POPULATION_KEY)["Body"].read() == tree.population
    # what S3 told the queue: the TestEvent and one notification per input
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, topology.report.url)]
    assert len(bodies) == 3
    logs = json_lines(out)
    emf = [line for line in logs if "_aws" in line]
    assert len(emf) == 1
    assert (emf[0]["FilesUploaded"], emf[0]["Errors"], emf[0]["PopulationWritten"]) == (2, 0, 1)
    assert any(line.get("message") == "ingest summary" and line["request_id"] == outcome.request_id for line in logs)


def test_ingest_handler_fails_the_invocation_after_doing_everything(
    moto_endpoint: str, topology: Topology, site: BlsSite, tmp_path: Path
) -> None:
    s3 = client("s3", moto_endpoint)
    publish(site, small_tree())
    site.fail("/pub/time.series/xx/", 404, times=None)  # the second survey's folder is gone
    env = lambda_env(moto_endpoint, topology.bucket, site) | {"DQ_BLS_SURVEYS": "xx,pr"}
    with RuntimeApi() as api, LambdaProcess(api, INGEST, env=env, stdout=tmp_path / "log") as fn:
        outcome = fn.invoke({"source": "dataquest.schedule"}, timeout=120)
    assert not outcome.ok
    assert outcome.error_type == "IngestFailedError"
    assert "/pub/time.series/xx/" in outcome.payload["errorMessage"]
    # the other survey and the population were still done
    assert s3.head_object(Bucket=topology.bucket, Key=BLS_KEY)["ContentLength"] > 0
    assert s3.head_object(Bucket=topology.bucket, Key=POPULATION_KEY)["ContentLength"] > 0
    emf = [line for line in json_lines(tmp_path / "log") if "_aws" in line]
    assert emf[0]["Errors"] == 1


def test_ingest_handler_without_contact_fails_naming_the_variable(
    moto_endpoint: str, topology: Topology, site: BlsSite, tmp_path: Path
) -> None:
    env = lambda_env(moto_endpoint, topology.bucket, site) | {"DQ_CONTACT": ""}
    with RuntimeApi() as api, LambdaProcess(api, INGEST, env=env, stdout=tmp_path / "log") as fn:
        outcome = fn.invoke({}, timeout=60)
    assert outcome.error_type == "ConfigurationError"
    assert "DQ_CONTACT" in outcome.payload["errorMessage"]
    assert site.requests == []


def test_a_handler_that_cannot_load_reports_an_init_error(tmp_path: Path) -> None:
    with RuntimeApi() as api, LambdaProcess(api, "dataquest.handlers.nosuch.handler", stdout=tmp_path / "log") as fn:
        outcome = fn.invoke({}, timeout=60)
    assert outcome.error_type == "Runtime.ImportModuleError"
    assert len(api.init_errors) == 1
    assert fn.exits == [1]
