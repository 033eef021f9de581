"""The report Lambda: an SQS batch of S3 notifications in, ``{"batchItemFailures": [...]}`` out.

A report is a function of the current versions of its two inputs (``run_report`` HEADs both and writes under
``reports/<versions>/``), so every distinct change in a batch is covered by one run on the current versions,
and a duplicate or out-of-order notification finds that folder's ``report.json`` already there and is skipped
cheaply. Records that are not about an input (other keys, other buckets, ``s3:TestEvent``) are acknowledged;
a malformed record fails alone; if the report run fails, exactly the records that asked for it fail, and SQS
delivers them again (then to the dead-letter queue). A notification that comes while the other input does not
exist yet (the first ingest writes the BLS file minutes before the population) is acknowledged too: there is
nothing to retry, and that input's own notification brings the report when it lands.

polars is imported only when a report is computed, not at cold start.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from dataquest import log
from dataquest.app import App, app_from_env
from dataquest.errors import DataQuestError, InputMissingError, error_line
from dataquest.events import parse_notification, parse_sqs_event

logger = log.get(__name__)


container_app = cache(app_from_env)
"""The App of this Lambda container: built from the environment on the first call, then kept."""


def handler(event: Any, context: Any, app: App | None = None) -> dict[str, list[dict[str, str]]]:
    app = app or container_app()
    bucket = app.settings.require_bucket()
    with log.invocation(context):
        failed: list[str] = []
        wanting: list[str] = []  # ids of the records that announce a change of an input
        for message in parse_sqs_event(event):
            try:
                note = parse_notification(message.body)
            except DataQuestError as exc:
                log.event(
                    logger, "malformed record", level=logging.ERROR, message_id=message.message_id, error=str(exc)
                )
                failed.append(message.message_id)
                continue
            except Exception as exc:  # whatever a record holds, it fails alone, never the batch
                fields = {"message_id": message.message_id, "error": error_line(exc)}
                logger.error("malformed record", exc_info=True, extra={"fields": fields})
                failed.append(message.message_id)
                continue
            changes = [c for c in note.changes if c.is_report_input and c.bucket == bucket]
            if changes:
                wanting.append(message.message_id)
            log.event(
                logger,
                "record",
                message_id=message.message_id,
                test_event=note.test_event,
                keys=[c.key for c in note.changes],
                inputs_changed=len(changes),
            )
        if wanting and not _report(app, bucket):
            failed.extend(wanting)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _report(app: App, bucket: str) -> bool:
    from dataquest.report.builder import run_report  # noqa: PLC0415 - polars only when there is a report to compute

    try:
        result = run_report(app.s3, bucket)
    except InputMissingError as exc:
        log.event(logger, "report waiting for input", bucket=bucket, key=exc.key)
        return True
    except Exception as exc:  # the run fails the records that asked for it (and only those); logged with its trace
        fields = {"bucket": bucket, "error": error_line(exc)}
        logger.error("report failed", exc_info=True, extra={"fields": fields})
        return False
    log.event(logger, "report done", prefix=result.prefix, skipped=result.skipped, keys=list(result.keys))
    return True
