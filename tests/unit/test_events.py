"""Typed parsing of schedule events and of S3 notifications inside SQS."""

from __future__ import annotations

import json

import pytest

from dataquest.errors import ValidationError
from dataquest.events import (
    BLS_DATA_KEY,
    REPORT_INPUT_KEYS,
    S3Change,
    SqsMessage,
    parse_notification,
    parse_schedule_event,
    parse_sqs_event,
    scheduled_event,
)
from tests.conftest import EVENTS


def load(name: str) -> object:
    return json.loads((EVENTS / name).read_text())


def s3_body(key: str, *, event: str = "ObjectCreated:Put", bucket: str = "b") -> str:
    record = {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": "e"}}}
    return json.dumps({"Records": [record]})


def test_scheduled_rule_event() -> None:
    got = parse_schedule_event(load("schedule-rule.json"))
    assert got.source == "aws.events"
    assert got.time == "2025-09-05T06:00:00Z"
    assert got.id == "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"


def test_scheduler_payload_and_manual_invocations() -> None:
    assert parse_schedule_event(load("schedule-scheduler.json")).source == "dataquest.schedule"
    assert parse_schedule_event({}).source == "manual"
    assert parse_schedule_event(None).source == "manual"


def test_schedule_event_that_is_not_an_object() -> None:
    with pytest.raises(ValidationError, match="expected a JSON object"):
        parse_schedule_event(["not", "an", "event"])


def test_sqs_event_records() -> None:
    got = parse_sqs_event(load("sqs-s3-inputs.json"))
    assert [m.message_id for m in got] == [
        "9f3c1a52-0d3e-4b7e-9a43-2b9d0f6f1a01",
        "9f3c1a52-0d3e-4b7e-9a43-2b9d0f6f1a02",
    ]
    assert got[0].receive_count == 1


def test_sqs_event_receive_count_and_missing_body() -> None:
    got = parse_sqs_event({"Records": [{"messageId": "m", "attributes": {"ApproximateReceiveCount": "3"}}]})
    assert got == (SqsMessage(message_id="m", body="", receive_count=3),)


@pytest.mark.parametrize("raw", [None, [], {}, {"Records": "x"}])
def test_not_an_sqs_event(raw: object) -> None:
    with pytest.raises(ValidationError, match=r"^transfer event: expected an SQS event"):
        parse_sqs_event(raw, "transfer")


def test_a_record_without_a_message_id_is_that_records_error_not_the_batchs() -> None:
    got = parse_sqs_event({"Records": [{"body": "{}"}, {"messageId": 7}, {"messageId": "m", "body": "b"}]}, "transfer")

    assert [(m.message_id, m.body) for m in got] == [("", ""), ("7", ""), ("m", "b")]
    assert [m.error for m in got] == [
        "transfer event: record 0 has no 'messageId' (a string): not an SQS record",
        "transfer event: record 1 has no 'messageId' (a string): not an SQS record",
        None,
    ]


def test_notification_with_versions() -> None:
    bodies = [m.body for m in parse_sqs_event(load("sqs-s3-inputs.json"))]
    first = parse_notification(bodies[0]).changes[0]
    assert first == S3Change(
        bucket="dataquest-test",
        key="population/nation_population.json",
        event_name="ObjectCreated:Put",
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        etag="d41d8cd98f00b204e9800998ecf8427e",
        sequencer="0055AED6DCD90281E5",
    )
    second = parse_notification(bodies[1]).changes[0]
    assert second.key == BLS_DATA_KEY
    assert second.is_report_input


def test_keys_are_url_decoded() -> None:
    # moto encodes "/" too (quote_plus); S3 encodes spaces as "+" and other characters as %XX.
    change = parse_notification(s3_body("population%2Fnation_population.json")).changes[0]
    assert change.key == "population/nation_population.json"
    assert change.is_report_input
    assert parse_notification(s3_body("bls/pr/a+b%2Bc.txt")).changes[0].key == "bls/pr/a b+c.txt"


def test_only_created_input_objects_are_report_inputs() -> None:
    assert set(REPORT_INPUT_KEYS) == {"population/nation_population.json", "bls/pr/pr.data.0.Current"}
    removed = parse_notification(s3_body(BLS_DATA_KEY, event="ObjectRemoved:Delete")).changes[0]
    assert not removed.is_report_input
    other = parse_notification(s3_body("bls/pr/pr.series")).changes[0]
    assert not other.is_report_input


HOSTILE_BODIES = {
    "nested 100,000 deep (list)": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "nested 40,000 deep (object)": ('{"a":' * 40_000 + "1" + "}" * 40_000, "nested too deep"),
    "Records nested deep": ('{"Records": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deep"),
    "an integer past the digit limit": ('{"Records": ' + "9" * 5000 + "}", "not JSON"),
    "over SQS's size": ('{"Records": []' + " " * 300_000 + "}", "over SQS"),
    "empty": ("", "not JSON"),
    "a NUL": ("\x00", "not JSON"),
    "NaN": ("NaN", "expected a JSON object"),
    "Records a string": ('{"Records": "x"}', "expected 'Records'"),
    "Records of null": ('{"Records": [null]}', "record 0 lacks"),
    "s3 a list": ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": []}]}', "record 0 lacks"),
    "key a number": (
        '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": 1}}}]}',
        "strings",
    ),
    "object a string": ('{"Records": [{"eventName": "x", "s3": {"bucket": {"name": "b"}, "object": "k"}}]}', "lacks"),
    "a long key name": ('{"' + "k" * 10_000 + '": 1}', "expected 'Records'"),
}


def test_test_event() -> None:
    body = parse_sqs_event(load("sqs-s3-test-event.json"))[0].body
    got = parse_notification(body)
    assert got.test_event
    assert got.changes == ()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("this is not JSON", "not JSON"),
        ('["a"]', "expected a JSON object"),
        ('{"hello": "world"}', "expected 'Records'"),
        ('{"Records": [{"eventName": "ObjectCreated:Put"}]}', "record 0 lacks"),
        ('{"Records": [{"eventName": 1, "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}', "strings"),
        *[(body, why) for body, why in HOSTILE_BODIES.values()],
    ],
)
def test_malformed_notifications(body: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as info:
        parse_notification(body)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 400


def test_a_strange_receive_count_counts_as_one() -> None:
    for count, expected in (("3", 3), ("\u00b2", 1), ("9" * 5000, 1), (None, 1), ("-1", 1), (7, 7)):
        event = {"Records": [{"messageId": "m", "body": "{}", "attributes": {"ApproximateReceiveCount": count}}]}
        assert parse_sqs_event(event)[0].receive_count == expected


def test_a_built_scheduled_event_parses_back_with_its_rule_account_and_region() -> None:
    rule = "arn:aws:events:eu-west-1:111122223333:rule/dataquest-ingest-daily"
    event = scheduled_event(rule)
    assert (event["account"], event["region"], event["resources"]) == ("111122223333", "eu-west-1", [rule])
    parsed = parse_schedule_event(event)
    assert parsed.source == "aws.events"
    assert parsed.id == event["id"]
    assert parsed.time is not None
    assert parsed.time.endswith("Z")
