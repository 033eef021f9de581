"""Least privilege of the fan-out: the transfer role and the planner's send grant, on the enforcing moto server.

Run on the package's one apply of dev (``envs/aws``), with its fixtures (conftest.py): the transfer role's policies read
back from the applied IAM, given to a user of the enforcing server. Here, under that user's keys, every call a
transfer makes, in the order it makes them: a HEAD of the object (a missing key answers 404, not 403), a multipart
upload in parts (create, upload, list, complete), its tags read and written, an upload aborted (the source changed:
start over), a single-part put, its outcome in the run's trail, and the queue work (the event source mapping's
receive, visibility and delete, and the continuation it sends). Then the real thing: the planner (the ingest handler
with ``DQ_TRANSFER_QUEUE_URL``) under the ingest role's keys queues a survey's files, and the transfer handler under
the transfer role's keys, delivered as the event source mapping does (receive, invoke, delete), mirrors them: a
multipart file paused at each part boundary and continued by its own messages, and a redelivered message skipped.
And the reverse: it cannot delete in ``bls/``, touch ``population/``, ``reports/``, ``_locks/`` or another
``_logs/`` folder, nor send to or read the report queue.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dataquest.bls.transfer.upload import TransferConfig
from dataquest.config import INGEST_LOG_PREFIX, POPULATION_KEY
from dataquest.handlers import ingest, transfer
from dataquest.local import relay
from dataquest.local.invoke import LambdaContext, handler_invoker
from tests.integration.terraform_apply.deployment import (
    REPORT_QUEUE,
    Deployed,
    Enforcing,
    context,
    denied,
    run_as,
    run_ingest,
)
from tests.integration.test_run_embedded import POPULATION_PATH, small_tree
from tests.support.bls_site import BlsSite
from tests.support.terraform import ACCOUNT, DEV_BUCKET, REGION

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

TRANSFER_QUEUE = "dataquest-dev-transfer"
PART = 5 * 1024 * 1024  # S3's smallest part but the last


def _queue_url(enforcing: Enforcing, name: str) -> str:
    return str(enforcing.sqs().get_queue_url(QueueName=name)["QueueUrl"])


def test_the_transfer_role_is_the_transfer_policy_and_nothing_more(deployed: Deployed) -> None:
    """What the applied IAM gives the transfer role, action by action and resource by resource."""
    [document] = deployed.policies["transfer"].values()
    granted = {s["Sid"]: s for s in document["Statement"]}
    objects, bucket = f"arn:aws:s3:::{DEV_BUCKET}/", f"arn:aws:s3:::{DEV_BUCKET}"
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{TRANSFER_QUEUE}"

    def actions(sid: str) -> set[str]:
        action = granted[sid]["Action"]
        return {action} if isinstance(action, str) else set(action)

    def resources(sid: str) -> set[str]:
        resource = granted[sid]["Resource"]
        return {resource} if isinstance(resource, str) else set(resource)

    assert set(granted) == {
        "WriteOwnLogs",
        "ListDataBucket",
        "ReadPrefixes",
        "UploadPrefixes",
        "PutPrefixes",
        "ConsumeQueue",
        "SendToQueues",
    }
    assert resources("WriteOwnLogs") == {
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/dataquest-dev-transfer:*"
    }
    assert (actions("ListDataBucket"), resources("ListDataBucket")) == (
        {"s3:ListBucket"},
        {bucket},
    )
    assert resources("ReadPrefixes") == {f"{objects}bls/*"}
    assert actions("UploadPrefixes") == {
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    assert resources("UploadPrefixes") == {f"{objects}bls/*"}
    assert (actions("PutPrefixes"), resources("PutPrefixes")) == ({"s3:PutObject"}, {f"{objects}{INGEST_LOG_PREFIX}*"})
    assert actions("ConsumeQueue") == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    assert resources("ConsumeQueue") == {queue}
    assert (actions("SendToQueues"), resources("SendToQueues")) == ({"sqs:SendMessage"}, {queue})
    assert not any("s3:DeleteObject" in actions(sid) for sid in granted), "deletes are the planner's"


def test_a_transfer_mirrors_a_file_in_parts_and_logs_its_outcome_with_only_its_roles_policies(
    enforcing: Enforcing,
) -> None:
    s3, admin = enforcing.s3("transfer"), enforcing.s3()
    key = "bls/pr/least-privilege.data.1.AllData"  # a key no other test writes
    # The idempotency check: a missing object is a 404 (the role may list the bucket), not AccessDenied.
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=DEV_BUCKET, Key=key)
    assert missing.value.response["Error"]["Code"] in {"404", "NoSuchKey"}

    body = bytes(range(256)) * (PART // 256) + b"tail"
    upload = s3.create_multipart_upload(Bucket=DEV_BUCKET, Key=key, Metadata={"source-size": str(len(body))})
    upload_id = upload["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket=DEV_BUCKET, Key=key, UploadId=upload_id, PartNumber=n, Body=chunk)["ETag"],
        }
        for n, chunk in [(1, body[:PART]), (2, body[PART:])]
    ]
    # A continuation checks the parts the previous invocation completed.
    listed = s3.list_parts(Bucket=DEV_BUCKET, Key=key, UploadId=upload_id)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
    s3.complete_multipart_upload(Bucket=DEV_BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    s3.put_object_tagging(Bucket=DEV_BUCKET, Key=key, Tagging={"TagSet": [{"Key": "sha256-parts", "Value": "x"}]})
    assert s3.get_object_tagging(Bucket=DEV_BUCKET, Key=key)["TagSet"] == [{"Key": "sha256-parts", "Value": "x"}]
    assert s3.head_object(Bucket=DEV_BUCKET, Key=key)["Metadata"] == {"source-size": str(len(body))}
    assert s3.get_object(Bucket=DEV_BUCKET, Key=key)["Body"].read() == body  # read back for the whole-file SHA-256

    # The source changed between two invocations: the upload is aborted, the file starts over in one put.
    stale = s3.create_multipart_upload(Bucket=DEV_BUCKET, Key=key)["UploadId"]
    s3.abort_multipart_upload(Bucket=DEV_BUCKET, Key=key, UploadId=stale)
    s3.put_object(Bucket=DEV_BUCKET, Key="bls/pr/pr.txt", Body=b"small file")

    outcome = f"{INGEST_LOG_PREFIX}least-privilege/transfers/message-1.jsonl"
    s3.put_object(Bucket=DEV_BUCKET, Key=outcome, Body=b'{"event": "upload"}\n')
    assert admin.get_object(Bucket=DEV_BUCKET, Key=outcome)["Body"].read() == b'{"event": "upload"}\n'
    assert admin.get_object(Bucket=DEV_BUCKET, Key=key)["Body"].read() == body
    # Not a run's trail: the ingest test counts those.
    admin.delete_object(Bucket=DEV_BUCKET, Key=outcome)


def test_a_transfer_consumes_its_queue_and_sends_its_continuation(enforcing: Enforcing) -> None:
    sqs = enforcing.sqs("transfer")
    url = _queue_url(enforcing, TRANSFER_QUEUE)
    # The planner (the ingest role) sends the transfers, ten to a request (sqs:SendMessage, as AWS authorises it).
    sent = enforcing.sqs("ingest").send_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": json.dumps({"v": 1, "files": [], "resume": None})}]
    )
    assert [s["Id"] for s in sent["Successful"]] == ["1"]
    # What the event source mapping does with the function's role, then the continuation the function sends.
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"].endswith(
        f":{TRANSFER_QUEUE}"
    )
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=5)
    continuation = {"v": 1, "files": [], "resume": {"upload_id": "u", "offset": PART}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(continuation))
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert json.loads(again["Body"]) == continuation
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])


def test_a_transfer_cannot_delete_nor_touch_what_is_not_its_own(enforcing: Enforcing) -> None:
    s3, admin = enforcing.s3("transfer"), enforcing.s3()
    admin.put_object(Bucket=DEV_BUCKET, Key="bls/pr/keep.txt", Body=b"keep")
    refusals: list[tuple[Any, dict[str, Any]]] = [
        (s3.delete_object, {"Key": "bls/pr/keep.txt"}),
        (s3.put_object, {"Key": POPULATION_KEY, "Body": b"x"}),
        (s3.get_object, {"Key": POPULATION_KEY}),
        (s3.put_object, {"Key": "reports/latest/report.json", "Body": b"x"}),
        (s3.put_object, {"Key": "_locks/sync-bls/pr", "Body": b"x"}),
        (s3.put_object, {"Key": "_logs/report/x.jsonl", "Body": b"x"}),
        (s3.get_object, {"Key": f"{INGEST_LOG_PREFIX}least-privilege/transfers/message-1.jsonl"}),
    ]
    for call, kwargs in refusals:
        assert denied(call, Bucket=DEV_BUCKET, **kwargs), f"{call.__name__} {kwargs['Key']}"
    refused = s3.delete_objects(Bucket=DEV_BUCKET, Delete={"Objects": [{"Key": "bls/pr/keep.txt"}]})
    assert [e["Code"] for e in refused.get("Errors", [])] == ["AccessDenied"]
    assert admin.get_object(Bucket=DEV_BUCKET, Key="bls/pr/keep.txt")["Body"].read() == b"keep"

    report_queue = _queue_url(enforcing, REPORT_QUEUE)
    sqs = enforcing.sqs("transfer")
    assert denied(sqs.send_message, QueueUrl=report_queue, MessageBody="{}")
    assert denied(sqs.receive_message, QueueUrl=report_queue)
    # Only the planner and the transfers send transfers.
    transfer_queue = _queue_url(enforcing, TRANSFER_QUEUE)
    assert denied(enforcing.sqs("report").send_message, QueueUrl=transfer_queue, MessageBody="{}")
    assert denied(
        enforcing.sqs("report").send_message_batch,
        QueueUrl=transfer_queue,
        Entries=[{"Id": "1", "MessageBody": "{}"}],
    )


def near_the_limit() -> LambdaContext:
    """A transfer's context with no time left: a transfer pauses at every part boundary and sends its continuation."""
    return context("transfer", timeout_ms=0)


