"""``dataquest run``: the whole pipeline in one process, on an embedded emulator or on an existing endpoint.

1. an S3/SQS emulator: moto's ``ThreadedMotoServer`` on a free 127.0.0.1 port (started only once the settings
   are known good: a missing ``DQ_CONTACT`` fails before); or, when ``AWS_ENDPOINT_URL`` and ``DQ_BUCKET`` are
   both set (``--endpoint-url``, ``--bucket``), that endpoint and bucket, whose objects stay after the run;
2. the topology Terraform creates (:mod:`dataquest.local.topology`): the bucket, the report queue and the transfer
   queue with their dead-letter queues, and the bucket notification of the report inputs (on an existing
   endpoint: the bucket must exist, what else is missing is created);
3. the ingest job (:func:`dataquest.ingest.run_ingest`, what the ingest handler runs) as the planner:
   ``DQ_TRANSFER_QUEUE_URL`` points it at the transfer queue, so it plans, deletes and sends the transfers;
4. :func:`deliver_transfers`: the transfer queue delivered to the transfer handler until it is empty
   (continuations included), at the event source mapping's maximum concurrency (``DQ_TRANSFER_STREAMS``, 2:
   two transfers at once, on two threads), then :func:`deliver_notifications`: the report notifications to the report
   handler. Both by :mod:`dataquest.local.relay`, the event source mapping's one implementation (also the
   docker-compose relay): only the records that succeeded are deleted; the failed ones become visible again (at
   once here, after the visibility timeout in AWS) and are redelivered until the redrive policy moves them to
   the dead-letter queue, where they are reported;
5. the report files of ``reports/latest/`` copied to ``--out``.

Every client comes from one :class:`~dataquest.app.App` over the emulator's S3 and SQS clients, which the
handlers (the Lambda ones, unchanged) are handed as ``app=``; the App closes the HTTP client it opened when the
run ends. The queues' visibility timeouts are Terraform's: 6x their function's timeout (config's
``REPORT_QUEUE_VISIBILITY_TIMEOUT``, ``TRANSFER_QUEUE_VISIBILITY_TIMEOUT``), and each invocation's context
counts its remaining time down from the function's timeout.
"""

from __future__ import annotations

import importlib
import logging
import socket
import sys
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from dataquest import ingest, log, storage
from dataquest.app import App
from dataquest.config import (
    DEFAULT_TRANSFER_STREAMS,
    LATEST_REPORT_PREFIX,
    REPORT_FILES,
    REPORT_FUNCTION_TIMEOUT,
    REPORTS_PREFIX,
    TRANSFER_BATCH_SIZE,
    TRANSFER_FUNCTION_TIMEOUT,
    Settings,
)
from dataquest.documents import ItemError
from dataquest.errors import ConfigurationError, StorageError
from dataquest.handlers import report
from dataquest.ingest import IngestFailedError, IngestSummary
from dataquest.local import relay
from dataquest.local.invoke import REGION, Handler, LambdaContext, handler_invoker
from dataquest.local.lake import LakeRun, build_lake
from dataquest.local.relay import MAX_BATCH, Drained
from dataquest.local.topology import (
    REPORT_DLQ_NAME,
    REPORT_QUEUE_NAME,
    TRANSFER_DLQ_NAME,
    Queue,
    Topology,
    create_topology,
    existing_topology,
    transfer_queue,
)
from dataquest.ops import status
from dataquest.ops.outcomes import Outcomes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = ["REPORT_DLQ_NAME", "REPORT_QUEUE_NAME", "LambdaContext", "RunResult", "Topology", "create_topology", "run"]

logger = log.get(__name__)

DEFAULT_BUCKET = "dataquest-embedded"
TRANSFER_HANDLER_MODULE = "dataquest.handlers.transfer"  # the transfer function's CMD: <module>.handler


@dataclass
class RunResult:
    """The summary ``dataquest run`` prints, through :func:`documents.to_document`."""

    ingest: IngestSummary
    transfers: Drained
    transferred: Outcomes
    reports_produced: int = field(init=False)
    reports: list[str]
    out: str
    files: list[str]
    relay: Drained
    errors: list[ItemError]
    lake: LakeRun | None = None

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


def deliver_notifications(
    sqs: SQSClient, topology: Topology, handler: Handler, *, batch_size: int = MAX_BATCH, max_batches: int = 1000
) -> Drained:
    """Deliver the report queue to ``handler`` as the event source mapping does, until the queue is empty.

    Failed records are made visible again at once, not after the visibility timeout, so that the redrive policy
    moves a record that keeps failing to the dead-letter queue within the run; the result names what is there.
    ``max_batches`` bounds the loop should a queue have no redrive policy.
    """
    return drain_queue(sqs, topology.report, handler, REPORT_QUEUE_NAME, batch_size=batch_size, max_batches=max_batches)


def deliver_transfers(
    sqs: SQSClient,
    queue: Queue,
    handler: Handler,
    *,
    max_batches: int = 1_000_000,
    concurrency: int = DEFAULT_TRANSFER_STREAMS,
) -> Drained:
    """Deliver the transfer queue to ``handler`` as Terraform's event source does: one message a batch, at most
    ``concurrency`` at once (its ``maximum_concurrency``, ``DQ_TRANSFER_STREAMS``), until it is empty: the
    continuations a transfer sends back while it runs are received and delivered too."""
    return drain_queue(
        sqs,
        queue,
        handler,
        "dataquest-transfer",
        batch_size=TRANSFER_BATCH_SIZE,
        max_batches=max_batches,
        timeout_ms=TRANSFER_FUNCTION_TIMEOUT * 1000,
        concurrency=concurrency,
    )


