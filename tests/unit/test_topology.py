"""The topology ``dataquest run`` makes: the transfer queue as Terraform's, an existing endpoint's bucket refused
when missing and completed idempotently, and the transfer queue relayed until empty, continuations included."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from dataquest.config import TRANSFER_QUEUE_VISIBILITY_TIMEOUT
from dataquest.errors import ConfigurationError, StorageError
from dataquest.local import embedded, topology

BUCKET = "topology-bucket"


@pytest.fixture
def sqs(s3: Any) -> Any:  # the s3 fixture holds moto's mock open
    return boto3.client("sqs", region_name="us-east-1")


def test_the_transfer_queue_is_terraforms(sqs: Any) -> None:
    queue = topology.transfer_queue(sqs, max_receive_count=3)
    attrs = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == str(TRANSFER_QUEUE_VISIBILITY_TIMEOUT) == "5400"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": queue.dlq_arn, "maxReceiveCount": 3}
    assert queue.url.endswith("/dataquest-transfer")
    assert queue.dlq_url.endswith("/dataquest-transfer-dlq")


def test_an_existing_endpoint_without_the_bucket_is_refused(s3: Any, sqs: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"the bucket 'missing' does not exist at this endpoint"):
        topology.existing_topology(s3, sqs, "missing")
    assert sqs.list_queues().get("QueueUrls", []) == []  # nothing made before the refusal


def test_an_endpoint_flag_without_a_bucket_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from dataquest import cli

    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.delenv("DQ_BUCKET", raising=False)
    args = ["run", "--json", "--out", str(tmp_path / "out"), "--endpoint-url", "http://127.0.0.1:9"]
    assert cli.main(args) == cli.EXIT_USAGE
    assert json.loads(capsys.readouterr().out)["error"] == (
        "--endpoint-url needs a bucket there: pass --bucket (or set DQ_BUCKET)"
    )
    assert not (tmp_path / "out").exists()


def test_an_unreachable_endpoint_is_one_clear_error() -> None:
    unreachable = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1")
    with pytest.raises(StorageError, match=r"^HEAD of the bucket 'b' failed \(.*\): check AWS_ENDPOINT_URL"):
        topology.existing_topology(unreachable, boto3.client("sqs", region_name="us-east-1"), "b")


def test_an_existing_bucket_is_completed_once_and_keeps_its_own_notifications(s3: Any, sqs: Any) -> None:
    other = sqs.create_queue(QueueName="someone-elses")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    theirs = {"Id": "theirs", "QueueArn": other_arn, "Events": ["s3:ObjectRemoved:*"]}
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [theirs]})
    first = topology.existing_topology(s3, sqs, BUCKET)
    assert topology.ensure_notification(s3, BUCKET, first.report.arn) is False  # already there: nothing written
    second = topology.existing_topology(s3, sqs, BUCKET)
    assert second == first
    assert first.transfer is not None
    ids = [q["Id"] for q in s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]]
    assert sorted(ids) == ["report-input-0", "report-input-1", "theirs"]
    assert s3.get_bucket_versioning(Bucket=BUCKET).get("Status") is None  # the user's bucket is left as it is
    assert len(sqs.list_queues()["QueueUrls"]) == 5


def test_the_transfer_queue_is_delivered_until_empty_with_its_continuations(sqs: Any) -> None:
    queue = topology.transfer_queue(sqs, max_receive_count=2)
    for n in range(3):
        sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"n": n, "left": n}))
    seen: list[tuple[int, int]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert len(event["Records"]) == 1  # one message a batch, as Terraform's event source mapping
        body = json.loads(event["Records"][0]["body"])
        remaining = context.get_remaining_time_in_millis()
        assert 0 < remaining <= 900_000
        seen.append((body["n"], body["left"]))
        if body["n"] == 9:  # a poison message: fails every time
            return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        if body["left"]:  # a continuation, sent while the invocation runs
            sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({**body, "left": body["left"] - 1}))
        return {"batchItemFailures": []}

    sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"n": 9, "left": 0}))
    drained = embedded.deliver_transfers(sqs, queue, handler)
    assert sorted(seen) == sorted([(0, 0), (1, 1), (1, 0), (2, 2), (2, 1), (2, 0), (9, 0), (9, 0)])
    assert (drained.batches, drained.deleted, drained.failed, drained.left_on_queue) == (8, 6, 2, 0)
    assert [json.loads(d.body) for d in drained.dead_letters] == [{"n": 9, "left": 0}]


# --- issue 25: `run --endpoint-url`: a bucket's own queues, and an endpoint that is not S3 ---------------------


def test_each_bucket_on_an_endpoint_has_its_own_queues(s3: Any, sqs: Any) -> None:
    s3.create_bucket(Bucket="bucket-b")
    a = topology.existing_topology(s3, sqs, BUCKET)
    b = topology.existing_topology(s3, sqs, "bucket-b")
    assert a.transfer is not None
    assert b.transfer is not None
    urls = [a.report.url, a.report.dlq_url, a.transfer.url, a.transfer.dlq_url]
    urls += [b.report.url, b.report.dlq_url, b.transfer.url, b.transfer.dlq_url]
    assert len(set(urls)) == 8
    # A's interrupted run left a transfer message and a report notification: B's run never receives them
    sqs.send_message(QueueUrl=a.transfer.url, MessageBody="stale transfer of A")
    sqs.send_message(QueueUrl=a.report.url, MessageBody="pending notification of A")
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    embedded.deliver_transfers(sqs, b.transfer, handler)
    embedded.deliver_notifications(sqs, b, handler)
    assert "stale transfer of A" not in seen
    assert "pending notification of A" not in seen
    left = sqs.receive_message(QueueUrl=a.report.url, MaxNumberOfMessages=10).get("Messages", [])
    assert "pending notification of A" in [m["Body"] for m in left]  # still there for A's next run


@pytest.mark.parametrize(
    "bucket", ["a.b", "a-b", "x" * 63, "my.bucket.with.dots-and-63-chars-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
)
def test_queue_names_are_valid_and_distinct_for_any_bucket_name(bucket: str) -> None:
    names = topology.queue_names(bucket)
    assert all(len(n) <= 80 and all(c.isalnum() or c in "-_" for c in n) for n in names)
    assert len(set(names)) == 4
    assert set(names).isdisjoint(topology.queue_names(bucket + "z"))
    assert set(topology.queue_names("a.b")).isdisjoint(topology.queue_names("a-b"))


@pytest.mark.parametrize("answer", [(200, b"<html>not S3</html>"), (404, b"<html>nope</html>"), (500, b"oops")])
def test_an_endpoint_that_is_not_s3_is_one_clear_error_not_a_bug(
    answer: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    import http.server
    import threading

    from dataquest import cli

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            self.send_response(answer[0])
            self.send_header("Content-Length", str(len(answer[1])))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer[1])

        do_GET = do_PUT = do_POST = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        args = ["run", "--json", "--out", str(tmp_path), "--endpoint-url", endpoint, "--bucket", "b"]
        code = cli.main(args)
    finally:
        server.shutdown()
    error = json.loads(capsys.readouterr().out)["error"]
    assert code in (cli.EXIT_FAILED, cli.EXIT_USAGE)  # a storage error, or (404) a bucket that is not there
    assert "bug" not in error
    assert "AWS_ENDPOINT_URL" in error


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/ x", "http://exa mple:9", "http://", "http:// :9"])
def test_an_endpoint_url_with_a_space_or_no_host_is_a_usage_error(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from dataquest import cli

    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    assert cli.main(["run", "--json", "--out", str(tmp_path), "--endpoint-url", url, "--bucket", "b"]) != 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert "bug" not in error
    assert error.startswith("AWS_ENDPOINT_URL=")
