"""The transfer handler under the real Lambda client (``python -m awslambdaric``) against the Runtime API stand-in,
S3 and SQS on a moto server, files from the BLS stand-in: a batch message mirrored, a redelivery skipped, a
malformed record failed alone."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from dataquest.bls.listing import SourceFile
from dataquest.bls.transfer.messages import VERSION, JobFile, TransferMessage
from tests.integration.test_lambda_handlers import lambda_env
from tests.integration.test_run_embedded import pipeline_env
from tests.support.aws import client
from tests.support.bls_site import BlsSite
from tests.support.runtime_api import LambdaProcess, RuntimeApi

pytestmark = pytest.mark.integration

TRANSFER = "dataquest.handlers.transfer.handler"
FILES = {"pr.class": b"class\r\n", "pr.series": b"s" * 70_000}


@pytest.fixture
def site(site: BlsSite) -> BlsSite:
    """The stand-in (tests/conftest.py) with ``FILES`` in pr/."""
    for name, data in FILES.items():
        site.put(f"pr/{name}", data, modified=datetime(2025, 9, 4, 7, 30))
    return site


def test_transfer_handler_under_the_lambda_runtime(moto_endpoint: str, site: BlsSite, tmp_path: Path) -> None:
    bucket = f"dq-{uuid.uuid4().hex[:10]}"
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=f"{bucket}-transfers")["QueueUrl"]
    files = tuple(
        JobFile.of(SourceFile(n, site.url(f"pr/{n}"), len(d), datetime(2025, 9, 4, 7, 30))) for n, d in FILES.items()
    )
    body = TransferMessage(VERSION, "run-1", "pr", files).body()
    event = {"Records": [{"messageId": "m-1", "body": body}, {"messageId": "m-bad", "body": json.dumps({"v": 1})}]}
    env = {**lambda_env(moto_endpoint, bucket), **pipeline_env(site), "DQ_TRANSFER_QUEUE_URL": queue_url}

    with RuntimeApi() as api, LambdaProcess(api, TRANSFER, env=env, stdout=tmp_path / "transfer.log"):
        first = api.invoke(event, timeout=120)
        second = api.invoke(event, timeout=120)  # a redelivery

    assert first.payload == second.payload == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    for name, data in FILES.items():
        assert s3.get_object(Bucket=bucket, Key=f"bls/pr/{name}")["Body"].read() == data
    assert site.file_gets() == len(FILES)  # the redelivery downloaded nothing
    outcome = s3.get_object(Bucket=bucket, Key="_logs/ingest/run-1/transfers/m-1.jsonl")["Body"].read().decode()
    assert [json.loads(line)["event"] for line in outcome.splitlines()] == ["skip", "skip"]
