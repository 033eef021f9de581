"""The embedded default behind ``dataquest run``: the whole pipeline in one process, with nothing but the package.

1. an S3/SQS emulator: moto's ``ThreadedMotoServer`` on a free 127.0.0.1 port (started only once the settings
   are known good: a missing ``DQ_CONTACT`` fails before);
2. the topology Terraform creates (:func:`create_topology`): a versioned bucket, the report queue with a
   dead-letter queue (redrive ``maxReceiveCount``), and the bucket notification, ObjectCreated on
   ``population/nation_population.json`` and ``bls/pr/pr.data.0.Current`` to the queue;
3. the ingest job (:func:`dataquest.ingest.run_ingest`, what the ingest handler runs);
4. :func:`deliver_notifications`: the queued messages delivered to the report handler by
   :mod:`dataquest.relay`, the event source mapping's one implementation (also the docker-compose relay): only
   the records that succeeded are deleted; the failed ones become visible again (at once here, after the
   visibility timeout in AWS) and are redelivered until the redrive policy moves them to the dead-letter queue,
   where they are reported;
5. the report files of ``reports/latest/`` copied to ``--out``.

Every client comes from one :class:`~dataquest.app.App` over the emulator's S3 and SQS clients, which the
report handler (the Lambda one, unchanged) is handed as ``app=``; the App closes the HTTP client it opened
when the run ends. The queue's visibility timeout is Terraform's: 6x the report function's timeout
(:data:`~dataquest.config.REPORT_QUEUE_VISIBILITY_TIMEOUT`).
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from dataquest import ingest, log, relay, storage
from dataquest.app import App
from dataquest.config import (
    LATEST_REPORT_PREFIX,
    REPORT_FILES,
    REPORT_FUNCTION_TIMEOUT,
    REPORT_QUEUE_VISIBILITY_TIMEOUT,
    REPORTS_PREFIX,
    Settings,
)
from dataquest.documents import ItemError
from dataquest.errors import ConfigurationError, IngestFailedError, StorageError
from dataquest.events import REPORT_INPUT_KEYS
from dataquest.handlers import report
from dataquest.ingest import IngestSummary
from dataquest.relay import MAX_BATCH, Drained, Handler

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = log.get(__name__)

DEFAULT_BUCKET = "dataquest-embedded"
QUEUE_NAME = "dataquest-report"
DLQ_NAME = "dataquest-report-dlq"
REGION = "us-east-1"


@dataclass(frozen=True)
class Topology:
    """The resources the notification chain is made of."""

    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class LambdaContext:
    """The part of Lambda's context object the handlers read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 1024
    timeout_ms: int = REPORT_FUNCTION_TIMEOUT * 1000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@dataclass
class RunResult:
    """The summary ``dataquest run`` prints, through :func:`documents.to_document`."""

    ingest: IngestSummary
    reports_produced: int = field(init=False)
    reports: list[str]
    out: str
    files: list[str]
    relay: Drained
    errors: list[ItemError]

    def __post_init__(self) -> None:
        self.reports_produced = len(self.reports)

    @property
    def ok(self) -> bool:
        return not self.errors


def emulator_clients(endpoint: str) -> tuple[S3Client, SQSClient]:
    """S3 and SQS clients for the emulator, with its fixed test credentials: whatever the user's AWS setup,
    nothing this run does leaves the process."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's, not a secret
        region_name=REGION,
    )
    return session.client("s3", endpoint_url=endpoint), session.client("sqs", endpoint_url=endpoint)


def create_topology(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    s3: S3Client,
    sqs: SQSClient,
    bucket: str,
    *,
    queue: str = QUEUE_NAME,
    dlq: str = DLQ_NAME,
    max_receive_count: int = 5,
    visibility_timeout: int = REPORT_QUEUE_VISIBILITY_TIMEOUT,
) -> Topology:
    """Create the bucket (versioned), the queue and its DLQ, and the notification, as Terraform does."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    dlq_url = sqs.create_queue(QueueName=dlq, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    queue_url = sqs.create_queue(
        QueueName=queue, Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"report-input-{i}",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    # An exact key, as the Terraform queue module writes it: the key as prefix, its name as suffix.
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": key},
                                {"Name": "suffix", "Value": key.rsplit("/", 1)[-1]},
                            ]
                        }
                    },
                }
                for i, key in enumerate(REPORT_INPUT_KEYS)
            ]
        },
    )
    return Topology(bucket, queue_url, queue_arn, dlq_url, dlq_arn)


