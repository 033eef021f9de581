"""A stand-in for the AWS Lambda Runtime API, and a mini Runtime Interface Emulator (RIE) built on it.

Standard library only, so that it also runs as a plain script mounted into a container
(``python runtime_api.py --port 8080 -- <handler>``).

**Runtime API** (what ``python -m awslambdaric <handler>`` talks to, at ``AWS_LAMBDA_RUNTIME_API``)::

    GET  /2018-06-01/runtime/invocation/next             long-polls; answers the next event
    POST /2018-06-01/runtime/invocation/{id}/response    the handler's result      -> 202
    POST /2018-06-01/runtime/invocation/{id}/error       the handler raised        -> 202
    POST /2018-06-01/runtime/init/error                  the handler failed to load -> 202

It follows the Runtime Interface Emulator's source (github.com/aws/aws-lambda-runtime-interface-emulator,
``internal/lambda/rapi`` and ``internal/lambda/rie``); tests/integration/test_runtime_api.py holds one test per
behaviour:

- ``/next`` answers HTTP/1.1 200 with ``Content-Type: application/json`` and ``Content-Length`` (awslambdaric's
  native client waits forever on an answer without a ``Content-Type``) and the headers
  ``Lambda-Runtime-Aws-Request-Id`` (a UUID), ``Lambda-Runtime-Deadline-Ms`` (epoch ms: now + the timeout),
  ``Lambda-Runtime-Invoked-Function-Arn`` (``arn:aws:lambda:us-east-1:012345678912:function:<name>``, the name
  from ``AWS_LAMBDA_FUNCTION_NAME``, default ``test_function``), and, only when the invoke carried them,
  ``Lambda-Runtime-Trace-Id`` (from ``X-Amzn-Trace-Id``) and ``Lambda-Runtime-Client-Context`` (the base64 of
  ``X-Amz-Client-Context``, decoded);
- ``/response`` and ``/error`` answer 202 ``{"status": "OK"}``; for a request id that is not the one in flight
  (unknown, already answered, timed out) 400 ``{"errorMessage": "Invalid request ID", "errorType":
  "InvalidRequestID"}``; a response over 6 MiB + 100 bytes is refused with 413 ``RequestEntityTooLarge`` and the
  invocation ends with the error ``Function.ResponseSizeTooLarge``.

**In tests**::

    with RuntimeApi() as api, LambdaProcess(api, "dataquest.handlers.report.handler", env=env) as fn:
        outcome = fn.invoke({"Records": [...]})      # an Outcome: ok, payload (parsed JSON), error_type
        assert outcome.payload == {"batchItemFailures": []}

**As a mini-RIE** (for docker-compose, where the real RIE cannot be downloaded)::

    python -m tests.support.runtime_api --port 8080 [--host 0.0.0.0] -- dataquest.handlers.ingest.handler
    python -m tests.support.runtime_api --port 8080 -- python -m awslambdaric dataquest.handlers.ingest.handler

serves, on the one port, the RIE's invoke endpoint next to the Runtime API itself:

    POST /2015-03-31/functions/function/invocations   body = the event (any method, as the RIE's handler takes
                                                      any); answer 200 with the handler's result bytes, or 200
                                                      with the error document (errorMessage, errorType,
                                                      stackTrace): the RIE passes on no ``X-Amz-Function-Error``
                                                      and no Content-Type of the function's (its invoke response
                                                      is ``text/plain; charset=utf-8``, Go's sniffing of a JSON
                                                      body), so a caller tells an error by its ``errorType``.
                                                      Past the timeout (``AWS_LAMBDA_FUNCTION_TIMEOUT`` seconds,
                                                      default 300): 200 ``Task timed out after N.00 seconds``,
                                                      the runtime is stopped and the next invoke starts it again.
                                                      An ``X-Amz-Client-Context`` that is not base64: 500.
    GET  /healthz                                     the stand-in's own (the RIE has none): 200 once the runtime
                                                      has initialised and polls for work, 503 before (for a
                                                      compose health check)

A single word after ``--`` is a handler, run as ``<this python> -m awslambdaric <handler>``; several words are
the whole command (as the RIE takes it). The child inherits the environment plus
``AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`` and the RIE's ``AWS_LAMBDA_FUNCTION_*`` defaults (name
``test_function``, version ``$LATEST``, memory 3008); its output goes to this process's stdout/stderr.
Invocations are served one at a time, like one Lambda execution environment (the RIE answers a concurrent
invoke with 400; the stand-in queues it). If the runtime exits (an init error, a crash), the invocations waiting
are answered with the error (``Runtime.ExitError`` for a crash) and the next invoke starts it again, as the RIE
does.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any

RUNTIME_PREFIX = "/2018-06-01/runtime"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# The RIE's: the account and region it puts in every ARN, its defaults for what the environment does not set.
RIE_ARN_PREFIX = "arn:aws:lambda:us-east-1:012345678912:function:"
RIE_DEFAULT_NAME = "test_function"
RIE_DEFAULT_TIMEOUT_S = 300
RIE_DEFAULT_MEMORY_MB = "3008"
DEFAULT_ARN = RIE_ARN_PREFIX + RIE_DEFAULT_NAME
# Lambda's (and the RIE's) limit on a buffered response: 6 MiB + 100 bytes.
MAX_PAYLOAD_SIZE = 6 * 1024 * 1024 + 100
INVALID_REQUEST_ID = b'{"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}'


@dataclass(frozen=True)
class Outcome:
    """How one invocation ended: the body the runtime posted, and whether it was a result or an error."""

    request_id: str
    ok: bool
    body: bytes
    error_type: str | None = None

    @property
    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    trace_id: str | None = None
    client_context: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None

    def finish(self, outcome: Outcome) -> None:
        if not self.done.is_set():
            self.outcome = outcome
            self.done.set()


class RuntimeApi:
    """The Runtime API on ``host:port`` (port 0: a free one), in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        function_arn: str = DEFAULT_ARN,
        timeout_s: float = 300.0,
    ) -> None:
        self.function_arn = function_arn
        self.timeout_s = timeout_s
        self.init_errors: list[Outcome] = []
        self.polls = 0
        self.invocations: list[Invocation] = []
        self.on_invoke: Any = None  # the mini-RIE's hook: start the runtime before queueing an event
        self.on_timeout: Any = None  # the mini-RIE's hook: stop the runtime after an invocation timed out
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._inflight: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """What ``AWS_LAMBDA_RUNTIME_API`` is set to (``host:port``, no scheme)."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RuntimeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the caller's side ---------------------------------------------------------------------------------
    def submit(self, event: Any, *, trace_id: str | None = None, client_context: str | None = None) -> Invocation:
        """Queue an event (bytes as they are, anything else as JSON) for the runtime's next ``/next``."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        deadline = int((time.time() + self.timeout_s) * 1000)
        inv = Invocation(
            request_id=str(uuid.uuid4()),
            event=body,
            deadline_ms=deadline,
            trace_id=trace_id,
            client_context=client_context,
        )
        with self._lock:
            self.invocations.append(inv)
        self._pending.put(inv)
        return inv

    def invoke(self, event: Any, timeout: float | None = None, **headers: str | None) -> Outcome:
        """Queue ``event`` and wait for the runtime's answer (``TimeoutError`` past ``timeout``: the invocation is
        then abandoned, so that the runtime's late answer is refused as the RIE refuses it)."""
        inv = self.submit(event, **headers)
        if not inv.done.wait(self.timeout_s if timeout is None else timeout):
            self.abandon(inv.request_id)
            raise TimeoutError(f"no answer from the runtime to invocation {inv.request_id}")
        assert inv.outcome is not None
        return inv.outcome

    def abandon(self, request_id: str) -> None:
        """Forget an invocation: a later ``/response`` or ``/error`` for it gets 400 InvalidRequestID."""
        with self._lock:
            self._inflight.pop(request_id, None)

    def fail_waiting(self, outcome_for: Any) -> None:
        """Answer every queued and in-flight invocation with ``outcome_for(request_id)`` (the runtime died)."""
        with self._lock:
            waiting = list(self._inflight.values())
            self._inflight.clear()
        while True:
            try:
                waiting.append(self._pending.get_nowait())
            except queue.Empty:
                break
        for inv in waiting:
            inv.finish(outcome_for(inv.request_id))

    # --- the runtime's side (called by the HTTP handler) ---------------------------------------------------
    def next_invocation(self) -> Invocation | None:
        with self._lock:
            self.polls += 1
        while not self._stopping.is_set():
            try:
                inv = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._lock:
                self._inflight[inv.request_id] = inv
            return inv
        return None

    def in_flight(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._inflight

    def finish(self, request_id: str, outcome: Outcome) -> bool:
        with self._lock:
            inv = self._inflight.pop(request_id, None)
        if inv is None:
            return False
        inv.finish(outcome)
        return True

    def init_error(self, outcome: Outcome) -> None:
        with self._lock:
            self.init_errors.append(outcome)


def _error_type(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return str(doc["errorType"]) if isinstance(doc, dict) and "errorType" in doc else None


def _make_handler(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "runtime-api-stand-in"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(
            self,
            status: int,
            body: bytes = b"",
            headers: Mapping[str, str] | None = None,
            content_type: str | None = "application/json",
        ) -> None:
            self.send_response(status)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the runtime went away (stopped, crashed)
                self.close_connection = True

        def do_GET(self) -> None:
            if self.path == INVOKE_PATH and api.on_invoke is not None:
                self._invoke()
            elif self.path == f"{RUNTIME_PREFIX}/invocation/next":
                inv = api.next_invocation()
                if inv is None:
                    self._send(500, b'{"errorMessage": "shutting down"}')
                    return
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                }
                if inv.trace_id:
                    headers["Lambda-Runtime-Trace-Id"] = inv.trace_id
                if inv.client_context:
                    headers["Lambda-Runtime-Client-Context"] = inv.client_context
                self._send(200, inv.event, headers)
            elif self.path == "/healthz":
                ready = api.polls > 0 and not api.init_errors
                self._send(200 if ready else 503, json.dumps({"ready": ready}).encode())
            else:
                self._send(404, b'{"errorMessage": "no such path"}')

        def _invoke(self) -> None:
            """The RIE's invoke endpoint (any method). Its answer carries none of the function's headers."""
            body = self._body()
            try:
                raw_context = base64.b64decode(self.headers.get("X-Amz-Client-Context", ""), validate=True)
            except (binascii.Error, ValueError):
                self._send(500, content_type=None)
                return
            api.on_invoke()
            sniffed = "text/plain; charset=utf-8"  # what Go's http server sniffs from a JSON or text body
            try:
                outcome = api.invoke(
                    body,
                    trace_id=self.headers.get("X-Amzn-Trace-Id") or None,
                    client_context=raw_context.decode() or None,
                )
            except TimeoutError:
                if api.on_timeout is not None:
                    api.on_timeout()
                self._send(200, f"Task timed out after {api.timeout_s:.2f} seconds".encode(), content_type=sniffed)
                return
            self._send(200, outcome.body, content_type=sniffed if outcome.body else None)

        def do_PUT(self) -> None:
            if self.path == INVOKE_PATH and api.on_invoke is not None:
                self._invoke()
            else:
                self._send(404, b'{"errorMessage": "no such path"}')

        def do_POST(self) -> None:
            if self.path == INVOKE_PATH and api.on_invoke is not None:
                self._invoke()
                return
            body = self._body()
            parts = self.path.split("/")
            if self.path == f"{RUNTIME_PREFIX}/init/error":
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                api.init_error(Outcome(request_id="init", ok=False, body=body, error_type=error_type))
                self._send(202, b'{"status": "OK"}')
            elif self.path.startswith(f"{RUNTIME_PREFIX}/invocation/") and parts[-1] in ("response", "error"):
                request_id, ok = parts[-2], parts[-1] == "response"
                if not api.in_flight(request_id):
                    self._send(400, INVALID_REQUEST_ID)
                elif ok and len(body) > MAX_PAYLOAD_SIZE:
                    message = (
                        f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                        f"({MAX_PAYLOAD_SIZE} bytes)."
                    )
                    error = {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": message}
                    oversized = Outcome(
                        request_id, ok=False, body=json.dumps(error).encode(), error_type=error["errorType"]
                    )
                    api.finish(request_id, oversized)
                    refusal = {
                        "errorMessage": f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_SIZE} bytes).",
                        "errorType": "RequestEntityTooLarge",
                    }
                    self._send(413, json.dumps(refusal).encode())
                else:
                    header_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                    error_type = None if ok else header_type or _error_type(body)
                    if api.finish(request_id, Outcome(request_id=request_id, ok=ok, body=body, error_type=error_type)):
                        self._send(202, b'{"status": "OK"}')
                    else:
                        self._send(400, INVALID_REQUEST_ID)
            else:
                self._send(404, b'{"errorMessage": "no such path"}')

    return Handler


class LambdaProcess:
    """``python -m awslambdaric <handler>`` (or ``command``) as a child of this process, bound to ``api``.

    ``stdout``: a path to write the child's output (stdout and stderr) to, or ``None`` to inherit ours.
    """

    def __init__(
        self,
        api: RuntimeApi,
        handler: str | None = None,
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        stdout: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        if command is None:
            if handler is None:
                raise ValueError("give a handler or a command")
            command = [sys.executable, "-m", "awslambdaric", handler]
        self.api = api
        self.command = list(command)
        self.env = {**os.environ, **(env or {})}
        self.env["AWS_LAMBDA_RUNTIME_API"] = api.address
        name = api.function_arn.rsplit(":", 1)[-1]
        for key, value in {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": RIE_DEFAULT_MEMORY_MB,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(api.timeout_s)),
        }.items():
            self.env.setdefault(key, value)
        self.stdout = stdout
        self.cwd = cwd
        self.exits: list[int] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LambdaProcess:
        """Start the runtime unless it runs (a runtime that exited is started again, as the RIE does)."""
        with self._lock:
            if self.running:
                return self
            if self.stdout is not None and self._out is None:
                self._out = self.stdout.open("ab")
            self._proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=self._out,
                stderr=subprocess.STDOUT if self._out is not None else None,
            )
            threading.Thread(target=self._watch, args=(self._proc,), daemon=True).start()
            return self

    def _watch(self, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        self.exits.append(code)
        errors = self.api.init_errors

        def outcome(request_id: str) -> Outcome:
            if errors:
                return Outcome(request_id, ok=False, body=errors[-1].body, error_type=errors[-1].error_type)
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
            body = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message})
            return Outcome(request_id, ok=False, body=body.encode(), error_type="Runtime.ExitError")

        self.api.fail_waiting(outcome)

    def invoke(self, event: Any, timeout: float | None = None) -> Outcome:
        self.start()
        return self.api.invoke(event, timeout)

    def reset(self) -> None:
        """Stop the runtime (after a timeout, as the RIE resets its sandbox); the next invoke starts it again."""
        with self._lock:
            self._terminate()

    def _terminate(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def stop(self) -> None:
        with self._lock:
            self._terminate()
            if self._out is not None:
                self._out.close()
                self._out = None

    def __enter__(self) -> LambdaProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MiniRie:
    """The Runtime API plus the RIE invoke endpoint on one port, and the runtime as a child process."""

    def __init__(
        self,
        command_or_handler: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout: Path | None = None,
    ) -> None:
        # As the RIE: the function's name and timeout from the environment the function gets, else its defaults.
        seen = {**os.environ, **(env or {})}
        name = seen.get("AWS_LAMBDA_FUNCTION_NAME") or RIE_DEFAULT_NAME
        if timeout_s is None:
            timeout_s = float(seen.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or RIE_DEFAULT_TIMEOUT_S)
        self.api = RuntimeApi(host, port, function_arn=RIE_ARN_PREFIX + name, timeout_s=timeout_s)
        words = list(command_or_handler)
        if len(words) == 1:
            self.process = LambdaProcess(self.api, words[0], env=env, stdout=stdout)
        else:
            self.process = LambdaProcess(self.api, command=words, env=env, stdout=stdout)
        self._invoke_lock = threading.Lock()
        self.api.on_invoke = self.process.start
        self.api.on_timeout = self.process.reset

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api.port}{INVOKE_PATH}"

    def start(self) -> MiniRie:
        self.api.start()
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()
        self.api.stop()

    def __enter__(self) -> MiniRie:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.support.runtime_api --port 8080 -- <handler or command>``: run until SIGTERM/SIGINT."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        print("usage: runtime_api.py [--host H] [--port P] [--timeout S] -- <handler | command...>", file=sys.stderr)
        return 2
    cut = args.index("--")
    parser = argparse.ArgumentParser(prog="runtime_api", description="a mini Lambda Runtime Interface Emulator")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=8080, help="the one port: invoke endpoint and Runtime API")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds an invocation may take (default: $AWS_LAMBDA_FUNCTION_TIMEOUT, else 300)",
    )
    opts = parser.parse_args(args[:cut])
    target = args[cut + 1 :]
    if not target:
        parser.error("give a handler (module.function) or a command after --")
    rie = MiniRie(target, host=opts.host, port=opts.port, timeout_s=opts.timeout)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with rie:
        print(f"runtime_api: invoke at {rie.url}; runtime: {' '.join(rie.process.command)}", file=sys.stderr)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
