"""The transfer Lambda (the whole-tree fan-out): an SQS batch of transfer messages in, ``{"batchItemFailures"}`` out.

Each record is one message of the transfer queue (:mod:`dataquest.bls.transfer.messages`): one file, or a batch of small
ones, or a continuation of a large one. :func:`dataquest.bls.transfer.worker.run_record` does it: skip what the mirror
already holds, stream the rest, pause near the time limit and send a continuation. A record fails alone (a
malformed message, any file's error) and SQS delivers it again, then to the transfer dead-letter queue.

The container paces its requests to BLS at ``DQ_REQUEST_INTERVAL * DQ_TRANSFER_STREAMS`` ("interval times maximum
concurrency", :func:`dataquest.config.transfer_interval`): with the event source's ``maximum_concurrency`` at
``DQ_TRANSFER_STREAMS``, the deployment starts at most one request per ``DQ_REQUEST_INTERVAL``. The image is the
ingest image with this handler as its command. Nothing here imports polars.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dataquest import log
from dataquest.app import App, app_from_env
from dataquest.bls.transfer.worker import Transfers, run_record
from dataquest.events import parse_sqs_event

logger = log.get(__name__)


container_app = cache(app_from_env)
"""The App of this Lambda container: built from the environment on the first call, then kept."""


def handler(event: Any, context: Any, app: App | None = None) -> dict[str, list[dict[str, str]]]:
    app = app or container_app()
    with log.invocation(context):
        transfers = Transfers.of(app, context)
        failed = [m.message_id for m in parse_sqs_event(event, "transfer") if not run_record(transfers, m)]
        log.event(logger, "transfer batch", failed=len(failed))
        log.emit_metrics(
            transfers.tally.metrics(),
            units={"BytesDownloaded": "Bytes"},
            dimensions={"Function": "transfer"},
            stream=app.metrics_stream,
        )
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
