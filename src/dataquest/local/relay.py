"""The event source mapping: SQS batches delivered to a function, one implementation for every place.

In AWS, an SQS event source mapping polls the report queue and invokes the report function with batches of up to
ten records (and the transfer queue, the transfer function, one record at a time, at most ``maximum_concurrency``
invocations at once: :func:`run`'s ``concurrency``); with
``ReportBatchItemFailures`` it deletes the records that succeeded and leaves the ones named in
``batchItemFailures`` on the queue, to come back after the visibility timeout (and, past the redrive policy's
``maxReceiveCount``, to go to the dead-letter queue). LocalStack's free tier and moto cannot run image functions,
so under docker-compose this process plays that part (its command line is :mod:`dataquest.cli.ops`)::

    dataquest relay --queue dataquest-local-report \\
        --function-url http://report:8080/2015-03-31/functions/function/invocations

It long-polls the queue (``--wait-seconds``, 20 by default), hands each batch, as the SQS event Lambda would get,
to an :data:`Invoke`, and deletes exactly the records that succeeded:

- an answer with a ``batchItemFailures`` list: every record not named in it;
- a function error (``X-Amz-Function-Error``, or an ``errorType``/``errorMessage`` document), a non-200
  answer, an unreachable endpoint, or a ``batchItemFailures`` naming a record that is not in the batch: none
  (the whole batch is retried, as the event source mapping does);
- any other answer (``null``, a document without ``batchItemFailures``): every record.

The invokers (:mod:`dataquest.local.invoke`): :func:`http_invoker` posts to a Runtime Interface Emulator endpoint
(docker-compose); :func:`handler_invoker` calls a handler in this process (``dataquest run``).

By default records left on the queue are not made visible again early: they return after the queue's visibility
timeout, as in AWS. :func:`run` can instead make them visible at once (``retry_now``, for a run that must finish
in seconds), stop after ``max_batches``, and report what ended in the dead-letter queue (``dlq_url``). The AWS
endpoint is boto3's own ``AWS_ENDPOINT_URL`` (LocalStack or moto).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.documents import INTERNAL
from dataquest.errors import StorageError
from dataquest.local.deadletters import DeadLetter, dead_letters, queue_depth
from dataquest.local.invoke import Invoke, failed_ids

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = log.get(__name__)

MAX_BATCH = 10


@dataclass
class BatchResult:
    """One received batch: how many records came, which were deleted, which stay on the queue, and why."""

    received: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    reason: str | None = None
    unreachable: bool = False
    receive_counts: dict[str, int] = field(default_factory=dict)  # message id -> ApproximateReceiveCount


@dataclass
class RelayStats:
    """Totals over the batches a relay has delivered (a record delivered twice counts twice): the ``relay
    --json`` document, through :func:`documents.to_document`."""

    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    receive_counts: dict[str, int] = field(default_factory=dict, repr=False, metadata=INTERNAL)

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.received += batch.received
        self.deleted += len(batch.deleted)
        self.failed += len(batch.failed)
        self.receive_counts.update(batch.receive_counts)


@dataclass
class Drained(RelayStats):
    """The totals of a run given the dead-letter queue: also what is there, and the records left on the queue."""

    dead_letters: list[DeadLetter] = field(default_factory=list)
    left_on_queue: int = 0


def sqs_event(messages: Sequence[MessageTypeDef], queue_arn: str) -> dict[str, Any]:
    """The event the SQS event source mapping hands Lambda for ``messages`` (received with all attributes)."""
    region = queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "us-east-1"
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def deliver(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    sqs: SQSClient,
    queue_url: str,
    queue_arn: str,
    messages: Sequence[MessageTypeDef],
    invoke: Invoke,
    *,
    retry_now: bool = False,
) -> BatchResult:
    """Hand one batch to the function and delete exactly the records that succeeded; with ``retry_now``, make
    the failed ones visible again at once instead of after the visibility timeout."""
    ids = [m["MessageId"] for m in messages]
    unreachable = False
    reason: str | None
    try:
        answer = invoke(sqs_event(messages, queue_arn))
    except httpx.HTTPError as exc:
        unreachable = True
        failed, reason = set(ids), f"the function endpoint could not be reached: {type(exc).__name__}: {exc}"
    else:
        failed, reason = failed_ids(ids, answer)
    done = [m for m in messages if m["MessageId"] not in failed]
    result = BatchResult(
        received=len(messages),
        failed=[i for i in ids if i in failed],
        reason=reason,
        unreachable=unreachable,
        receive_counts={m["MessageId"]: _receive_count(m) for m in messages},
    )
    if done:
        result.deleted = _delete(sqs, queue_url, done)
    retry = [m for m in messages if m["MessageId"] in failed]
    if retry and retry_now:
        _make_visible(sqs, queue_url, retry)
    log.event(
        logger,
        "relay batch",
        received=result.received,
        deleted=len(result.deleted),
        failed=len(result.failed),
        reason=reason,
    )
    return result


def _delete(sqs: SQSClient, queue_url: str, done: Sequence[MessageTypeDef]) -> list[str]:
    """Delete ``done`` from the queue; the ids of those deleted."""
    response = sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
    )
    not_deleted = {int(f["Id"]) for f in response.get("Failed", [])}
    if not_deleted:
        log.event(logger, "relay delete failed", level=logging.WARNING, queue_url=queue_url, count=len(not_deleted))
    return [m["MessageId"] for n, m in enumerate(done) if n not in not_deleted]


def _make_visible(sqs: SQSClient, queue_url: str, retry: Sequence[MessageTypeDef]) -> None:
    """Make ``retry`` visible again at once, instead of after the visibility timeout."""
    response = sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for n, m in enumerate(retry)
        ],
    )
    if response.get("Failed"):
        log.event(
            logger, "relay retry failed", level=logging.WARNING, queue_url=queue_url, count=len(response["Failed"])
        )


def receive(sqs: SQSClient, queue_url: str, *, wait_seconds: int, batch_size: int) -> list[MessageTypeDef]:
    try:
        return sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max(1, min(batch_size, MAX_BATCH)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"receiving from {queue_url} failed: {exc}; is the emulator up?") from exc


def resolve_queue(sqs: SQSClient, queue: str, *, timeout: float = 0.0, poll: float = 1.0) -> tuple[str, str]:
    """``(queue_url, queue_arn)`` for a queue name or URL, waiting up to ``timeout`` seconds for it to exist."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            url = queue if queue.startswith(("http://", "https://")) else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"the queue {queue!r} cannot be found ({exc}): create it first (make local-up applies "
                    "terraform/envs/local) and check AWS_ENDPOINT_URL"
                ) from exc
            time.sleep(poll)
        else:
            return url, arn


