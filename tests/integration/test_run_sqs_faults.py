"""SQS-side faults (issue 7) through the embedded run's delivery to the real report handler, on a moto server
with the topology's redrive policy (maxReceiveCount=2): redelivery and duplicates are harmless, a poisoned
message ends in the dead-letter queue after the configured receives while the report is made. The relay's own
rules (retries, the dead-letter report, the bound on batches) are tested in tests/unit/test_relay.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from dataquest.app import App
from dataquest.config import REPORT_FILES, Settings
from dataquest.documents import to_document
from dataquest.handlers import report
from dataquest.local.embedded import Topology, create_topology, deliver_notifications
from tests.integration.test_run_embedded import small_tree
from tests.support.aws import client

pytestmark = pytest.mark.integration

POPULATION_KEY = "population/nation_population.json"
BLS_KEY = "bls/pr/pr.data.0.Current"


@pytest.fixture
def wired(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Topology]:
    name = f"dq-{uuid.uuid4().hex[:10]}"
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    topology = create_topology(s3, sqs, name, queue=f"{name}-q", dlq=f"{name}-dlq", max_receive_count=2)
    app = App(Settings(bucket=name), s3=s3)
    monkeypatch.setattr(report, "container_app", lambda: app)  # the handler as the relay calls it
    return s3, sqs, topology


def put_inputs(s3: Any, bucket: str) -> None:
    tree = small_tree()
    s3.put_object(Bucket=bucket, Key=BLS_KEY, Body=tree.files["pr/pr.data.0.Current"])
    s3.put_object(Bucket=bucket, Key=POPULATION_KEY, Body=tree.population)


def report_folders(s3: Any, bucket: str) -> list[str]:
    found = s3.list_objects_v2(Bucket=bucket, Prefix="reports/", Delimiter="/").get("CommonPrefixes", [])
    return sorted(p["Prefix"] for p in found if p["Prefix"] != "reports/latest/")


def s3_notification(bucket: str, key: str) -> str:
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
    return json.dumps({"Records": [record]})


def test_duplicates_and_redelivery_make_one_report(wired: tuple[Any, Any, Topology]) -> None:
    s3, sqs, topology = wired
    put_inputs(s3, topology.bucket)
    # S3 may send a notification twice, and an old one may arrive after a newer: both are harmless
    for _ in range(2):
        sqs.send_message(QueueUrl=topology.report.url, MessageBody=s3_notification(topology.bucket, POPULATION_KEY))
    first = deliver_notifications(sqs, topology, report.handler, batch_size=1)
    assert (first.received, first.deleted, first.dead_letters, first.left_on_queue) == (5, 5, [], 0)
    folders = report_folders(s3, topology.bucket)
    assert len(folders) == 1
    # a redelivery of an already-processed notification later on: acknowledged, the report left as it was
    sqs.send_message(QueueUrl=topology.report.url, MessageBody=s3_notification(topology.bucket, BLS_KEY))
    second = deliver_notifications(sqs, topology, report.handler)
    assert (second.deleted, second.dead_letters) == (1, [])
    assert report_folders(s3, topology.bucket) == folders
    # the bucket is versioned: one version of each report file means it was written once
    versions = s3.list_object_versions(Bucket=topology.bucket, Prefix=folders[0])["Versions"]
    assert sorted(v["Key"].rsplit("/", 1)[1] for v in versions) == sorted(REPORT_FILES)


def test_a_poisoned_message_ends_in_the_dlq_after_the_configured_receives(wired: tuple[Any, Any, Topology]) -> None:
    s3, sqs, topology = wired
    put_inputs(s3, topology.bucket)
    poison = sqs.send_message(QueueUrl=topology.report.url, MessageBody="{this is not an S3 notification")
    result = deliver_notifications(sqs, topology, report.handler)
    # two receives (maxReceiveCount=2), both failed; the good messages were acknowledged at once
    assert result.failed == 2
    assert to_document(result.dead_letters) == [
        {"message_id": poison["MessageId"], "receive_count": 2, "body": "{this is not an S3 notification"}
    ]
    assert result.left_on_queue == 0
    assert len(report_folders(s3, topology.bucket)) == 1


def test_a_record_nested_100000_deep_fails_alone_and_the_batch_makes_its_report(
    wired: tuple[Any, Any, Topology],
) -> None:
    s3, sqs, topology = wired
    put_inputs(s3, topology.bucket)  # its notifications are on the queue
    deep = "[" * 100_000 + "]" * 100_000  # 200,000 characters: within SQS's 256 KiB
    poison = sqs.send_message(QueueUrl=topology.report.url, MessageBody=deep)
    result = deliver_notifications(sqs, topology, report.handler)
    assert result.failed == 2  # the poison's two receives; nothing else failed
    assert [d.message_id for d in result.dead_letters] == [poison["MessageId"]]
    assert len(report_folders(s3, topology.bucket)) == 1  # the good records in its batches made the report
