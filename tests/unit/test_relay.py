"""The event source mapping (dataquest.local.relay) against moto's SQS: a fake RIE endpoint over HTTP (the
docker-compose relay), and handlers in this process with immediate retries and a dead-letter queue (what
``dataquest run`` uses)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from dataquest import cli
from dataquest.documents import to_document
from dataquest.errors import StorageError
from dataquest.local import invoke as invokers
from dataquest.local import relay

FUNCTION_URL = "http://report:8080" + invokers.INVOKE_PATH


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue(sqs: Any) -> tuple[str, str]:
    # A visibility timeout long enough that a record left on the queue is not received again within a test.
    url = sqs.create_queue(QueueName="report", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _send(sqs: Any, url: str, bodies: list[str]) -> dict[str, str]:
    """Send the bodies; map each body to its message id."""
    return {b: sqs.send_message(QueueUrl=url, MessageBody=b)["MessageId"] for b in bodies}


def _on_queue(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _endpoint(answer: Callable[[dict[str, Any]], httpx.Response], seen: list[dict[str, Any]]) -> invokers.Invoke:
    """The relay's HTTP invoker over a MockTransport playing the function's RIE endpoint."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url == FUNCTION_URL
        event = json.loads(request.content)
        seen.append(event)
        return answer(event)

    return invokers.http_invoker(httpx.Client(transport=httpx.MockTransport(handle)), FUNCTION_URL)


def test_partial_failures_stay_on_the_queue_and_the_rest_are_deleted(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    ids = _send(sqs, url, ["ok-1", "bad", "ok-2"])
    seen: list[dict[str, Any]] = []

    def answer(event: dict[str, Any]) -> httpx.Response:
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return httpx.Response(200, json={"batchItemFailures": [{"itemIdentifier": i} for i in bad]})

    stats = relay.run(sqs, url, arn, _endpoint(answer, seen), wait_seconds=0, once=True)

    assert to_document(stats) == {"batches": 1, "received": 3, "deleted": 2, "failed": 1}
    records = seen[0]["Records"]
    assert sorted(r["body"] for r in records) == ["bad", "ok-1", "ok-2"]
    assert {r["eventSource"] for r in records} == {"aws:sqs"}
    assert {r["eventSourceARN"] for r in records} == {arn}
    assert all(r["receiptHandle"] and r["attributes"]["ApproximateReceiveCount"] == "1" for r in records)
    # Only the failed record is left, in flight until its visibility timeout ends.
    assert _on_queue(sqs, url) == (0, 1)
    sqs.change_message_visibility(
        QueueUrl=url,
        ReceiptHandle=next(r["receiptHandle"] for r in records if r["body"] == "bad"),
        VisibilityTimeout=0,
    )
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in left] == [(ids["bad"], "bad")]


