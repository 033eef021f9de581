"""Real moto HTTP endpoints on free ports: in this process (``ThreadedMotoServer``) or as a process of its own.

moto keeps its state per process, so every in-process server shares one set of buckets and queues with the
others and with ``mock_aws``: use :func:`moto_process` where a test needs an account of its own (Terraform's
"everything is gone after destroy"), :func:`moto_server` where the test must patch moto from inside.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Start a moto server and yield its endpoint URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def moto_process(
    startup_timeout: float = 60.0,
    *,
    module: str = "moto.server",
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """Start ``python -m moto.server`` as a process (state of its own) and yield its endpoint URL.

    ``module`` runs another entry point taking moto.server's arguments (tests.support.moto_iam); ``env`` is added
    to the process's environment (moto reads its settings, e.g. ``INITIAL_NO_AUTH_ACTION_COUNT``, at import).
    ``log`` keeps the server's output (its access log: one line per request with its status) for a failure to
    show what the server was asked.
    """
    import httpx

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    output = log.open("ab") if log else None
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)],
        stdout=output or subprocess.DEVNULL,
        stderr=output or subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],  # the project root: `tests.support...` importable
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode} before answering on {endpoint}")
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {endpoint} in {startup_timeout} s") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if output:
            output.close()


def reset(endpoint: str) -> None:
    """Forget every resource the server holds (moto's reset API)."""
    import httpx

    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


def client(service: str, endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def receive_all(sqs: Any, queue_url: str) -> list[Any]:
    """Every message now visible on the queue (each hidden for 60 s), with its attributes."""
    got: list[Any] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=60
    ).get("Messages", []):
        got += batch
    return got
