"""The exceptions dataquest raises.

Every error the package raises on purpose is a ``DataQuestError``; third-party exceptions are translated at
the boundary with ``raise ... from exc`` so that callers (the CLI, the handlers) need catch only this tree::

    DataQuestError
    ├── ConfigurationError      a setting is missing or invalid (names the variable or flag)
    ├── SourceError             an HTTP source failed (names the URL and what to do)
    │   ├── ForbiddenError      403: BLS wants a contact address in the User-Agent
    │   └── ListingError        a directory listing is empty, unparseable or not a BLS listing
    ├── StorageError            S3 or SQS failed (names the bucket/key)
    │   ├── InputMissingError   an input of the report is not in the bucket (yet)
    │   └── LeaseHeldError      another sync holds the lease on this survey
    ├── ValidationError         data that does not have the expected shape (names what was expected and seen)
    ├── IngestFailedError       the ingest job finished with errors (:mod:`dataquest.ingest`, beside its summary)
    └── PromotionError          an ECR promotion could not be made; nothing was changed

    KeyboardInterrupt
    └── Interrupted             SIGTERM or SIGINT arrived (see :mod:`dataquest.signals`); not a DataQuestError,
                                so that no per-file or per-survey handler swallows it and the run stops
"""

from __future__ import annotations

from dataquest.redaction import printable, redact


class DataQuestError(Exception):
    """Base of every error dataquest raises on purpose.

    Its message is redacted (:func:`dataquest.log.redact`): credentials a configured URL carries
    (``user:password@``, a key in the query) never travel in an error, whichever sink prints it."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(redact(str(message)), *args)


class ConfigurationError(DataQuestError):
    """A required setting is missing or a setting has an invalid value."""


class SourceError(DataQuestError):
    """An HTTP source (BLS, DataUSA) answered with an error or could not be reached (``url`` is redacted)."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = None if url is None else redact(url)
        self.status = status


class ForbiddenError(SourceError):
    """The source answered 403 (BLS does this to requests without a contact in the User-Agent)."""


class ListingError(SourceError):
    """A directory listing is empty, unparseable, or not a BLS listing: nothing is deleted on its account."""


class StorageError(DataQuestError):
    """An S3 or SQS call failed."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class InputMissingError(StorageError):
    """An input of the report does not exist. The CLI reports it as an error; the report function acknowledges
    the notification, since the missing input's own notification brings the report when it lands."""


class LeaseHeldError(StorageError):
    """Another sync of the same survey is running (its lease object exists and has not expired)."""


class ValidationError(DataQuestError):
    """Input data does not have the expected shape; the stored copy is left as it was."""


class PromotionError(DataQuestError):
    """A promotion could not be made; nothing was changed."""


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, SIGINT). Raised in the main thread by :mod:`dataquest.signals`;
    in-flight uploads abort on it, the lease is released and the trail written before it reaches the CLI."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.document: dict[str, object] | None = None
        """What the interrupted command reached (the sync summary), where it had one."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's text for a message of ours: its first line (its type's name when it has none), control
    characters and undecodable bytes escaped, cut to ``limit`` characters, credentials redacted. What translates a
    library's error at a boundary quotes it with this."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    safe = "".join(c if c.isprintable() and c != "\ufffd" else ascii(c)[1:-1] for c in line)
    return redact(safe if len(safe) <= limit else safe[: limit - 3] + "...")


def error_line(exc: BaseException) -> str:
    """The one line an item's error is reported with (a summary's ``errors``, a trail, an outcome, a log field):
    a DataQuestError's own message; anything else, which no boundary translated (a bug, a library's exception),
    as ``unexpected <type>: <message>``, control characters escaped and credentials redacted."""
    if isinstance(exc, DataQuestError):
        return str(exc)
    return redact(f"unexpected {type(exc).__name__}: {printable(str(exc), 500)[1:-1]}")
