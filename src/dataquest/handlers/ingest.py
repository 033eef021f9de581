"""The ingest Lambda: on a schedule, run :func:`dataquest.ingest.run_ingest` and return its summary.

The summary is the ``sync-bls`` document plus ``population``; a run with any error raises
:class:`~dataquest.errors.IngestFailedError` after everything is done, so that the schedule's retry policy and
dead-letter queue see it. The clients come from an :class:`~dataquest.app.App`: Lambda calls
``handler(event, context)`` and gets the container's App, built from the environment on the first call; a caller
that brings its own clients (a test, ``dataquest run``) passes ``app=``. Nothing here imports polars.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dataquest import log
from dataquest.app import App, app_from_env
from dataquest.documents import to_document
from dataquest.events import parse_schedule_event
from dataquest.ingest import run_ingest

logger = log.get(__name__)


container_app = cache(app_from_env)
"""The App of this Lambda container: built from the environment on the first call, then kept."""


def handler(event: Any, context: Any, app: App | None = None) -> dict[str, Any]:
    app = app or container_app()
    with log.invocation(context):
        schedule = parse_schedule_event(event)
        bucket = app.settings.require_bucket()
        log.event(logger, "ingest start", source=schedule.source, scheduled_time=schedule.time, bucket=bucket)
        summary: dict[str, Any] = to_document(run_ingest(app))
        return summary
