"""The lake Lambda: an SQS batch of S3 events on ``bls/`` (and the population) in, batchItemFailures out.

A record is either shape S3 sends (:func:`dataquest.events.parse_change_body`): an S3 notification, or an S3
event an EventBridge rule put on the queue (how AWS delivers ``bls/`` here: the bucket's notification keeps the
report queue's exact keys, and S3 refuses a second entry overlapping them). Each record names changed keys.
``bls/<survey>/<file>`` (created or removed) asks for that survey's update;
``population/nation_population.json`` for the population table. Each survey asked for is updated once per
batch, whatever the number of its records (:func:`dataquest.lake.silver.update_survey` rebuilds it from the
mirror as it is now, and does nothing if it already matches); a survey that fails fails exactly the records
that asked for it, and SQS delivers them again (then to the dead-letter queue). When ``pr`` or the population
changed, gold is recomputed. ``s3:TestEvent`` and keys outside those prefixes are acknowledged; a malformed
record fails alone.

The tables are the bucket's (Glue database ``DQ_LAKE_DATABASE``, ``s3://<bucket>/lake/``). pyiceberg and polars
are imported on the first record that needs them, not at cold start.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import cache
from typing import TYPE_CHECKING, Any

from dataquest import log
from dataquest.app import App, app_from_env
from dataquest.config import BLS_PREFIX, POPULATION_KEY
from dataquest.errors import error_line
from dataquest.events import S3Change, parse_change_body, parse_sqs_event

if TYPE_CHECKING:
    from dataquest.lake.catalog import Lake

logger = log.get(__name__)
POPULATION = "population"
GOLD_SURVEY = "pr"

container_app = cache(app_from_env)


@cache
def container_lake(bucket: str) -> Lake:
    from dataquest.lake.catalog import bucket_lake  # noqa: PLC0415 - pyiceberg only when there is work

    return bucket_lake(bucket)


def target(change: S3Change, bucket: str) -> str | None:
    """What a change asks to update: a survey's name, ``population``, or None (not the lake's business)."""
    if change.bucket != bucket:
        return None
    if change.key == POPULATION_KEY and change.created:
        return POPULATION
    parts = change.key.removeprefix(BLS_PREFIX).split("/")
    if change.key.startswith(BLS_PREFIX) and len(parts) == 2 and parts[0] and parts[1]:
        return parts[0]
    return None


def handler(
    event: Any, context: Any, app: App | None = None, lake: Lake | None = None
) -> dict[str, list[dict[str, str]]]:
    app = app or container_app()
    bucket = app.settings.require_bucket()
    with log.invocation(context):
        failed: list[str] = []
        asking: dict[str, list[str]] = defaultdict(list)
        for message in parse_sqs_event(event, "lake"):
            try:
                note = parse_change_body(message.body)
            except Exception as exc:  # noqa: BLE001 - whatever a record holds, it fails alone, never the batch
                log.event(
                    logger,
                    "malformed record",
                    level=logging.ERROR,
                    message_id=message.message_id,
                    error=error_line(exc),
                )
                failed.append(message.message_id)
                continue
            for name in {t for c in note.changes if (t := target(c, bucket))}:
                asking[name].append(message.message_id)
        if asking:
            failed += _update(app, lake or container_lake(bucket), bucket, asking)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in dict.fromkeys(failed)]}


def _update(app: App, lake: Lake, bucket: str, asking: dict[str, list[str]]) -> list[str]:
    """Update what ``asking`` names; the ids of the records whose update failed."""
    from dataquest.lake import gold  # noqa: PLC0415 - pyiceberg only when there is work
    from dataquest.lake.silver import update_survey  # noqa: PLC0415
    from dataquest.lake.sources import S3Survey  # noqa: PLC0415

    failed: list[str] = []
    changed = False
    for name, ids in sorted(asking.items()):
        try:
            if name == POPULATION:
                _population(app, lake, bucket)
                ok, status = True, "updated"
            else:
                update = update_survey(lake, S3Survey(name, app.s3, bucket))
                ok, status = update.ok, update.status
        except Exception as exc:  # one survey's failure is its records' failure, never the batch's
            fields = {"target": name, "error": error_line(exc)}
            logger.error("lake update failed", exc_info=True, extra={"fields": fields})
            ok, status = False, "failed"
        changed |= ok and status != "unchanged" and name in (GOLD_SURVEY, POPULATION)
        if not ok:
            failed += ids
    if changed:
        try:
            result = gold.refresh_gold(lake)
            log.event(logger, "gold", status=result.status, notes=result.notes, failures=result.failures)
        except Exception as exc:
            logger.error("gold failed", exc_info=True, extra={"fields": {"error": error_line(exc)}})
            failed += asking.get(GOLD_SURVEY, []) + asking.get(POPULATION, [])
    return failed


def _population(app: App, lake: Lake, bucket: str) -> None:
    from dataquest import storage  # noqa: PLC0415
    from dataquest.lake import gold  # noqa: PLC0415

    found = storage.get_bytes(app.s3, bucket, POPULATION_KEY)
    if found is None:
        log.event(logger, "population gone: nothing to update", key=POPULATION_KEY)
        return
    body, info = found
    gold.update_population(lake, body, POPULATION_KEY, info.version_id or info.etag)
