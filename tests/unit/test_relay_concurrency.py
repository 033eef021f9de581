"""The event source mapping's maximum concurrency (dataquest.local.relay ``concurrency``): several pollers, each
delivering its own batches, against moto's SQS; and the embedded run's transfer delivery at the mapping's 2."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dataquest.config import DEFAULT_TRANSFER_STREAMS
from dataquest.errors import StorageError
from dataquest.local import invoke as invokers
from dataquest.local import relay
from dataquest.local.embedded import deliver_transfers
from dataquest.local.topology import transfer_queue


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


class InFlight:
    """A handler that counts the invocations running at once; each waits (up to 30 s) until ``meet`` are running,
    so that handlers delivered one at a time fail (their records stay on the queue) instead of passing slowly.
    (With 10 s the barrier broke once, in a run beside an image build; no cause was found in the relay. A delivery
    one at a time still fails, only later.)"""

    def __init__(self, meet: int) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.bodies: list[str] = []
        self.barrier = threading.Barrier(meet, timeout=30)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.bodies += [r["body"] for r in event["Records"]]
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.now -= 1
        return {"batchItemFailures": []}


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_two_pollers_deliver_two_batches_at_once(sqs: Any) -> None:
    url, arn = _queue(sqs, "transfers")
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    handler = InFlight(meet=2)
    stats = relay.run(
        sqs, url, arn, invokers.handler_invoker(handler), wait_seconds=0, batch_size=1, once=True, concurrency=2
    )
    assert handler.peak == 2
    assert sorted(handler.bodies) == ["m0", "m1", "m2", "m3"]
    assert (stats.batches, stats.received, stats.deleted, stats.failed) == (4, 4, 4, 0)
    assert relay.queue_depth(sqs, url) == 0


def test_once_waits_for_a_batch_in_delivery_that_sends_more(sqs: Any) -> None:
    """A poller that finds the queue empty while another delivers does not end the run: the batch in delivery
    may send a message (a transfer's continuation), which is delivered too."""
    url, arn = _queue(sqs, "continuations")
    sqs.send_message(QueueUrl=url, MessageBody="first")
    seen: list[str] = []
    sent = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = event["Records"][0]["body"]
        seen.append(body)
        if body == "first":
            threading.Event().wait(0.5)  # the other poller meanwhile receives nothing
            sqs.send_message(QueueUrl=url, MessageBody="continuation")
            sent.set()
        return {"batchItemFailures": []}

    stats = relay.run(
        sqs, url, arn, invokers.handler_invoker(handler), wait_seconds=0, batch_size=1, once=True, concurrency=2
    )
    assert sent.is_set()
    assert seen == ["first", "continuation"]
    assert stats.deleted == 2
    assert relay.queue_depth(sqs, url) == 0


def test_a_poller_that_fails_to_receive_fails_the_run(sqs: Any) -> None:
    url, arn = _queue(sqs, "gone")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(StorageError, match=r"receiving from .*gone failed"):
        relay.run(sqs, url, arn, invokers.handler_invoker(InFlight(meet=1)), wait_seconds=0, once=True, concurrency=2)


def test_the_embedded_run_delivers_transfers_at_the_mappings_concurrency(sqs: Any) -> None:
    """``dataquest run`` hands the transfer queue to the transfer handler as Terraform's mapping does: one message
    a batch, two at once (DQ_TRANSFER_STREAMS' default)."""
    assert DEFAULT_TRANSFER_STREAMS == 2
    queue = transfer_queue(sqs)
    for n in range(6):
        sqs.send_message(QueueUrl=queue.url, MessageBody=f"t{n}")
    handler = InFlight(meet=2)
    drained = deliver_transfers(sqs, queue, handler)
    assert handler.peak == 2
    assert sorted(handler.bodies) == [f"t{n}" for n in range(6)]
    assert (drained.batches, drained.deleted, drained.failed, drained.left_on_queue) == (6, 6, 0, 0)
    assert drained.dead_letters == []


def test_once_waits_for_a_batch_another_poller_received_but_has_not_yet_counted() -> None:
    """A poller whose receive comes back empty while another's receive holds a batch (invisible on the queue, not
    yet in delivery) must not end the run: that batch may send a continuation, which must be delivered too."""
    first_empty = threading.Event()
    queue: list[str] = []
    calls: list[str] = []
    lock = threading.Lock()

    def receive() -> list[Any]:
        with lock:
            calls.append(threading.current_thread().name)
            n = len(calls)
        if n == 1:  # the first receive holds the batch until another receive has come back empty
            assert first_empty.wait(10)
            return [{"MessageId": "m-1", "Body": "first"}]
        with lock:
            got = [queue.pop(0)] if queue else []
        if n == 2:
            first_empty.set()
        return [{"MessageId": f"m-{n}", "Body": b} for b in got]

    delivered: list[str] = []

    def deliver(messages: list[Any]) -> relay.BatchResult:
        for m in messages:
            delivered.append(m["Body"])
            if m["Body"] == "first":  # a transfer's continuation, sent while it runs
                with lock:
                    queue.append("continuation")
        return relay.BatchResult(received=len(messages), deleted=[m["MessageId"] for m in messages])

    pollers = relay._Pollers(receive, deliver, threading.Event(), once=True, max_batches=None, count=2)
    threads = [threading.Thread(target=pollers.poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert delivered == ["first", "continuation"]
    assert pollers.error is None
