"""The fan-out's world for tests: moto's S3 and SQS, the BLS stand-in, an App wired to them, and the transfer
handler driven through the relay as the SQS event source mapping would."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from moto import mock_aws

from dataquest.app import App
from dataquest.bls.listing import SourceFile
from dataquest.bls.transfer.messages import VERSION, JobFile, TransferMessage, outcome_key
from dataquest.config import Settings
from dataquest.handlers import transfer as transfer_handler
from dataquest.local import relay
from dataquest.local.invoke import LambdaContext, handler_invoker
from tests.support.bls_site import BlsSite

BUCKET = "fanout-bucket"
MODIFIED = datetime(2025, 9, 4, 7, 30)


def lambda_context(left_ms: int = 15 * 60_000) -> LambdaContext:
    """The transfer function's Lambda context with ``left_ms`` left to run (0: every part boundary is near the
    limit)."""
    return LambdaContext("dataquest-transfer", aws_request_id="req-1", timeout_ms=left_ms)


@dataclass
class Fanout:
    site: BlsSite
    app: App
    s3: Any
    sqs: Any
    queue_url: str
    queue_arn: str

    def message(self, *paths: str, survey: str = "pr", run_id: str = "run-1") -> TransferMessage:
        files = []
        for path in paths:
            f = self.site.files[self.site.root + f"{survey}/{path}"]
            files.append(JobFile.of(SourceFile(path, self.site.url(f"{survey}/{path}"), f.size, f.modified)))
        return TransferMessage(VERSION, run_id, survey, tuple(files))

    def app_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The transfer handler with this test's App, as Lambda would call it."""
        return transfer_handler.handler(event, context, app=self.app)

    def send(self, message: TransferMessage) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message.body())

    def drain(self, context: LambdaContext, *, limit: int = 20) -> list[dict[str, Any]]:
        """Deliver the queue to the handler, one record per invocation (as a tight time limit would), until empty."""
        answers = []
        for _ in range(limit):
            messages = relay.receive(self.sqs, self.queue_url, wait_seconds=0, batch_size=1)
            if not messages:
                return answers

            def function(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
                answers.append(transfer_handler.handler(event, ctx, app=self.app))
                return answers[-1]

            invoke = handler_invoker(function, lambda: context)
            relay.deliver(self.sqs, self.queue_url, self.queue_arn, messages, invoke, retry_now=True)
        raise AssertionError(f"the queue was not drained in {limit} invocations")

    def metrics(self) -> list[dict[str, Any]]:
        """The Embedded Metric Format lines the handler wrote, one per invocation."""
        stream = self.app.metrics_stream
        assert isinstance(stream, io.StringIO)
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    def body(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def tags(self, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}

    def outcomes(self, run_id: str = "run-1") -> list[dict[str, Any]]:
        prefix = outcome_key(run_id, "").removesuffix(".jsonl")
        found = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        lines = [line for o in found for line in self.body(o["Key"]).decode().splitlines()]
        return sorted((json.loads(line) for line in lines), key=lambda d: (d["path"], d.get("offset") or 1 << 62))


@contextmanager
def fanout_world() -> Iterator[Fanout]:
    """moto's S3 (the bucket) and SQS (the transfer queue), the BLS stand-in, and an App wired to them."""
    with mock_aws(), BlsSite() as site:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="transfers")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        settings = Settings(
            bucket=BUCKET,
            contact="ops@example.org",
            bls_base_url=site.base_url,
            request_interval=0,
            transfer_queue_url=url,
        )
        with App(settings, s3=s3, sqs=sqs, metrics_stream=io.StringIO()) as app:
            yield Fanout(site, app, s3, sqs, url, arn)