def _deliver_all(enforcing: Enforcing, url: str) -> list[dict[str, Any]]:
    """The transfer queue delivered to the transfer handler with the transfer role's keys, one message per
    invocation (batch_size = 1), until it is empty: the message bodies delivered, in order."""
    sqs = enforcing.sqs("transfer")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    delivered: list[dict[str, Any]] = []
    for _ in range(30):
        messages = relay.receive(sqs, url, wait_seconds=0, batch_size=1)
        if not messages:
            return delivered
        delivered += [json.loads(m["Body"]) for m in messages]
        result = relay.deliver(sqs, url, arn, messages, handler_invoker(transfer.handler, near_the_limit))
        assert result.failed == [], f"a transfer failed under its role's policies: {result.reason}"
    raise AssertionError("the transfer queue was not drained in 30 invocations")


def _outcomes(admin: Any, run_id: str) -> list[dict[str, Any]]:
    prefix = f"{INGEST_LOG_PREFIX}{run_id}/transfers/"
    listed = admin.list_objects_v2(Bucket=DEV_BUCKET, Prefix=prefix).get("Contents", [])
    lines = [admin.get_object(Bucket=DEV_BUCKET, Key=o["Key"])["Body"].read().decode() for o in listed]
    return [json.loads(line) for body in lines for line in body.splitlines() if line]


