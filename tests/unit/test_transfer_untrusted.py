"""A transfer message is untrusted input (issue 25): a continuation is held to the upload it names, the message id
to the outcome key's rule, and a batch's record without a ``messageId`` fails alone. Over moto's S3 and SQS and the
BLS stand-in; every expected value is the stand-in's bytes or the handler's own answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dataquest.bls.transfer.messages import check_message_id, parse_message
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.bls.transfer.worker import Transfers, run_record
from dataquest.errors import ValidationError
from dataquest.events import SqsMessage
from dataquest.handlers import transfer as transfer_handler
from tests.support.fanout import BUCKET, MODIFIED, Fanout, fanout_world, lambda_context

CFG = TransferConfig(part_size=1000, multipart_threshold=1000, concurrency=1)


@pytest.fixture
def fanout() -> Iterator[Fanout]:
    with fanout_world() as world:
        yield world


def _paused(fanout: Fanout, size: int = 3000) -> dict[str, Any]:
    """A real continuation of ``pr/big`` after its first 1000-byte part, as a JSON document to tamper with."""
    fanout.site.put_generated("pr/big", size, seed=4, modified=MODIFIED)
    assert run_record(Transfers.of(fanout.app, lambda_context(0), config=CFG), SqsMessage("m-1", _body(fanout)))
    sent = fanout.sqs.receive_message(QueueUrl=fanout.queue_url)["Messages"][0]["Body"]
    doc: dict[str, Any] = json.loads(sent)
    assert doc["resume"]["offset"] == 1000
    return doc


def _body(fanout: Fanout) -> str:
    return fanout.message("big").body()


def _finish(fanout: Fanout, doc: dict[str, Any]) -> bool:
    return run_record(Transfers.of(fanout.app, lambda_context(), config=CFG), SqsMessage("m-2", json.dumps(doc)))


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize(
    "tamper",
    [
        # the part size and offset agree with each other, not with the part S3 holds: a 1000-byte hole or overlap
        lambda r: r.update(offset=2000, sha256_state={**r["sha256_state"], "part_size": 2000}),
        lambda r: r.update(offset=995, sha256_state={**r["sha256_state"], "part_size": 995}),
        # another part's ETag: S3 holds part 1, not this one
        lambda r: r["parts"][0].update(ETag='"0123456789abcdef0123456789abcdef"'),
    ],
    ids=["hole", "overlap", "etag"],
)
def test_a_continuation_that_disagrees_with_its_upload_starts_over_and_the_object_is_whole(
    fanout: Fanout, tamper: Any
) -> None:
    doc = _paused(fanout)
    tamper(doc["resume"])

    assert _finish(fanout, doc)

    assert fanout.body("bls/pr/big") == fanout.site.data_of("pr/big")
    assert [r.range for r in fanout.site.requests if r.method == "GET"] == ["", ""]  # from byte 0 again
    assert fanout.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def _three_parts(resume: dict[str, Any]) -> None:
    part = resume["parts"][0]
    parts = [{**part, "PartNumber": n} for n in (1, 2, 3)]
    resume.update(offset=3000, parts=parts, sha256_state={"part_size": 1000, "digests": ["a" * 64] * 3})


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda r: r.update(offset=r["offset"] - 5), "offset 995 is not the sum of its 1 part"),
        (lambda r: r.update(offset=0), "offset 0 is not the sum"),
        (lambda r: r["parts"][0].update(PartNumber=2), "parts are not numbered 1, 2, ..."),
        (_three_parts, "offset 3000 is not before the end"),
        (lambda r: r.update(sha256_state={**r["sha256_state"], "part_size": 0}), "part_size"),
    ],
    ids=["short", "tail-only", "numbers", "past-the-end", "part-size-0"],
)
@pytest.mark.usefixtures("small_parts")
def test_a_continuation_whose_offset_is_not_the_sum_of_its_parts_is_refused_before_any_request(
    fanout: Fanout, tamper: Any, said: str
) -> None:
    doc = _paused(fanout)
    tamper(doc["resume"])
    gets = fanout.site.file_gets()

    with pytest.raises(ValidationError, match=said):
        parse_message(json.dumps(doc), fanout.site.base_url)
    assert not _finish(fanout, doc)

    assert fanout.site.file_gets() == gets
    assert fanout.s3.list_objects_v2(Bucket=BUCKET, Prefix="bls/pr/big")["KeyCount"] == 0


@pytest.mark.usefixtures("small_parts")
def test_a_resumed_object_is_not_completed_when_its_parts_do_not_add_up_to_the_planned_size(
    fanout: Fanout, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _paused(fanout)
    real = fanout.app.s3.list_parts
    calls: list[int] = []

    def list_parts(**kw: Any) -> Any:  # S3's parts as the check at completion sees them: one byte short
        answer = real(**kw)
        calls.append(1)
        if len(calls) > 1:
            answer["Parts"][-1]["Size"] -= 1
        return answer

    monkeypatch.setattr(fanout.app.s3, "list_parts", list_parts)

    assert not _finish(fanout, doc)

    assert fanout.s3.list_objects_v2(Bucket=BUCKET, Prefix="bls/pr/big")["KeyCount"] == 0
    errors = [o["error"] for o in fanout.outcomes() if o["event"] == "error"]
    assert len(errors) == 1
    assert "2999 bytes, not the planned 3000" in errors[0]


@pytest.mark.parametrize("message_id", ["../../../bls/pr/pr.class", "a/b", "", "x" * 200, "m\n1", ".hidden"])
def test_a_message_id_that_would_bend_the_outcome_key_fails_that_record_and_writes_nothing(
    fanout: Fanout, message_id: str
) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    body = fanout.message("pr.class").body()

    assert not run_record(Transfers.of(fanout.app, lambda_context()), SqsMessage(message_id, body))

    assert fanout.site.file_gets() == 0
    assert fanout.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    with pytest.raises(ValidationError, match="message id"):
        check_message_id(message_id)


def test_a_record_without_a_message_id_fails_alone_and_the_others_are_done(fanout: Fanout) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    body = fanout.message("pr.class").body()
    event = {"Records": [{"body": body}, {"messageId": 7, "body": body}, {"messageId": "m-good", "body": body}]}

    answer = transfer_handler.handler(event, lambda_context(), app=fanout.app)

    assert fanout.body("bls/pr/pr.class") == b"class\r\n"
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == ["", "7"]


def test_an_event_that_is_not_an_sqs_batch_is_named_as_a_transfer_event(fanout: Fanout) -> None:
    with pytest.raises(ValidationError, match=r"^transfer event: expected an SQS event"):
        transfer_handler.handler({"nope": 1}, lambda_context(), app=fanout.app)
