"""What a relay reports at the end of a run: the messages in a dead-letter queue, the records left on a queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

RECEIVE_MAX = 10  # records per receive: SQS's limit


@dataclass(frozen=True)
class DeadLetter:
    """A message found in the dead-letter queue, with the times it was received from the source queue."""

    message_id: str
    receive_count: int
    body: str


def dead_letters(sqs: SQSClient, dlq_url: str, receive_counts: dict[str, int]) -> list[DeadLetter]:
    """The messages in the dead-letter queue (read, and left there invisible for a while), each with the number
    of times it was received from the source queue (``receive_counts``, else the DLQ's count less this read)."""
    out: list[DeadLetter] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=RECEIVE_MAX, AttributeNames=["All"], VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            return out
        out += [
            DeadLetter(
                m["MessageId"],
                receive_counts.get(
                    m["MessageId"], int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) - 1
                ),
                m["Body"][:2000],
            )
            for m in messages
        ]


def queue_depth(sqs: SQSClient, queue_url: str) -> int:
    """The records on the queue, visible or in flight."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(v) for v in attrs.values())