def test_every_record_is_deleted_when_the_answer_names_no_failure(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    _send(sqs, url, [f"m{i}" for i in range(13)])
    seen: list[dict[str, Any]] = []
    stats = relay.run(
        sqs,
        url,
        arn,
        _endpoint(lambda _e: httpx.Response(200, json={"batchItemFailures": []}), seen),
        wait_seconds=0,
        once=True,
    )
    assert stats.received == 13
    assert stats.deleted == 13
    assert stats.failed == 0
    assert all(len(e["Records"]) <= relay.MAX_BATCH for e in seen)
    assert _on_queue(sqs, url) == (0, 0)


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(
            httpx.Response(
                200,
                headers={"X-Amz-Function-Error": "Unhandled"},
                json={"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []},
            ),
            id="function-error-header",
        ),
        pytest.param(httpx.Response(200, json={"errorMessage": "boom", "errorType": "RuntimeError"}), id="error-doc"),
        pytest.param(httpx.Response(502, text="bad gateway"), id="http-502"),
        # The RIE's answer to a timed-out invocation: 200 and text, which Lambda takes for a failed batch.
        pytest.param(httpx.Response(200, text="Task timed out after 300.00 seconds"), id="rie-timeout-text"),
        pytest.param(
            httpx.Response(200, json={"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}), id="alien-id"
        ),
        pytest.param(httpx.Response(200, json={"batchItemFailures": "all"}), id="not-a-list"),
    ],
)
def test_a_failed_invocation_deletes_nothing(sqs: Any, queue: tuple[str, str], response: httpx.Response) -> None:
    url, arn = queue
    _send(sqs, url, ["a", "b"])
    stats = relay.run(sqs, url, arn, _endpoint(lambda _e: response, []), wait_seconds=0, once=True)
    assert (stats.deleted, stats.failed) == (0, 2)
    assert _on_queue(sqs, url) == (0, 2)


def test_an_unreachable_function_deletes_nothing(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    _send(sqs, url, ["a"])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    invoke = invokers.http_invoker(httpx.Client(transport=httpx.MockTransport(refuse)), FUNCTION_URL)
    batch = relay.deliver(sqs, url, arn, relay.receive(sqs, url, wait_seconds=0, batch_size=10), invoke)
    assert batch.unreachable
    assert batch.deleted == []
    assert len(batch.failed) == 1
    assert "could not be reached" in (batch.reason or "")
    assert _on_queue(sqs, url) == (0, 1)


@pytest.mark.parametrize("payload", [None, {"statusCode": 200}, "done"])
def test_an_answer_without_batch_item_failures_succeeds_the_whole_batch(
    sqs: Any, queue: tuple[str, str], payload: Any
) -> None:
    url, arn = queue
    _send(sqs, url, ["a", "b"])
    response = httpx.Response(200, content=b"" if payload is None else json.dumps(payload).encode())
    stats = relay.run(sqs, url, arn, _endpoint(lambda _e: response, []), wait_seconds=0, once=True)
    assert (stats.deleted, stats.failed) == (2, 0)
    assert _on_queue(sqs, url) == (0, 0)


def test_failed_ids_interprets_answers() -> None:
    ids = ["m1", "m2"]
    assert invokers.failed_ids(ids, invokers.Answer(200, {"batchItemFailures": []})) == (set(), None)
    failed, reason = invokers.failed_ids(ids, invokers.Answer(200, {"batchItemFailures": [{"itemIdentifier": "m2"}]}))
    assert failed == {"m2"}
    assert reason == "1 record(s) named in batchItemFailures"
    failed, reason = invokers.failed_ids(ids, invokers.Answer(200, {"batchItemFailures": [{"id": "m2"}]}))
    assert failed == {"m1", "m2"}
    assert "not in the batch" in (reason or "")


def test_resolve_queue_by_name_and_url_and_a_missing_queue_is_named(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    assert relay.resolve_queue(sqs, "report") == (url, arn)
    assert relay.resolve_queue(sqs, url) == (url, arn)
    with pytest.raises(StorageError, match="'nope' cannot be found"):
        relay.resolve_queue(sqs, "nope", timeout=0)


def test_stop_ends_a_running_relay(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    stop = threading.Event()
    seen: list[dict[str, Any]] = []

    def answer(_event: dict[str, Any]) -> httpx.Response:
        stop.set()
        return httpx.Response(200, json={"batchItemFailures": []})

    _send(sqs, url, ["a"])
    stats = relay.run(sqs, url, arn, _endpoint(answer, seen), wait_seconds=0, stop=stop)
    assert stats.batches == 1
    assert stats.deleted == 1


def test_main_relays_until_empty_and_prints_the_totals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqs: Any, queue: tuple[str, str]
) -> None:
    url, _arn = queue
    _send(sqs, url, ["a", "b"])
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, json={"batchItemFailures": []}))
    real_client = httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kw: real_client(transport=transport, **kw))
    args = ["relay", "--queue", "report", "--function-url", FUNCTION_URL, "--wait-seconds", "0", "--once", "--json"]
    code = cli.main(args)
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"batches": 1, "received": 2, "deleted": 2, "failed": 0}
    assert _on_queue(sqs, url) == (0, 0)


def test_main_names_a_missing_queue(capsys: pytest.CaptureFixture[str], sqs: Any) -> None:
    code = cli.main(["relay", "--queue", "absent", "--function-url", FUNCTION_URL, "--startup-timeout", "0", "--once"])
    assert code == 1
    assert "'absent' cannot be found" in capsys.readouterr().err


# --- in this process: the handler_invoker and the options of `dataquest run` ---------------------------------------


def _fail_bodies(*bodies: str) -> invokers.Handler:
    """A handler naming in batchItemFailures the records whose body is one of ``bodies``."""

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        bad = [r["messageId"] for r in event["Records"] if r["body"] in bodies]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}

    return handler


