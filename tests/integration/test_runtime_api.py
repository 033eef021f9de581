"""The Runtime API stand-in (tests/support/runtime_api.py) behaves as the Runtime Interface Emulator does.

One test per behaviour, each checked against the RIE's source (aws/aws-lambda-runtime-interface-emulator:
``internal/lambda/rapi/rendering`` for the ``/next`` headers and the error documents, ``internal/lambda/rie``
for the invoke endpoint and the timeout, ``internal/lambda/interop`` for the payload limit). The Runtime API side
is driven over raw HTTP, as a runtime would; the invoke side runs ``python -m awslambdaric`` on the handlers in
tests/support/lambda_handlers.py, so that what the handler sees is what awslambdaric made of our answers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.runtime_api import (
    INVOKE_PATH,
    MAX_PAYLOAD_SIZE,
    RUNTIME_PREFIX,
    MiniRie,
    RuntimeApi,
)

pytestmark = pytest.mark.integration

HANDLERS = "tests.support.lambda_handlers"
NEXT = f"{RUNTIME_PREFIX}/invocation/next"
INVALID_REQUEST_ID = {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    with RuntimeApi(timeout_s=30) as server:
        yield server


def _next(api: RuntimeApi) -> httpx.Response:
    return httpx.get(f"http://{api.address}{NEXT}", timeout=10)


def _post(api: RuntimeApi, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"http://{api.address}{RUNTIME_PREFIX}{path}", content=body, headers=headers, timeout=10)


# --- the Runtime API, as a runtime calls it --------------------------------------------------------------------
def test_next_answers_the_event_with_the_rie_headers(api: RuntimeApi) -> None:
    before = int(time.time() * 1000)
    api.submit({"hello": "world"})
    answer = _next(api)
    assert answer.status_code == 200
    assert answer.http_version == "HTTP/1.1"
    # awslambdaric's native client waits forever on a /next answer without a Content-Type.
    assert answer.headers["Content-Type"] == "application/json"
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert answer.json() == {"hello": "world"}
    assert uuid.UUID(answer.headers["Lambda-Runtime-Aws-Request-Id"]).version == 4
    assert answer.headers["Lambda-Runtime-Invoked-Function-Arn"] == (
        "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    )
    deadline = int(answer.headers["Lambda-Runtime-Deadline-Ms"])
    assert before + 30_000 <= deadline <= int(time.time() * 1000) + 30_000
    # The RIE sends neither without an X-Amzn-Trace-Id / X-Amz-Client-Context on the invoke.
    assert "Lambda-Runtime-Trace-Id" not in answer.headers
    assert "Lambda-Runtime-Client-Context" not in answer.headers


def test_next_passes_on_the_trace_id_and_the_client_context(api: RuntimeApi) -> None:
    api.submit({}, trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", client_context='{"custom": {}}')
    answer = _next(api)
    assert answer.headers["Lambda-Runtime-Trace-Id"] == "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    assert answer.headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'


def test_response_and_error_are_accepted_with_202(api: RuntimeApi) -> None:
    first, second = api.submit({"n": 1}), api.submit({"n": 2})
    request_id = _next(api).headers["Lambda-Runtime-Aws-Request-Id"]
    accepted = _post(api, f"/invocation/{request_id}/response", b'{"ok": true}')
    assert (accepted.status_code, accepted.json()) == (202, {"status": "OK"})
    request_id = _next(api).headers["Lambda-Runtime-Aws-Request-Id"]
    error = b'{"errorMessage": "boom", "errorType": "ValueError"}'
    accepted = _post(
        api, f"/invocation/{request_id}/error", error, **{"Lambda-Runtime-Function-Error-Type": "Unhandled"}
    )
    assert (accepted.status_code, accepted.json()) == (202, {"status": "OK"})
    assert first.outcome is not None
    assert second.outcome is not None
    assert (first.outcome.ok, first.outcome.payload) == (True, {"ok": True})
    assert (second.outcome.ok, second.outcome.error_type, second.outcome.body) == (False, "Unhandled", error)


@pytest.mark.parametrize("kind", ["response", "error"])
def test_an_unknown_or_answered_request_id_gets_400_invalid_request_id(api: RuntimeApi, kind: str) -> None:
    unknown = _post(api, f"/invocation/{uuid.uuid4()}/{kind}", b"{}")
    assert (unknown.status_code, unknown.json()) == (400, INVALID_REQUEST_ID)
    api.submit({})
    request_id = _next(api).headers["Lambda-Runtime-Aws-Request-Id"]
    assert _post(api, f"/invocation/{request_id}/{kind}", b"{}").status_code == 202
    again = _post(api, f"/invocation/{request_id}/{kind}", b"{}")
    assert (again.status_code, again.json()) == (400, INVALID_REQUEST_ID)


def test_a_response_over_the_payload_limit_gets_413_and_fails_the_invocation(api: RuntimeApi) -> None:
    inv = api.submit({})
    request_id = _next(api).headers["Lambda-Runtime-Aws-Request-Id"]
    refused = _post(api, f"/invocation/{request_id}/response", b"x" * (MAX_PAYLOAD_SIZE + 1))
    assert refused.status_code == 413
    assert refused.json() == {
        "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "RequestEntityTooLarge",
    }
    assert inv.outcome is not None
    assert (inv.outcome.ok, inv.outcome.error_type) == (False, "Function.ResponseSizeTooLarge")
    assert inv.outcome.payload["errorMessage"] == (
        "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."
    )


def test_a_response_at_the_payload_limit_is_accepted(api: RuntimeApi) -> None:
    inv = api.submit({})
    request_id = _next(api).headers["Lambda-Runtime-Aws-Request-Id"]
    assert _post(api, f"/invocation/{request_id}/response", b"x" * MAX_PAYLOAD_SIZE).status_code == 202
    assert inv.outcome is not None
    assert inv.outcome.ok


def test_init_error_is_accepted_with_202(api: RuntimeApi) -> None:
    body = b'{"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"}'
    answer = _post(api, "/init/error", body, **{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    assert (answer.status_code, answer.json()) == (202, {"status": "OK"})
    assert [(e.error_type, e.body) for e in api.init_errors] == [("Runtime.ImportModuleError", body)]


# --- the invoke endpoint, with awslambdaric running a handler ---------------------------------------------------
@pytest.fixture
def rie_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What the RIE reads from its environment, unset unless a test sets it."""
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return {}