def drain_queue(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    sqs: SQSClient,
    queue: Queue,
    handler: Handler,
    function_name: str,
    *,
    batch_size: int,
    max_batches: int,
    timeout_ms: int = REPORT_FUNCTION_TIMEOUT * 1000,
    concurrency: int = 1,
) -> Drained:
    """Relay ``queue`` to ``handler`` until a receive comes back empty while nothing is being delivered, with
    ``concurrency`` invocations at most at once; each has its own context, whose remaining time counts down from
    ``timeout_ms``."""
    stats = relay.run(
        sqs,
        queue.url,
        queue.arn,
        handler_invoker(handler, lambda: LambdaContext(function_name, timeout_ms=timeout_ms)),
        wait_seconds=0,
        batch_size=batch_size,
        once=True,
        max_batches=max_batches,
        retry_now=True,
        concurrency=concurrency,
    )
    return relay.drained(sqs, queue.url, queue.dlq_url, stats)


def run(settings: Settings, out: Path, *, max_receive_count: int = 5) -> RunResult:
    """The main job, on an existing endpoint and bucket when both are set, else on the embedded emulator; the
    report files end in ``out``."""
    settings.require_contact()  # before anything starts: BLS answers 403 without it
    if settings.aws_endpoint_url and settings.bucket:
        return _run_on_endpoint(settings, settings.bucket, out, max_receive_count)
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
        topology = replace(
            create_topology(s3, sqs, bucket, max_receive_count=max_receive_count),
            transfer=transfer_queue(sqs, max_receive_count=max_receive_count),
        )
        local = settings.with_overrides(bucket=bucket, aws_endpoint_url=endpoint, aws_region=REGION)
        return _run_with(local, topology, out, s3=s3, sqs=sqs)
    finally:
        server.stop()
        access_log.setLevel(access_level)


def _run_on_endpoint(settings: Settings, bucket: str, out: Path, max_receive_count: int) -> RunResult:
    """The main job on the endpoint and bucket of ``settings``: what it writes stays there after the run."""
    with App(settings) as boot:
        topology = existing_topology(boot.s3, boot.sqs, bucket, max_receive_count=max_receive_count)
        log.event(logger, "run on an existing endpoint", endpoint=settings.aws_endpoint_url, bucket=bucket)
        return _run_with(settings, topology, out, s3=boot.s3, sqs=boot.sqs)


def _run_with(settings: Settings, topology: Topology, out: Path, *, s3: S3Client, sqs: SQSClient) -> RunResult:
    """The pipeline with the planner pointed at the topology's transfer queue."""
    queue_url = topology.transfer.url if topology.transfer is not None else None
    planner = settings.with_overrides(transfer_queue_url=queue_url)
    with App(planner, s3=s3, sqs=sqs, metrics_stream=sys.stderr) as app:
        return _pipeline(app, topology, out)


def _pipeline(app: App, topology: Topology, out: Path) -> RunResult:
    """The ingest handler (the planner), the transfers, the notifications delivered to the report handler, the
    report files fetched."""
    errors: list[ItemError] = []
    started = time.monotonic()
    try:
        summary = ingest.run_ingest(app)
    except IngestFailedError as exc:
        summary = exc.summary
        errors += summary.errors
    log.event(logger, "ingest done", seconds=round(time.monotonic() - started, 3))
    transfers, outcomes = _transfers(app, topology, summary)
    errors += [
        ItemError(key=f"sqs:{TRANSFER_DLQ_NAME}/{d.message_id}", error="transfer dead-lettered: it kept failing")
        for d in transfers.dead_letters
    ]
    relayed = deliver_notifications(app.sqs, topology, partial(report.handler, app=app))
    errors += [
        ItemError(key=f"sqs:{REPORT_DLQ_NAME}/{d.message_id}", error="notification dead-lettered: the report failed")
        for d in relayed.dead_letters
    ]
    reports = _report_folders(app.s3, topology.bucket)
    files = _download_latest(app.s3, topology.bucket, out)
    if not files and not errors:
        errors.append(ItemError(key=LATEST_REPORT_PREFIX, error="no report was produced"))
    lake = build_lake(app.s3, topology.bucket, summary.surveys)
    errors += lake.errors
    return RunResult(
        ingest=summary,
        transfers=transfers,
        transferred=outcomes,
        reports=reports,
        out=str(out),
        files=files,
        relay=relayed,
        errors=errors,
        lake=lake,
    )


def _transfers(app: App, topology: Topology, summary: IngestSummary) -> tuple[Drained, Outcomes]:
    """The transfer queue delivered to the transfer handler, and the outcomes its transfers logged."""
    if topology.transfer is None:
        return Drained(), Outcomes()
    started = time.monotonic()

    def handle(event: dict[str, Any], context: Any) -> Any:
        transfer = importlib.import_module(TRANSFER_HANDLER_MODULE)  # once there is something to transfer
        return transfer.handler(event, context, app=app)

    drained = deliver_transfers(app.sqs, topology.transfer, handle, concurrency=app.settings.transfer_streams)
    run_id = status.run_id_of(summary.trail_key) if summary.trail_key else None
    outcomes = status.transfer_outcomes(app.s3, topology.bucket, run_id) if run_id else Outcomes()
    log.event(logger, "transfers done", seconds=round(time.monotonic() - started, 3), received=drained.received)
    return drained, outcomes


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