def test_the_in_process_invoker_passes_the_context_and_the_answer(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    _send(sqs, url, ["ok", "bad"])
    contexts: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        contexts.append(context)
        return _fail_bodies("bad")(event, context)

    stats = relay.run(sqs, url, arn, invokers.handler_invoker(handler, lambda: "ctx"), wait_seconds=0, once=True)
    assert to_document(stats) == {"batches": 1, "received": 2, "deleted": 1, "failed": 1}
    assert contexts == ["ctx"]
    assert _on_queue(sqs, url) == (0, 1)  # by default a failed record waits for the visibility timeout


def test_a_raising_handler_is_a_function_error_that_fails_the_whole_batch() -> None:
    def handler(_event: dict[str, Any], _context: Any) -> Any:
        raise TimeoutError("the function timed out")

    answer = invokers.handler_invoker(handler)({"Records": []})
    assert answer == invokers.Answer(
        200, {"errorType": "TimeoutError", "errorMessage": "the function timed out"}, "Unhandled"
    )
    assert invokers.failed_ids(["m1", "m2"], answer) == (
        {"m1", "m2"},
        "the function failed: TimeoutError: the function timed out",
    )


def test_retry_now_makes_failed_records_visible_at_once(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    ids = _send(sqs, url, ["ok", "bad"])
    batch = relay.deliver(
        sqs,
        url,
        arn,
        relay.receive(sqs, url, wait_seconds=0, batch_size=10),
        invokers.handler_invoker(_fail_bodies("bad")),
        retry_now=True,
    )
    assert (batch.deleted, batch.failed) == ([ids["ok"]], [ids["bad"]])
    assert _on_queue(sqs, url) == (1, 0)


def test_a_transient_failure_is_retried_at_once_and_succeeds(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    _send(sqs, url, ["a", "b"])
    calls: list[int] = []

    def flaky(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise TimeoutError("the function timed out")  # Lambda fails the whole batch
        return {"batchItemFailures": []}

    stats = relay.run(sqs, url, arn, invokers.handler_invoker(flaky), wait_seconds=0, once=True, retry_now=True)
    assert calls == [2, 2]
    assert to_document(stats) == {"batches": 2, "received": 4, "deleted": 2, "failed": 2}
    assert _on_queue(sqs, url) == (0, 0)


def test_a_record_that_keeps_failing_is_reported_from_the_dead_letter_queue(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="report-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName="report", Attributes={"VisibilityTimeout": "300", "RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ids = _send(sqs, url, ["ok", "poison"])
    stats = relay.run(
        sqs,
        url,
        arn,
        invokers.handler_invoker(_fail_bodies("poison")),
        wait_seconds=0,
        once=True,
        retry_now=True,
        dlq_url=dlq,
    )
    # received twice (maxReceiveCount=2), failed twice, then moved to the DLQ by the redrive policy
    assert to_document(stats) == {
        "batches": 2,
        "received": 3,
        "deleted": 1,
        "failed": 2,
        "dead_letters": [{"message_id": ids["poison"], "receive_count": 2, "body": "poison"}],
        "left_on_queue": 0,
    }


def test_max_batches_bounds_a_queue_without_a_redrive_policy(sqs: Any, queue: tuple[str, str]) -> None:
    url, arn = queue
    _send(sqs, url, ["poison"])
    invoke = invokers.handler_invoker(_fail_bodies("poison"))
    stats = relay.run(sqs, url, arn, invoke, wait_seconds=0, once=True, retry_now=True, max_batches=3)
    assert (stats.batches, stats.received, stats.failed) == (3, 3, 3)
    assert relay.queue_depth(sqs, url) == 1


def test_an_answer_that_is_not_json_fails_the_batch_saying_so() -> None:
    answer = invokers.http_invoker(
        httpx.Client(
            transport=httpx.MockTransport(lambda _r: httpx.Response(200, text="Task timed out after 2.00 seconds"))
        ),
        FUNCTION_URL,
    )({"Records": []})
    failed, reason = invokers.failed_ids(["m1"], answer)
    assert failed == {"m1"}
    assert reason == "the function failed: the answer is not JSON: Task timed out after 2.00 seconds"