def _rie(handler: str, tmp_path: Path, env: dict[str, str]) -> MiniRie:
    return MiniRie([f"{HANDLERS}.{handler}"], env=env, stdout=tmp_path / "runtime.log")


def _invoke(rie: MiniRie, body: bytes = b"{}", method: str = "POST", **headers: str) -> httpx.Response:
    return httpx.request(method, rie.url, content=body, headers=headers, timeout=60)


@pytest.mark.parametrize("method", ["POST", "PUT", "GET"])
def test_invoke_path_takes_any_method_and_answers_the_result_bytes(
    rie_env: dict[str, str], tmp_path: Path, method: str
) -> None:
    assert INVOKE_PATH == "/2015-03-31/functions/function/invocations"
    with _rie("echo", tmp_path, rie_env) as rie:
        answer = _invoke(rie, b'{"a": [1, 2]}', method)
    assert answer.status_code == 200
    assert answer.json() == {"a": [1, 2]}
    # The RIE copies none of the function's headers onto its answer; Go sniffs the body's type.
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Amz-Function-Error" not in answer.headers


def test_the_handler_sees_the_rie_context(rie_env: dict[str, str], tmp_path: Path) -> None:
    env = {**rie_env, "AWS_LAMBDA_FUNCTION_NAME": "dataquest-local-report", "AWS_LAMBDA_FUNCTION_TIMEOUT": "120"}
    client_context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    with _rie("context_seen", tmp_path, env) as rie:
        seen = _invoke(
            rie, **{"X-Amz-Client-Context": client_context, "X-Amzn-Trace-Id": "Root=1-abc;Sampled=0"}
        ).json()
        plain = _invoke(rie).json()
    assert seen["invoked_function_arn"] == "arn:aws:lambda:us-east-1:012345678912:function:dataquest-local-report"
    assert seen["function_name"] == "dataquest-local-report"
    assert seen["memory_limit_in_mb"] == "3008"
    assert 110_000 < seen["remaining_ms"] <= 120_000
    assert seen["client_context_custom"] == {"k": "v"}
    assert seen["trace_id"] == "Root=1-abc;Sampled=0"
    assert seen["aws_request_id"] != plain["aws_request_id"]
    assert (plain["client_context_custom"], plain["trace_id"]) == (None, None)