def deliver_notifications(
    sqs: SQSClient, topology: Topology, handler: Handler, *, batch_size: int = MAX_BATCH, max_batches: int = 1000
) -> Drained:
    """Deliver the queue to ``handler`` as the event source mapping does, until the queue is empty.

    Failed records are made visible again at once, not after the visibility timeout, so that the redrive policy
    moves a record that keeps failing to the dead-letter queue within the run; the result names what is there.
    ``max_batches`` bounds the loop should a queue have no redrive policy.
    """
    stats = relay.run(
        sqs,
        topology.queue_url,
        topology.queue_arn,
        relay.handler_invoker(handler, lambda: LambdaContext("dataquest-report")),
        wait_seconds=0,
        batch_size=batch_size,
        once=True,
        max_batches=max_batches,
        retry_now=True,
    )
    return relay.drained(sqs, topology.queue_url, topology.dlq_url, stats)


def run(settings: Settings, out: Path, *, max_receive_count: int = 5) -> RunResult:
    """The main job on the embedded emulator; the report files end in ``out``."""
    settings.require_contact()  # before anything starts: BLS answers 403 without it
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - an optional extra: only `run` needs it
    except ImportError as exc:
        raise ConfigurationError(
            "dataquest run needs moto's server (the 'embedded' extra): pip install 'dataquest[embedded]'"
        ) from exc

    bucket = settings.bucket or DEFAULT_BUCKET
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    access_log = logging.getLogger("werkzeug")  # the emulator's per-request lines are noise here
    access_level = access_log.level
    access_log.setLevel(logging.WARNING)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3, sqs = emulator_clients(endpoint)
        local = settings.with_overrides(bucket=bucket, aws_endpoint_url=endpoint, aws_region=REGION)
        topology = create_topology(s3, sqs, bucket, max_receive_count=max_receive_count)
        with App(local, s3=s3, sqs=sqs, metrics_stream=sys.stderr) as app:
            return _pipeline(app, topology, out)
    finally:
        server.stop()
        access_log.setLevel(access_level)


def _pipeline(app: App, topology: Topology, out: Path) -> RunResult:
    """The ingest handler, the notifications delivered to the report handler, the report files fetched."""
    errors: list[ItemError] = []
    started = time.monotonic()
    try:
        summary = ingest.run_ingest(app)
    except IngestFailedError as exc:
        summary = exc.summary
        errors += summary.errors
    log.event(logger, "ingest done", seconds=round(time.monotonic() - started, 3))
    relayed = deliver_notifications(app.sqs, topology, partial(report.handler, app=app))
    errors += [
        ItemError(key=f"sqs:{DLQ_NAME}/{d.message_id}", error="notification dead-lettered: the report failed")
        for d in relayed.dead_letters
    ]
    reports = _report_folders(app.s3, topology.bucket)
    files = _download_latest(app.s3, topology.bucket, out)
    if not files and not errors:
        errors.append(ItemError(key=LATEST_REPORT_PREFIX, error="no report was produced"))
    return RunResult(ingest=summary, reports=reports, out=str(out), files=files, relay=relayed, errors=errors)


def _report_folders(s3: S3Client, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=REPORTS_PREFIX, Delimiter="/")
    found = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    return [p for p in found if p != LATEST_REPORT_PREFIX]


def _download_latest(s3: S3Client, bucket: str, out: Path) -> list[str]:
    got: list[tuple[str, bytes]] = []
    for name in REPORT_FILES:
        found = storage.get_bytes(s3, bucket, f"{LATEST_REPORT_PREFIX}{name}")
        if found is not None:
            got.append((name, found[0]))
    if not got:
        return []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, body in got:
            (out / name).write_bytes(body)
    except OSError as exc:
        raise StorageError(f"cannot write the report files to {out}: {exc}; choose another --out") from exc
    return [name for name, _ in got]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
