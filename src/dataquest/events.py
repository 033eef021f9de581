"""Typed views of the events the Lambda functions receive: schedules, and S3 notifications inside SQS.

The raw event is ``Any`` only here, at the boundary; everything past these functions is typed. A record that
does not have the documented shape raises :class:`~dataquest.errors.ValidationError` naming what was expected
and what was seen, so that the report handler can fail that record alone.

References: the S3 notification structure
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html), S3's events in
EventBridge, which an EventBridge rule puts on the lake queue
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), the SQS event
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html) and the scheduled events of EventBridge rules and
EventBridge Scheduler.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from dataquest.config import BLS_DATA_KEY, POPULATION_KEY
from dataquest.errors import ValidationError

#: The objects whose creation makes a new report (the notification filters of every environment).
REPORT_INPUT_KEYS: tuple[str, ...] = (POPULATION_KEY, BLS_DATA_KEY)
TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class ScheduleEvent:
    """What started an ingest run: the scheduler that sent it, and when it was due."""

    source: str
    time: str | None = None
    id: str | None = None


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    """The event an EventBridge scheduled rule gives the ingest function (``dataquest run``, ``make local-invoke``)."""
    _arn, _aws, _service, region, account, _resource = rule_arn.split(":", 5)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def parse_schedule_event(raw: Any) -> ScheduleEvent:
    """A scheduled-rule event (``source: aws.events``), an EventBridge Scheduler payload, or ``{}`` (manual).

    EventBridge Scheduler sends whatever input its target was given; an object is accepted whatever its keys.
    """
    if raw is None:
        return ScheduleEvent(source="manual")
    if not isinstance(raw, dict):
        raise ValidationError(f"ingest event: expected a JSON object (a scheduled event), saw {type(raw).__name__}")
    source = raw.get("source")
    due = raw.get("time")
    ident = raw.get("id")
    return ScheduleEvent(
        source=source if isinstance(source, str) and source else "manual",
        time=due if isinstance(due, str) else None,
        id=ident if isinstance(ident, str) else None,
    )


@dataclass(frozen=True)
class SqsMessage:
    """One record of an SQS batch: its id (what ``batchItemFailures`` names), body and delivery count."""

    message_id: str
    body: str
    receive_count: int = 1
    error: str | None = None
    """Why this record is not an SQS record (no ``messageId``): it fails alone, its body unread."""


@dataclass(frozen=True)
class S3Change:
    """One S3 event record: the bucket, the decoded key, what happened, and the version it made."""

    bucket: str
    key: str
    event_name: str
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None

    @property
    def created(self) -> bool:
        return self.event_name.startswith("ObjectCreated")

    @property
    def is_report_input(self) -> bool:
        return self.created and self.key in REPORT_INPUT_KEYS


@dataclass(frozen=True)
class Notification:
    """The body of one SQS message sent by S3: an ``s3:TestEvent``, or event records."""

    changes: tuple[S3Change, ...]
    test_event: bool = False


def parse_sqs_event(raw: Any, function: str = "report") -> tuple[SqsMessage, ...]:
    """The records of an SQS event for the ``function`` it invokes. An event that is not an SQS batch at all is a
    :class:`ValidationError`; a record without a string ``messageId`` comes back with its ``error`` set and an
    empty body (named by what its ``messageId`` holds, else ``""``), so that it fails alone."""
    if not isinstance(raw, dict) or not isinstance(raw.get("Records"), list):
        raise ValidationError(f"{function} event: expected an SQS event (an object with a 'Records' list)")
    messages: list[SqsMessage] = []
    for i, record in enumerate(raw["Records"]):
        if not isinstance(record, dict) or not isinstance(record.get("messageId"), str):
            given = record.get("messageId") if isinstance(record, dict) else None
            name = "" if given is None else str(given)[:100]
            error = f"{function} event: record {i} has no 'messageId' (a string): not an SQS record"
            messages.append(SqsMessage(message_id=name, body="", error=error))
            continue
        body = record.get("body")
        attributes = record.get("attributes")
        count = attributes.get("ApproximateReceiveCount", "1") if isinstance(attributes, dict) else "1"
        messages.append(
            SqsMessage(
                message_id=record["messageId"],
                body=body if isinstance(body, str) else "",
                receive_count=_count(count),
            )
        )
    return tuple(messages)


def _count(value: object) -> int:
    # "²".isdigit() is true and int() refuses it; a 5,000-digit string is past int()'s limit: both count as 1.
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 1


MAX_BODY_CHARS = 256 * 1024
"""SQS's own limit on a message body; a longer one did not come from S3 through SQS."""


