"""The composition root: one :class:`App` builds every client dataquest uses, from one :class:`Settings`.

Each client is built on first use, once, and the App closes what it built (an App used as a context manager
closes on exit; a Lambda container's App lives as long as the container). A client handed in (a test's fake,
the embedded run's emulator clients) is used as it is and left to its owner to close.

The one rule for the User-Agent and ``DQ_CONTACT``, for the handlers and the CLI alike: every request carries
the operator's contact when one is set (a malformed one is an error); BLS answers 403 without it, so whatever
reaches BLS asks for :attr:`App.bls_fetcher`, which fails with a
:class:`~dataquest.errors.ConfigurationError` naming the variable before any request. DataUSA does not ask
for a contact: ``fetch-population`` without one sends ``dataquest/<version>`` alone (the ingest job, which
reaches BLS first, always has one).

The handlers, the CLI and the embedded run each ask an App for their clients; nothing else builds one.
Nothing here imports polars: the ingest path stays light at cold start.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from dataquest import log, storage
from dataquest.config import Settings, transfer_interval
from dataquest.http import client as httpclient

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


class App:
    """The clients of one process (or Lambda container), built lazily from ``settings`` and closed by :meth:`close`.

    ``metrics_stream`` is where Embedded Metric Format lines go (stdout in Lambda, where CloudWatch reads them).
    ``sleep`` is how the Fetchers wait between retries and paced requests (a test records the waits instead).
    """

    def __init__(  # noqa: PLR0913 - keyword-only clients and clocks a test hands in, each named at the call
        self,
        settings: Settings,
        *,
        s3: S3Client | None = None,
        sqs: SQSClient | None = None,
        http: httpx.Client | None = None,
        metrics_stream: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.metrics_stream: TextIO = metrics_stream or sys.stdout
        self._sleep = sleep
        self._s3, self._sqs, self._http = s3, sqs, http
        self._fetcher: httpclient.Fetcher | None = None
        self._transfer_fetcher: httpclient.Fetcher | None = None
        self._ecr: ECRClient | None = None
        self._opened: list[Any] = []  # what this App built, closed in reverse order

    @property
    def http(self) -> httpx.Client:
        """The HTTP client for the sources, its User-Agent naming ``DQ_CONTACT`` when set (see the module)."""
        if self._http is None:
            agent = self.settings.user_agent(contact_required=False)
            self._http = self._own(httpclient.build_client(agent))
        return self._http

    @property
    def fetcher(self) -> httpclient.Fetcher:
        """The paced, retrying :class:`~dataquest.http.client.Fetcher` over :attr:`http`."""
        if self._fetcher is None:
            self._fetcher = httpclient.Fetcher(
                self.http, min_interval=self.settings.request_interval, sleep=self._sleep
            )
        return self._fetcher

    @property
    def bls_fetcher(self) -> httpclient.Fetcher:
        """:attr:`fetcher`, once ``DQ_CONTACT`` is known good: what reaches BLS asks for this one."""
        self.settings.require_contact()
        return self.fetcher

    @property
    def transfer_fetcher(self) -> httpclient.Fetcher:
        """The transfer function's Fetcher to BLS: over :attr:`http`, paced at ``DQ_REQUEST_INTERVAL`` times
        ``DQ_TRANSFER_STREAMS`` (:func:`dataquest.config.transfer_interval`), kept across the container's
        invocations so that its pacing is too."""
        self.settings.require_contact()
        if self._transfer_fetcher is None:
            self._transfer_fetcher = httpclient.Fetcher(
                self.http, min_interval=transfer_interval(self.settings), sleep=self._sleep
            )
        return self._transfer_fetcher

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = self._own(storage.s3_client(self.settings))
        return self._s3

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = self._own(storage.sqs_client(self.settings))
        return self._sqs

    @property
    def ecr(self) -> ECRClient:
        """The ECR client ``dataquest promote`` uses (the settings' region)."""
        if self._ecr is None:
            import boto3  # noqa: PLC0415 - only promote needs ECR

            self._ecr = self._own(boto3.client("ecr", region_name=self.settings.aws_region))
        return self._ecr

    def _own(self, client: Any) -> Any:
        self._opened.append(client)
        return client

    def close(self) -> None:
        """Close every client this App built (not those handed in); the App can build them again afterwards."""
        opened, self._opened = self._opened, []
        for client in reversed(opened):
            client.close()
            for name in ("_http", "_s3", "_sqs", "_ecr"):
                if getattr(self, name) is client:
                    setattr(self, name, None)
        if self._http is None:
            self._fetcher = self._transfer_fetcher = None

    def __enter__(self) -> App:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def app_from_env() -> App:
    """An App from the environment, as a Lambda container builds it once: logging set up, the bucket required."""
    log.setup()  # DQ_LOG_LEVEL, through config.log_level
    settings = Settings.from_env()
    settings.require_bucket()
    return App(settings)
