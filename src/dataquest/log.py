"""Logging: JSON lines in Lambda (and whenever stderr is not a terminal), readable lines on a terminal.

Messages are constant; variables go in ``extra={"fields": {...}}`` (or :func:`event`), so that a log query
can filter on them. :func:`emit_metrics` prints CloudWatch Embedded Metric Format lines.

:func:`redact` is the one place that hides credentials a configured URL may carry (``user:password@`` in
``DQ_BLS_BASE_URL``, an API key in ``DQ_POPULATION_URL``'s query). Every sink applies it: both log formatters,
the run's ``_logs/`` trail, source error messages, the CLI's stdout and stderr, and the ``source-url`` metadata.
:func:`dataquest.redaction.printable` escapes and trims text that came from outside (a response body) before it
enters a message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from dataquest import config
from dataquest.config import parse_level
from dataquest.redaction import REDACTED, redact

# The public names; REDACTED and redact are re-exported from dataquest.redaction (callers write log.redact).
__all__ = [
    "LOGGER_NAME",
    "parse_level",
    "METRICS_NAMESPACE",
    "REDACTED",
    "redact",
]

LOGGER_NAME = "dataquest"
METRICS_NAMESPACE = "DataQuest"
# The deployment's environment (dev, prod), set by Terraform on every function: a dimension of every metric, so that
# two environments in one account write two series. Unset (a local run): no such dimension.
ENVIRONMENT_VARIABLE = "DQ_ENVIRONMENT"


request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


# Lambda's JSON log format (its docs, "log-level filtering"): a line is filtered by its "level", one of TRACE, DEBUG,
# INFO, WARN, ERROR, FATAL, and needs an RFC 3339 "timestamp"; a line without both is kept as INFO whatever it says.
# Python's WARNING and CRITICAL are not Lambda's names.
LAMBDA_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}
# Metric lines (EMF) are INFO: the functions' application_log_level stays at INFO or below (Terraform's lambda_image
# refuses more), so that no metric is filtered out.
METRICS_LEVEL = "INFO"


def lambda_level(levelno: int) -> str:
    """The level name Lambda reads for a Python level: TRACE..FATAL (a custom level takes the next one up)."""
    if levelno < logging.DEBUG:
        return "TRACE"
    for threshold, name in ((logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARN")):
        if levelno <= threshold:
            return name
    return "ERROR" if levelno <= logging.ERROR else "FATAL"


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Lambda's JSON log format reads it: 2026-01-01T03:00:00.000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level (Lambda's names), logger, message, request id and the record's
    fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": timestamp(record.created),
            "level": lambda_level(record.levelno),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            doc["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            doc.update(fields)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(doc, default=str))


class TextFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value ...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname.lower():7} "
        line += record.getMessage()
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping) and fields:
            line += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Within the block, every log line carries the Lambda invocation's request id (``context.aws_request_id``)."""
    token = request_id.set(getattr(context, "aws_request_id", None))
    try:
        yield
    finally:
        request_id.reset(token)


def in_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ or "AWS_LAMBDA_RUNTIME_API" in os.environ


def setup(level: str | int | None = None, stream: TextIO | None = None, *, json_lines: bool | None = None) -> None:
    """Configure the ``dataquest`` logger once (idempotent): JSON unless stderr is a terminal.

    ``level`` (the CLI's ``--log-level``) wins over ``DQ_LOG_LEVEL``; either is read in any case, and a value
    that is not a level is a :class:`~dataquest.errors.ConfigurationError` naming the flag or the variable.
    """
    number = parse_level(level, "--log-level") if level is not None else config.log_level()
    out = stream or sys.stderr
    logger = logging.getLogger(LOGGER_NAME)
    if json_lines is None:
        json_lines = in_lambda() or not out.isatty()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(number)


def get(name: str) -> logging.Logger:
    """The logger for a module: ``get(__name__)``."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log a constant ``message`` with ``fields`` as structured data."""
    logger.log(level, message, extra={"fields": fields})


def emit_metrics(
    metrics: Mapping[str, float | int],
    *,
    units: Mapping[str, str] | None = None,
    dimensions: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Print one CloudWatch Embedded Metric Format line to stdout (Lambda ships it to CloudWatch Metrics), with the
    ``timestamp`` and ``level`` Lambda's JSON log format filters on, and the ``Environment`` dimension when
    ``DQ_ENVIRONMENT`` is set."""
    units = units or {}
    dims = dict(dimensions or {})
    if os.environ.get(ENVIRONMENT_VARIABLE):
        dims["Environment"] = os.environ[ENVIRONMENT_VARIABLE]
    now = time.time()
    doc: dict[str, Any] = {
        "timestamp": timestamp(now),
        "level": METRICS_LEVEL,
        "_aws": {
            "Timestamp": int(now * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [sorted(dims)] if dims else [[]],
                    "Metrics": [{"Name": k, "Unit": units.get(k, "Count")} for k in metrics],
                }
            ],
        },
        **dims,
        **metrics,
    }
    print(json.dumps(doc), file=stream or sys.stdout, flush=True)
    return doc
