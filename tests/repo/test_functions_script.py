"""scripts/functions.py, what `make invoke` and `make logs` run, against a stubbed Lambda client."""

from __future__ import annotations

import io
import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.support.scripts import load_script


def functions() -> ModuleType:
    return load_script("functions")


def stubbed(monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any]) -> None:
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    expected = {"FunctionName": "dataquest-dev-ingest", "InvocationType": "RequestResponse", "Payload": b"{}"}
    stub.add_response("invoke", answer, expected)
    stub.activate()
    monkeypatch.setattr(boto3, "client", lambda *_a, **_k: client)


def body(doc: object) -> StreamingBody:
    raw = json.dumps(doc).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_invoke_prints_the_summary(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stubbed(monkeypatch, {"StatusCode": 200, "Payload": body({"uploaded": 3, "errors": []})})
    assert functions().invoke("dataquest-dev-ingest") == 0
    assert json.loads(capsys.readouterr().out) == {"uploaded": 3, "errors": []}


def test_a_failed_invocation_exits_1_and_says_where_to_look(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed(monkeypatch, {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body({"errorMessage": "boom"})})
    assert functions().invoke("dataquest-dev-ingest") == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"errorMessage": "boom"}
    assert "dataquest-dev-ingest failed (Unhandled): make logs shows why" in err


@pytest.mark.parametrize(("since", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400)])
def test_since_takes_a_duration(since: str, seconds: int) -> None:
    assert functions().seconds(since) == seconds


def test_since_refuses_what_is_not_a_duration() -> None:
    with pytest.raises(SystemExit, match="not a duration"):
        functions().seconds("ten minutes")