def _receive_count(message: MessageTypeDef) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))


def run(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    sqs: SQSClient,
    queue_url: str,
    queue_arn: str,
    invoke: Invoke,
    *,
    wait_seconds: int = 20,
    batch_size: int = MAX_BATCH,
    stop: threading.Event | None = None,
    once: bool = False,
    max_batches: int | None = None,
    retry_now: bool = False,
    dlq_url: str | None = None,
    concurrency: int = 1,
) -> RelayStats:
    """Relay until ``stop`` is set (or, with ``once``, until a receive comes back empty while no batch is being
    delivered, or ``max_batches``), with ``concurrency`` pollers at once: the event source mapping's maximum
    concurrency, each poller receiving and delivering its own batches (``invoke`` is called from their threads).

    ``retry_now`` makes failed records visible again at once; with ``dlq_url``, the result names the messages in
    that dead-letter queue and counts the records left on the queue.
    """
    receive_one = partial(receive, sqs, queue_url, wait_seconds=wait_seconds, batch_size=batch_size)
    deliver_one = partial(deliver, sqs, queue_url, queue_arn, invoke=invoke, retry_now=retry_now)
    pollers = _Pollers(
        receive_one, deliver_one, stop or threading.Event(), once=once, max_batches=max_batches, count=concurrency
    )
    pollers.backoff = min(5.0, max(1.0, wait_seconds / 4))
    threads = [threading.Thread(target=pollers.poll, name=f"relay-{n}", daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if pollers.error is not None:
        raise pollers.error
    return pollers.stats if dlq_url is None else drained(sqs, queue_url, dlq_url, pollers.stats)


@dataclass
class _Pollers:
    """The pollers of one :func:`run`: what they share (the totals, the batches in delivery, the first error)."""

    receive: Callable[[], list[MessageTypeDef]]
    deliver: Callable[[list[MessageTypeDef]], BatchResult]
    stop: threading.Event
    once: bool
    max_batches: int | None
    backoff: float = 1.0
    stats: RelayStats = field(default_factory=RelayStats)
    count: int = 1
    delivering: int = 0
    received_batches: int = 0
    idle: dict[str, int] = field(default_factory=dict)  # poller -> received_batches at its last idle receive
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self) -> None:
        """Receive and deliver until stopped; with ``once``, until every poller is idle (:meth:`_count`)."""
        try:
            while not (self.stop.is_set() or self.done.is_set()):
                with self.lock:
                    if self.max_batches is not None and self.stats.batches + self.delivering >= self.max_batches:
                        return
                messages = self.receive()
                with self.lock:
                    self._count(messages)
                if messages:
                    self._deliver(messages)
        except BaseException as exc:  # noqa: BLE001 - handed to run(), which raises it once every poller stopped
            with self.lock:
                self.error = self.error or exc
            self.done.set()

    def _count(self, messages: list[MessageTypeDef]) -> None:
        """A receive's result (under the lock). Every poller idle (an empty receive, none in delivery) as of the
        same last batch: nothing can send any more, since each poller receives again after its own delivery, and a
        batch received but not yet counted makes every idle mark stale when it is."""
        if messages:
            self.received_batches += 1
            self.delivering += 1
        elif self.once and self.delivering == 0:
            self.idle[threading.current_thread().name] = self.received_batches
            marks = set(self.idle.values())
            if len(self.idle) == self.count and marks == {self.received_batches}:
                self.done.set()

    def _deliver(self, messages: list[MessageTypeDef]) -> None:
        try:
            batch = self.deliver(messages)
        finally:
            with self.lock:
                self.delivering -= 1
        with self.lock:
            self.stats.add(batch)
        if batch.unreachable:
            self.stop.wait(self.backoff)  # the function is down: do not spin


def drained(sqs: SQSClient, queue_url: str, dlq_url: str, stats: RelayStats) -> Drained:
    """``stats`` with the messages in the dead-letter queue and the count of records left on the queue."""
    return Drained(
        **{f.name: getattr(stats, f.name) for f in fields(RelayStats)},
        dead_letters=dead_letters(sqs, dlq_url, stats.receive_counts),
        left_on_queue=queue_depth(sqs, queue_url),
    )
