"""How the relay hands a batch to a function and reads its answer, as Lambda's Invoke API does.

Two invokers: :func:`http_invoker` posts to a Runtime Interface Emulator endpoint (docker-compose);
:func:`handler_invoker` calls a handler in this process (``dataquest run``, which passes the handlers in, each
invocation with a :class:`LambdaContext` of its own: this module imports no handler, so that it runs where
polars is not installed), a raised exception being the function error Lambda reports. :func:`failed_ids` reads
an :class:`Answer` as the event source mapping does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dataquest import log
from dataquest.config import REPORT_FUNCTION_TIMEOUT

logger = log.get(__name__)

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REGION = "us-east-1"  # of the in-process functions' ARNs (and the embedded emulator)


@dataclass(frozen=True)
class Answer:
    """What the function endpoint answered to one invocation."""

    status: int
    payload: Any
    function_error: str | None = None


@dataclass(frozen=True)
class LambdaContext:
    """The part of Lambda's context object the handlers read; the remaining time counts down from ``timeout_ms``
    from the moment the context is made (one per invocation)."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 1024
    timeout_ms: int = REPORT_FUNCTION_TIMEOUT * 1000
    started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


Invoke = Callable[[dict[str, Any]], Answer]
# The function_error of an answer whose body is not JSON.
NOT_JSON = "the answer is not JSON"
Handler = Callable[[dict[str, Any], Any], Any]


def failed_ids(batch_ids: Sequence[str], answer: Answer) -> tuple[set[str], str | None]:
    """The ids of the records to leave on the queue, and why (``None`` when every record succeeded)."""
    everything = set(batch_ids)
    if answer.status != 200:
        return everything, f"the function endpoint answered HTTP {answer.status}"
    payload = answer.payload
    if answer.function_error or (isinstance(payload, dict) and "errorType" in payload and "errorMessage" in payload):
        error_type = payload.get("errorType") if isinstance(payload, dict) else None
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        return everything, f"the function failed: {error_type or answer.function_error}: {message}"
    if not isinstance(payload, dict) or "batchItemFailures" not in payload:
        return set(), None
    items = payload["batchItemFailures"]
    if not isinstance(items, list):
        return everything, "batchItemFailures is not a list: the whole batch failed"
    named: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in everything:
            return everything, f"batchItemFailures names {ident!r}, which is not in the batch: the whole batch failed"
        named.add(ident)
    return named, (f"{len(named)} record(s) named in batchItemFailures" if named else None)


def http_invoker(client: httpx.Client, function_url: str) -> Invoke:
    """Invoke through a Runtime Interface Emulator (or anything speaking Lambda's Invoke API) at ``function_url``."""

    def invoke(event: dict[str, Any]) -> Answer:
        response = client.post(function_url, content=json.dumps(event), headers={"Content-Type": "application/json"})
        function_error = response.headers.get("X-Amz-Function-Error")
        try:
            payload = response.json() if response.content else None
        except ValueError:
            # Not JSON, such as the RIE's "Task timed out after 300.00 seconds" (it answers a timeout with 200):
            # Lambda fails the whole batch on an answer that is not JSON, so the relay does too.
            payload = response.text
            function_error = function_error or NOT_JSON
        return Answer(response.status_code, payload, function_error)

    return invoke


def handler_invoker(handler: Handler, context: Callable[[], Any] | None = None) -> Invoke:
    """Invoke ``handler(event, context())`` in this process. As Lambda's runtime does, a raised exception becomes
    the function error (an ``errorType``/``errorMessage`` document), which fails the whole batch."""

    def invoke(event: dict[str, Any]) -> Answer:
        try:
            payload = handler(event, context() if context is not None else None)
        except Exception as exc:  # as Lambda does: a raising handler is a function error, logged with its trace
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            logger.error("function raised", exc_info=True, extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})
            return Answer(200, error, "Unhandled")
        return Answer(200, payload)

    return invoke
