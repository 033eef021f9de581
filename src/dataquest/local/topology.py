"""The queues and the notification Terraform creates, made here for ``dataquest run`` (and the tests).

- :func:`create_topology`: on the embedded emulator, a versioned bucket, the report queue with a dead-letter
  queue (redrive ``maxReceiveCount``), and the bucket notification, ObjectCreated on
  ``population/nation_population.json`` and ``bls/pr/pr.data.0.Current`` to the queue;
- :func:`transfer_queue`: the transfer queue and its dead-letter queue (visibility 6x the transfer function's
  timeout, :data:`~dataquest.config.TRANSFER_QUEUE_VISIBILITY_TIMEOUT`), which the planner feeds;
- :func:`existing_topology`: the same on an existing endpoint and bucket, idempotently, with queues of the
  bucket's own (:func:`queue_names`). The bucket must exist
  (it is the user's: a run does not create it, nor change its versioning); queues are reused when they exist
  and created when not; the two notifications are added to the bucket's configuration, keeping any other
  configuration it has, and the configuration is written only when one is missing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dataquest.config import REPORT_QUEUE_VISIBILITY_TIMEOUT, TRANSFER_QUEUE_VISIBILITY_TIMEOUT
from dataquest.errors import ConfigurationError, StorageError
from dataquest.events import REPORT_INPUT_KEYS
from dataquest.storage import aws_error, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

REPORT_QUEUE_NAME = "dataquest-report"
REPORT_DLQ_NAME = "dataquest-report-dlq"
TRANSFER_QUEUE_NAME = "dataquest-transfer"
TRANSFER_DLQ_NAME = "dataquest-transfer-dlq"
NOTIFICATION_ID = "report-input-{}"


@dataclass(frozen=True)
class Queue:
    """A queue and its dead-letter queue."""

    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class Topology:
    """The bucket, the report queue its notification feeds, and the transfer queue where there is one."""

    bucket: str
    report: Queue
    transfer: Queue | None = None


def create_topology(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    s3: S3Client,
    sqs: SQSClient,
    bucket: str,
    *,
    queue: str = REPORT_QUEUE_NAME,
    dlq: str = REPORT_DLQ_NAME,
    max_receive_count: int = 5,
    visibility_timeout: int = REPORT_QUEUE_VISIBILITY_TIMEOUT,
) -> Topology:
    """Create the bucket (versioned), the queue and its DLQ, and the notification, as Terraform does."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    report = ensure_queue(sqs, queue, dlq, max_receive_count=max_receive_count, visibility_timeout=visibility_timeout)
    ensure_notification(s3, bucket, report.arn)
    return Topology(bucket, report)


def queue_names(bucket: str) -> tuple[str, str, str, str]:
    """The report queue, its DLQ, the transfer queue and its DLQ of ``bucket`` on an existing endpoint: one set per
    bucket (a transfer message names no bucket, so a stale one of bucket A must never reach bucket B's run).
    ``dataquest-<bucket, cut to 40>-<8 hex of its SHA-256>-...``: valid SQS names (80 characters at most), distinct
    for ``a.b`` and ``a-b``."""
    tag = "".join(c if c.isalnum() or c == "-" else "-" for c in bucket.lower())[:40]
    base = f"dataquest-{tag}-{hashlib.sha256(bucket.encode()).hexdigest()[:8]}"
    return f"{base}-report", f"{base}-report-dlq", f"{base}-transfer", f"{base}-transfer-dlq"


def transfer_queue(
    sqs: SQSClient, *, max_receive_count: int = 5, names: tuple[str, str] = (TRANSFER_QUEUE_NAME, TRANSFER_DLQ_NAME)
) -> Queue:
    """The transfer queue and its dead-letter queue, as Terraform's transfer_queue module makes them."""
    return ensure_queue(
        sqs,
        *names,
        max_receive_count=max_receive_count,
        visibility_timeout=TRANSFER_QUEUE_VISIBILITY_TIMEOUT,
    )


