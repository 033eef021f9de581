"""Small Lambda handlers for the Runtime API stand-in's tests (tests/integration/test_runtime_api.py)."""

from __future__ import annotations

import os
import time
from typing import Any


def echo(event: Any, context: Any) -> Any:
    """The event as it came."""
    return event


def context_seen(event: Any, context: Any) -> dict[str, Any]:
    """What awslambdaric made of the ``/next`` answer's headers."""
    client_context = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context_custom": client_context.custom if client_context is not None else None,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def fail(event: Any, context: Any) -> Any:
    raise ValueError(f"failed on purpose: {event!r}")


def sleep(event: Any, context: Any) -> str:
    time.sleep(float(event["seconds"]))
    return "slept"


def crash(event: Any, context: Any) -> Any:
    os._exit(int(event["status"]))