def parse_notification(body: str) -> Notification:
    """Parse the body S3 put on the queue. Keys arrive URL-encoded (``+`` for spaces): they are decoded here.

    Any body that is not an S3 notification, whatever its shape (not JSON, nested past the parser's recursion
    limit, huge), raises :class:`ValidationError` with a short message, so that its record fails alone.
    """
    return _notification(_load(body, "S3 notification"))


def _load(body: str, what: str) -> dict[str, Any]:
    if len(body) > MAX_BODY_CHARS:
        raise ValidationError(f"{what}: the message body is {len(body)} characters, over SQS's 256 KiB")
    try:
        doc = json.loads(body)
    except RecursionError as exc:
        raise ValidationError(f"{what}: the message body is nested too deep to be one: {body[:40]!r}") from exc
    except ValueError as exc:
        raise ValidationError(f"{what}: the message body is not JSON ({str(exc)[:100]}): {body[:80]!r}") from exc
    if not isinstance(doc, dict):
        raise ValidationError(f"{what}: expected a JSON object, saw {type(doc).__name__}")
    return doc


def _notification(doc: dict[str, Any]) -> Notification:
    if doc.get("Event") == TEST_EVENT:
        return Notification(changes=(), test_event=True)
    records = doc.get("Records")
    if not isinstance(records, list):
        keys = [k[:40] for k in sorted(doc)[:8]]
        raise ValidationError(f"S3 notification: expected 'Records' (a list) or an s3:TestEvent, saw keys {keys}")
    return Notification(changes=tuple(_s3_change(r, i) for i, r in enumerate(records)))


def _s3_change(record: Any, index: int) -> S3Change:
    try:
        s3 = record["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = obj["key"]
        event_name = record["eventName"]
    except (KeyError, TypeError) as exc:
        raise ValidationError(
            f"S3 notification: record {index} lacks {exc}: expected eventName, s3.bucket.name, s3.object.key"
        ) from exc
    if not all(isinstance(v, str) for v in (bucket, key, event_name)):
        raise ValidationError(f"S3 notification: record {index}: eventName, bucket and key must be strings")
    return S3Change(
        bucket=bucket,
        key=unquote_plus(key),
        event_name=event_name,
        version_id=_opt_str(obj.get("versionId")),
        etag=_opt_str(obj.get("eTag")),
        sequencer=_opt_str(obj.get("sequencer")),
    )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


#: S3's EventBridge detail types the lake's rule routes, and the S3 notification event name each stands for.
EVENTBRIDGE_TYPES: dict[str, str] = {"Object Created": "ObjectCreated", "Object Deleted": "ObjectRemoved"}


def parse_change_body(body: str) -> Notification:
    """A queue message that names changed objects, in either shape S3 sends: its own notification (``Records``,
    or an ``s3:TestEvent``), or an S3 event that an EventBridge rule delivered (``source: aws.s3``, ``detail-type``
    ``Object Created`` or ``Object Deleted``, the object in ``detail``). Anything else is a
    :class:`ValidationError` naming what was expected, so that its record fails alone."""
    doc = _load(body, "S3 event")
    if "detail-type" not in doc:
        return _notification(doc)
    kind = doc.get("detail-type")
    detail: Any = doc.get("detail")
    if doc.get("source") != "aws.s3" or kind not in EVENTBRIDGE_TYPES:
        raise ValidationError(
            f"EventBridge event: expected source aws.s3 and detail-type {' or '.join(EVENTBRIDGE_TYPES)}, "
            f"saw {str(doc.get('source'))[:40]!r} and {str(kind)[:40]!r}"
        )
    try:
        bucket, obj = detail["bucket"]["name"], detail["object"]
        key = obj["key"]
    except KeyError as exc:
        raise ValidationError(
            f"EventBridge event: the detail lacks {exc}: expected detail.bucket.name, detail.object.key"
        ) from exc
    except TypeError as exc:
        raise ValidationError("EventBridge event: detail, detail.bucket and detail.object must be objects") from exc
    if not isinstance(bucket, str) or not isinstance(key, str) or not key:
        raise ValidationError("EventBridge event: detail.bucket.name and detail.object.key must be strings")
    reason = _opt_str(detail.get("reason")) or ""
    change = S3Change(
        bucket=bucket,
        key=key,  # as given: the mirror's keys (BLS file names) hold no character that URL encoding changes
        event_name=f"{EVENTBRIDGE_TYPES[kind]}:{reason}".rstrip(":"),
        version_id=_opt_str(obj.get("version-id")),
        etag=_opt_str(obj.get("etag")),
        sequencer=_opt_str(obj.get("sequencer")),
    )
    return Notification(changes=(change,))
