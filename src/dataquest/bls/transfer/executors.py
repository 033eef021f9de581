"""Who carries out a survey's planned uploads: this process, or the transfer function through its queue.

The sync (:mod:`dataquest.bls.sync`) plans every survey the same way (lease, listing, guards, clock checks,
deletes) and hands each plan's uploads to one :class:`Executor`, chosen once by whoever starts the run:

- :class:`InProcess`: the uploads stream from this process, ``DQ_TRANSFER_STREAMS`` at once
  (:class:`~dataquest.bls.transfer.streams.Streams`); ``sync-bls`` and an ingest job without a transfer queue.
- :class:`ToQueue`: the uploads become transfer messages (:mod:`dataquest.bls.transfer.messages`), held until
  every survey is planned and then sent, so that the planner and the transfers never overlap at the source; the
  transfer function (:mod:`dataquest.bls.transfer.worker`) makes them. :func:`dataquest.ingest.run_ingest` picks it
  when ``DQ_TRANSFER_QUEUE_URL`` is set.

The two differ in one more thing the sync asks: which stale multipart uploads a survey's planning may abort. In
process, every one (a killed run's); with the queue, only those older than
:data:`~dataquest.config.RESUMABLE_UPLOAD_GRACE`, since a transfer resumed over several invocations keeps its
upload open without holding the survey's lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.summary import Planned
from dataquest.bls.transfer.messages import TransferMessage, plan_messages
from dataquest.bls.transfer.streams import Streams, cut_reads
from dataquest.config import RESUMABLE_UPLOAD_GRACE, Settings
from dataquest.documents import ItemError
from dataquest.storage import aws_error

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from dataquest.bls.plan import Action
    from dataquest.http.client import Fetcher

SEND_BATCH = 10  # SendMessageBatch's limit

Upload = Callable[["Action", Streams], None]
"""One file's upload in this process (the sync's): its own failure recorded by it; :meth:`Streams.check` between
two chunks, so that a stop of the pool aborts it."""


class Executor(Protocol):
    """Carries out the uploads of the surveys of one run."""

    @property
    def spare_uploads_younger_than(self) -> timedelta | None:
        """Open multipart uploads younger than this are left alone when a survey is planned; ``None``: none are."""

    def transfer(self, run_id: str, survey: str, uploads: Sequence[Action], upload: Upload) -> Planned | None:
        """Carry out (or take over) one survey's uploads; :class:`Planned` when they were handed over."""

    def finish(self) -> list[ItemError]:
        """After every survey is planned: what is left to do (send the messages), and the files that failed it."""


class InProcess:
    """The uploads on this process's pool of transfer streams."""

    spare_uploads_younger_than: timedelta | None = None

    def __init__(self, streams: Streams) -> None:
        self.streams = streams

    @classmethod
    def of(cls, settings: Settings, fetcher: Fetcher) -> InProcess:
        """``DQ_TRANSFER_STREAMS`` streams over ``fetcher``, whose blocked reads a stop cuts."""
        return cls(Streams(settings.transfer_streams, on_stop=lambda: cut_reads(fetcher)))

    def transfer(self, run_id: str, survey: str, uploads: Sequence[Action], upload: Upload) -> Planned | None:
        self.streams.run(uploads, lambda action: upload(action, self.streams))
        return None

    def finish(self) -> list[ItemError]:
        return []


class ToQueue:
    """The uploads as transfer messages: held per survey, sent (10 per ``SendMessageBatch``) by :meth:`finish`."""

    spare_uploads_younger_than: timedelta | None = RESUMABLE_UPLOAD_GRACE

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.held: list[TransferMessage] = []

    def transfer(self, run_id: str, survey: str, uploads: Sequence[Action], upload: Upload) -> Planned | None:
        self.held.extend(plan_messages(run_id, survey, uploads))
        return Planned(len(uploads), sum(a.size for a in uploads))

    def finish(self) -> list[ItemError]:
        """Send every held message; the files of a message that could not be sent are errors."""
        held, self.held = self.held, []
        errors: list[ItemError] = []
        for start in range(0, len(held), SEND_BATCH):
            batch = held[start : start + SEND_BATCH]
            for message, failed in zip(batch, self._send_batch(batch), strict=True):
                if failed is not None:
                    errors.extend(
                        ItemError(path=log.redact(f.url), error=f"sending its transfer message failed: {failed}")
                        for f in message.files
                    )
        return errors

    def _send_batch(self, batch: list[TransferMessage]) -> list[str | None]:
        entries = [{"Id": str(i), "MessageBody": m.body()} for i, m in enumerate(batch)]
        try:
            resp = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            return [aws_error(exc)] * len(batch)
        failed = {e["Id"]: f"{e.get('Code', '')}: {e.get('Message', '')}" for e in resp.get("Failed", [])}
        return [failed.get(str(i)) for i in range(len(batch))]