def test_a_function_error_is_200_with_the_error_document_and_no_error_header(
    rie_env: dict[str, str], tmp_path: Path
) -> None:
    with _rie("fail", tmp_path, rie_env) as rie:
        answer = _invoke(rie, b'"this"')
    assert answer.status_code == 200
    assert "X-Amz-Function-Error" not in answer.headers
    doc = answer.json()
    assert doc["errorType"] == "ValueError"
    assert doc["errorMessage"] == "failed on purpose: 'this'"
    assert isinstance(doc["stackTrace"], list)


def test_a_client_context_that_is_not_base64_gets_500(rie_env: dict[str, str], tmp_path: Path) -> None:
    with _rie("echo", tmp_path, rie_env) as rie:
        answer = _invoke(rie, **{"X-Amz-Client-Context": "%%% not base64 %%%"})
        assert (answer.status_code, answer.content) == (500, b"")
        assert _invoke(rie, b"[1]").json() == [1]  # nothing reached the runtime; it still serves


def test_a_timeout_answers_task_timed_out_and_restarts_the_runtime(rie_env: dict[str, str], tmp_path: Path) -> None:
    env = {**rie_env, "AWS_LAMBDA_FUNCTION_TIMEOUT": "2"}
    with _rie("sleep", tmp_path, env) as rie:
        _invoke(rie, b'{"seconds": 0}')  # initialised: the timeout below is the invocation's alone
        started = time.monotonic()
        answer = _invoke(rie, b'{"seconds": 30}')
        elapsed = time.monotonic() - started
        assert (answer.status_code, answer.text) == (200, "Task timed out after 2.00 seconds")
        assert 2 <= elapsed < 10
        assert rie.process.exits, "the timed-out runtime was stopped"
        assert _invoke(rie, b'{"seconds": 0}').json() == "slept"  # the next invoke starts it again
    assert len(rie.process.exits) >= 2


def test_a_runtime_that_exits_mid_invocation_answers_runtime_exit_error(
    rie_env: dict[str, str], tmp_path: Path
) -> None:
    with _rie("crash", tmp_path, rie_env) as rie:
        answer = _invoke(rie, b'{"status": 3}')
        doc = answer.json()
        assert answer.status_code == 200
        assert doc["errorType"] == "Runtime.ExitError"
        assert doc["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
        assert rie.process.exits == [3]
        # The next invoke starts the runtime again.
        assert _invoke(rie, b'{"status": 4}').json()["errorMessage"].endswith("exit status 4")


def test_a_handler_that_cannot_load_answers_its_init_error(rie_env: dict[str, str], tmp_path: Path) -> None:
    with _rie("nosuch", tmp_path, rie_env) as rie:
        answer = _invoke(rie)
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["errorType"] == "Runtime.HandlerNotFound"
    assert "nosuch" in doc["errorMessage"]


def test_invocations_are_served_one_at_a_time(rie_env: dict[str, str], tmp_path: Path) -> None:
    """One execution environment: a second invoke waits for the first (the RIE refuses it with 400; the stand-in
    queues it, which the relay never needs either way: it invokes one batch at a time)."""
    with _rie("sleep", tmp_path, rie_env) as rie:
        _invoke(rie, b'{"seconds": 0}')
        ends: list[float] = []

        def call() -> None:
            _invoke(rie, b'{"seconds": 1}')
            ends.append(time.monotonic())

        started = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert len(ends) == 2
    assert max(ends) - started >= 2
