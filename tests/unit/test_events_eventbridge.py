"""S3's events as an EventBridge rule puts them on the lake queue, read beside S3's own notifications."""

from __future__ import annotations

import json

import pytest

from dataquest.errors import ValidationError
from dataquest.events import S3Change, parse_change_body, parse_sqs_event
from tests.conftest import EVENTS


def bodies() -> list[str]:
    return [m.body for m in parse_sqs_event(json.loads((EVENTS / "sqs-eventbridge-s3.json").read_text()), "lake")]


def test_an_object_created_and_an_object_deleted_event_read_as_changes() -> None:
    created, deleted = (parse_change_body(b).changes for b in bodies())
    assert created == (
        S3Change(
            bucket="dataquest-test",
            key="bls/ce/ce.data.0.AllCESSeries",
            event_name="ObjectCreated:PutObject",
            version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            etag="b1946ac92492d2347c6235b4d2611184",
            sequencer="617f08299329d189",
        ),
    )
    assert created[0].created
    assert deleted[0].event_name == "ObjectRemoved:DeleteObject"
    assert not deleted[0].created
    assert deleted[0].version_id == "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF"


def test_s3_notifications_and_test_events_still_read_as_before() -> None:
    record = {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "bls/pr/a+b"}}}
    [change] = parse_change_body(json.dumps({"Records": [record]})).changes
    assert (change.key, change.created) == ("bls/pr/a b", False)
    assert parse_change_body(json.dumps({"Event": "s3:TestEvent"})).test_event


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "S3 event: the message body is not JSON"),
        ("[1]", "S3 event: expected a JSON object, saw list"),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Tags Added", "detail": {}}),
            "EventBridge event: expected source aws.s3 and detail-type Object Created or Object Deleted, "
            "saw 'aws.s3' and 'Object Tags Added'",
        ),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}}),
            "EventBridge event: the detail lacks 'object': expected detail.bucket.name, detail.object.key",
        ),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": "x"}),
            "EventBridge event: detail, detail.bucket and detail.object must be objects",
        ),
        (
            json.dumps(
                {
                    "source": "aws.s3",
                    "detail-type": "Object Deleted",
                    "detail": {"bucket": {"name": "b"}, "object": {"key": 7}},
                }
            ),
            "EventBridge event: detail.bucket.name and detail.object.key must be strings",
        ),
    ],
)
def test_a_body_of_neither_shape_is_one_validation_error(body: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_change_body(body)
    assert str(refused.value).startswith(message)