def existing_topology(s3: S3Client, sqs: SQSClient, bucket: str, *, max_receive_count: int = 5) -> Topology:
    """The topology on an existing endpoint: the bucket must exist; what else is missing is created."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigurationError(
                f"the bucket {bucket!r} does not exist at this endpoint: dataquest run on an existing endpoint "
                "does not create it; create it first (aws s3 mb s3://<bucket>) or check DQ_BUCKET/--bucket "
                "and that AWS_ENDPOINT_URL (or --endpoint-url) is an S3 endpoint"
            ) from exc
        raise StorageError(
            f"HEAD of the bucket {bucket!r} failed: {aws_error(exc)}; check that AWS_ENDPOINT_URL (or --endpoint-url) "
            "is an S3 endpoint"
        ) from exc
    except BotoCoreError as exc:
        raise StorageError(
            f"HEAD of the bucket {bucket!r} failed ({exc}): check AWS_ENDPOINT_URL (or --endpoint-url) and the "
            "credentials (any key pair for moto or LocalStack: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)"
        ) from exc
    report_name, report_dlq, transfer_name, transfer_dlq = queue_names(bucket)
    try:
        report = ensure_queue(sqs, report_name, report_dlq, max_receive_count=max_receive_count)
        ensure_notification(s3, bucket, report.arn)
        transfer = transfer_queue(sqs, max_receive_count=max_receive_count, names=(transfer_name, transfer_dlq))
    except (ClientError, BotoCoreError, KeyError, TypeError) as exc:  # an answer that is not S3's or SQS's
        raise StorageError(
            f"making the queues and the notification of the bucket {bucket!r} failed ({aws_error(exc)}): check "
            "that AWS_ENDPOINT_URL (or --endpoint-url) is an S3 and SQS endpoint (moto, LocalStack)"
        ) from exc
    return Topology(bucket, report, transfer)


def ensure_queue(
    sqs: SQSClient,
    name: str,
    dlq: str,
    *,
    max_receive_count: int = 5,
    visibility_timeout: int = REPORT_QUEUE_VISIBILITY_TIMEOUT,
) -> Queue:
    """The queue ``name`` with its dead-letter queue ``dlq``: each reused if it exists, else created."""
    dlq_url = (
        _existing(sqs, dlq)
        or sqs.create_queue(QueueName=dlq, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    )
    dlq_arn = _arn(sqs, dlq_url)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = (
        _existing(sqs, name)
        or sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive}
        )["QueueUrl"]
    )
    return Queue(url, _arn(sqs, url), dlq_url, dlq_arn)


def _existing(sqs: SQSClient, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if "NonExistentQueue" in error_code(exc) or error_code(exc) == "QueueDoesNotExist":
            return None
        raise


def _arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def notifications(queue_arn: str) -> list[dict[str, Any]]:
    """The report inputs' ObjectCreated notifications to ``queue_arn``, as the Terraform queue module writes them."""
    return [
        {
            "Id": NOTIFICATION_ID.format(i),
            "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*"],
            # An exact key, as the Terraform queue module writes it: the key as prefix, its name as suffix.
            "Filter": {
                "Key": {
                    "FilterRules": [
                        {"Name": "prefix", "Value": key},
                        {"Name": "suffix", "Value": key.rsplit("/", 1)[-1]},
                    ]
                }
            },
        }
        for i, key in enumerate(REPORT_INPUT_KEYS)
    ]


def ensure_notification(s3: S3Client, bucket: str, queue_arn: str) -> bool:
    """Add the report inputs' notifications to the bucket's configuration, keeping the rest; False if they
    were there already (then nothing is written, and S3 sends no new test event)."""
    current: dict[str, Any] = dict(s3.get_bucket_notification_configuration(Bucket=bucket))
    current.pop("ResponseMetadata", None)
    ours = notifications(queue_arn)
    queues = list(current.get("QueueConfigurations", []))
    present = {(q.get("Id"), q.get("QueueArn")) for q in queues}
    if all((q["Id"], q["QueueArn"]) in present for q in ours):
        return False
    ids = {q["Id"] for q in ours}
    current["QueueConfigurations"] = [q for q in queues if q.get("Id") not in ids] + ours
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)  # type: ignore[arg-type]
    return True