def test_the_planner_and_the_transfers_mirror_a_survey_with_only_their_roles_policies(
    enforcing: Enforcing, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, url = enforcing.s3(), _queue_url(enforcing, TRANSFER_QUEUE)
    survey, big = "lp", "lp/lp.data.1.AllData"  # a survey of its own: the ingest test's pr mirror stays as it is
    defaults = TransferConfig()
    with BlsSite() as site:
        site.put("lp/lp.series", b"series_id\tyear\r\n" * 40)
        site.put("lp/lp.txt", b"about lp " * 30)
        site.put_generated(big, defaults.multipart_threshold + defaults.part_size // 2, seed=7)  # two parts
        site.serve(POPULATION_PATH, small_tree().population)
        settings = {
            "DQ_CONTACT": "dataquest-tests@example.org",
            "DQ_BLS_BASE_URL": site.base_url,
            "DQ_REQUEST_INTERVAL": "0",
            "DQ_TRANSFER_QUEUE_URL": url,
        }
        run_as(
            monkeypatch,
            enforcing,
            "ingest",
            DQ_BLS_SURVEYS=survey,
            DQ_POPULATION_URL=site.url(POPULATION_PATH),
            **settings,
        )
        ingest.container_app.cache_clear()
        planned = run_ingest()
        assert (planned["uploaded"], planned["errors"], planned["planned"][survey]["files"]) == (0, [], 3)

        run_as(monkeypatch, enforcing, "transfer", DQ_TRANSFER_STREAMS="2", **settings)
        transfer.container_app.cache_clear()
        delivered = _deliver_all(enforcing, url)
        for path in ["lp/lp.series", "lp/lp.txt", big]:
            assert admin.get_object(Bucket=DEV_BUCKET, Key=f"bls/{path}")["Body"].read() == site.data_of(path), path
        # The big file took two invocations: the second one a continuation its first one sent.
        resumes = [m["resume"] for m in delivered if m["resume"]]
        assert len(resumes) == 1
        assert resumes[0]["offset"] == defaults.part_size
        [run_id] = {m["run_id"] for m in delivered}

        # A redelivered message (the first one of the big file): a HEAD, no body, a skip.
        [first] = [
            m for m in delivered if m["resume"] is None and [f["path"] for f in m["files"]] == [big.split("/", 1)[1]]
        ]
        enforcing.sqs("ingest").send_message(QueueUrl=url, MessageBody=json.dumps(first))
        bodies = site.bodies()
        assert _deliver_all(enforcing, url) == [first]
        assert site.bodies() == bodies, "a skip downloads nothing"

    events = sorted((o["event"], o["path"]) for o in _outcomes(admin, run_id))
    assert events == [
        ("resumed", "lp.data.1.AllData"),
        ("skip", "lp.data.1.AllData"),
        ("upload", "lp.data.1.AllData"),
        ("upload", "lp.series"),
        ("upload", "lp.txt"),
    ]
