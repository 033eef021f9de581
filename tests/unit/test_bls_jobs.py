"""The transfer queue's message: its exact JSON, strict parsing, how the planner packs files into messages, and the
queue executor that sends them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dataquest.bls.listing import SourceFile
from dataquest.bls.plan import Action
from dataquest.bls.summary import Planned
from dataquest.bls.transfer.executors import ToQueue
from dataquest.bls.transfer.messages import (
    MAX_BATCH_BYTES,
    JobFile,
    Part,
    PartDigests,
    Resume,
    TransferMessage,
    parse_message,
    plan_messages,
)
from dataquest.errors import ValidationError

BASE = "https://download.bls.gov/pub/time.series/"
URL = BASE + "pr/"


def upload(path: str, size: int) -> Action:
    source = SourceFile(path, URL + path, size, datetime(2026, 1, 2, 3, 4))
    return Action("pr", "upload", path, f"bls/pr/{path}", "new: not in the mirror", size, source)


def test_a_message_is_the_designs_json_and_parses_back_to_itself() -> None:
    message = plan_messages("run-1", "pr", [upload("pr.data.0.Current", 123)])[0]

    assert json.loads(message.body()) == {
        "v": 1,
        "run_id": "run-1",
        "survey": "pr",
        "files": [
            {
                "path": "pr.data.0.Current",
                "url": URL + "pr.data.0.Current",
                "size": 123,
                "timestamp": "2026-01-02T03:04:00",
            }
        ],
        "resume": None,
    }
    assert parse_message(message.body(), BASE) == message
    assert message.files[0].source() == upload("pr.data.0.Current", 123).source


def test_a_continuation_carries_its_upload_offset_parts_validator_and_part_digests() -> None:
    resume = Resume(
        "up-1",
        16,
        (Part(1, '"e1"'), Part(2, '"e2"')),
        "Thu, 04 Sep 2025 07:30:00 GMT",
        PartDigests(8, ("a" * 64, "b" * 64)),
    )
    message = TransferMessage(1, "run-1", "pr", (JobFile("big", URL + "big", 40, "2026-01-02T03:04:00"),), resume)

    doc = json.loads(message.body())

    assert doc["resume"] == {
        "upload_id": "up-1",
        "offset": 16,
        "parts": [{"PartNumber": 1, "ETag": '"e1"'}, {"PartNumber": 2, "ETag": '"e2"'}],
        "validator": "Thu, 04 Sep 2025 07:30:00 GMT",
        "sha256_state": {"part_size": 8, "digests": ["a" * 64, "b" * 64]},
    }
    assert parse_message(message.body(), BASE) == message


def test_small_files_go_eight_to_a_message_and_a_large_one_alone() -> None:
    small = [upload(f"pr.s{i}", 1000) for i in range(10)]
    big = upload("pr.data.1.AllData", MAX_BATCH_BYTES + 1)
    half = [upload(f"pr.h{i}", MAX_BATCH_BYTES // 2) for i in range(3)]

    messages = plan_messages("run-1", "pr", [*small, big, *half])

    assert [[f.path for f in m.files] for m in messages] == [
        [f"pr.s{i}" for i in range(8)],
        ["pr.data.1.AllData"],
        ["pr.s8", "pr.s9", "pr.h0"],
        ["pr.h1", "pr.h2"],
    ]
    assert all(sum(f.size for f in m.files) <= MAX_BATCH_BYTES for m in messages if len(m.files) > 1)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.update(v=2), "version 2"),
        (lambda d: d.pop("run_id"), "no 'run_id'"),
        (lambda d: d.update(files=[]), "files is empty"),
        (lambda d: d.update(run_id="../../elsewhere"), "run_id"),
        (lambda d: d.update(survey="PR/.."), "survey"),
        (lambda d: d.update(survey="pr\n"), "survey"),  # a regex's "$" matches before a final newline
        (lambda d: d["files"][0].update(size="12"), "files[0].size"),
        (lambda d: d["files"][0].update(size=True), "files[0].size"),
        (lambda d: d["files"][0].update(size=-1), "negative"),
        (lambda d: d["files"][0].update(path="../ce/x"), "leave the survey's prefix"),
        (lambda d: d["files"][0].update(path="/etc/passwd"), "leave the survey's prefix"),
        (lambda d: d["files"][0].update(timestamp="yesterday"), "not ISO 8601"),
        # The URL is held to the listing's link rules, and the path bound to it (the file it names is the one fetched).
        (lambda d: d["files"][0].update(url=URL + "../ce/ce.txt"), "leaves the survey folder"),
        (lambda d: d["files"][0].update(url=URL + "../../../etc/passwd"), "leaves the survey folder"),
        (lambda d: d["files"][0].update(url=BASE + "ce/pr.class"), "leaves the survey folder"),
        (lambda d: d["files"][0].update(url="https://elsewhere.example/pub/time.series/pr/pr.class"), "another host"),
        (lambda d: d["files"][0].update(url=URL + "pr.class?x=1"), "query string"),
        (lambda d: d["files"][0].update(url=URL + "a%2Fb"), "encodes a '/'"),
        (lambda d: d["files"][0].update(url=URL + "pr.series"), "is not its URL's path 'pr.series'"),
        (lambda d: d["files"][0].update(path="./pr.class"), "is not its URL's path"),
        (lambda d: d.update(resume={"upload_id": "u"}), "resume has no 'parts'"),
        (lambda d: d["files"].append(d["files"][0]) or d.update(resume=_resume()), "single-file"),
    ],
)
def test_a_malformed_message_is_a_validation_error_naming_what_is_wrong(change: Any, said: str) -> None:
    doc = json.loads(plan_messages("run-1", "pr", [upload("pr.class", 10)])[0].body())
    change(doc)
    with pytest.raises(ValidationError, match=said.replace("[", r"\[").replace("]", r"\]")):
        parse_message(json.dumps(doc), BASE)


def _resume() -> dict[str, Any]:
    return {
        "upload_id": "u",
        "offset": 5,
        "parts": [{"PartNumber": 1, "ETag": '"e"'}],
        "validator": "v",
        "sha256_state": {"part_size": 5, "digests": ["a" * 64]},
    }


def test_not_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="not JSON"):
        parse_message("{not json", BASE)


def test_the_queue_executor_sends_nothing_until_finished_then_ten_per_request() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="transfers")["QueueUrl"]
        executor = ToQueue(sqs, url)
        uploads = [upload(f"pr.f{i}", MAX_BATCH_BYTES) for i in range(12)]
        planned = executor.transfer("run-1", "pr", uploads, upload=lambda action, streams: None)
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])

        assert planned == Planned(12, 12 * MAX_BATCH_BYTES)
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
        assert executor.finish() == []

        bodies: list[str] = []
        while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies += [m["Body"] for m in got]
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            )
        assert sorted(parse_message(b, BASE).files[0].path for b in bodies) == sorted(f"pr.f{i}" for i in range(12))


def test_a_message_that_cannot_be_sent_is_each_of_its_files_error() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        executor = ToQueue(sqs, "https://sqs.us-east-1.amazonaws.com/123456789012/missing")
        executor.transfer("run-1", "pr", [upload("pr.a", 1), upload("pr.b", 1)], upload=lambda action, streams: None)

        errors = executor.finish()

    assert [e.path for e in errors] == [URL + "pr.a", URL + "pr.b"]
    assert all("sending its transfer message failed" in e.error for e in errors)
