"""``dataquest status`` reads what others wrote (issue 25): a field of an unexpected type skips that item with a
warning, terminal sequences never reach the terminal, and a large trail is streamed, not held."""

from __future__ import annotations

import io
import json
import logging
import tracemalloc
from typing import Any

import pytest
from botocore.response import StreamingBody

from dataquest import cli
from dataquest.documents import to_document
from dataquest.ops import status
from tests.unit.test_status import BUCKET, NEW, fan_out_trail, jsonl, mirror_and_report, put

ODD_EVENTS: list[dict[str, Any]] = [
    {"event": "upload", "survey": "pr", "path": "a", "bytes": "lots", "ms": 1},
    {"event": "upload", "survey": "pr", "path": "b", "bytes": 1, "ms": [1]},
    {"event": "upload", "survey": "pr", "path": "c", "bytes": 1e400, "ms": 1},
    {"event": "upload", "survey": ["pr"], "path": "d", "bytes": 1, "ms": 1},
    {"event": {"x": 1}, "survey": "pr", "path": "e"},
    {"event": "error", "survey": "pr", "path": "f", "error": {"nested": True}},
    {"event": "upload", "survey": "pr", "path": "g", "bytes": True, "ms": 1},
]


@pytest.mark.parametrize("odd", ODD_EVENTS, ids=[str(i) for i in range(len(ODD_EVENTS))])
def test_a_transfer_outcome_of_an_unexpected_type_is_skipped_with_a_warning(
    s3: Any, odd: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    fan_out_trail(s3)
    put(s3, f"_logs/ingest/{NEW}/transfers/m9.jsonl", jsonl(odd))
    caplog.set_level(logging.WARNING)

    newest = to_document(status.collect(s3, BUCKET))["runs"][0]

    assert (newest["files_planned"], newest["files_done"], newest["bytes"]) == (6, 3, 3100)  # as without it
    assert any("skipped" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "start",
    [
        {"event": "start", "time": {"t": 1}, "surveys": ["pr"]},
        {"event": "start", "time": "t", "surveys": "pr"},
        {"event": "start", "time": "t", "surveys": [1, {"a": 2}]},
    ],
)
def test_a_trail_line_of_an_unexpected_type_is_skipped_and_the_rest_counts(s3: Any, start: dict[str, Any]) -> None:
    odd = [
        start,
        {"event": "planned", "survey": "pr", "files": "four", "bytes": 1},
        {"event": "planned", "survey": "pr", "files": 2, "bytes": 1},
        {"event": "error", "survey": "pr", "path": 5, "key": ["k"], "error": 7},
        {"event": "summary", "surveys": ["pr"], "duration_ms": "long"},
    ]
    put(s3, f"_logs/ingest/{NEW}.jsonl", jsonl(*odd))

    found = status.collect(s3, BUCKET)
    doc = to_document(found)

    run = doc["runs"][0]
    assert run["files_planned"] == 2
    assert run["duration_ms"] is None
    assert all(isinstance(s, str) for s in run["surveys"])
    assert run["started"] is None or isinstance(run["started"], str)
    assert NEW in status.as_text(found)


@pytest.mark.parametrize("inputs", [[1, 2], "x", {"bls": "v1", "population": 3}, {"bls": {"version": ["v"]}}])
def test_a_report_document_of_an_unexpected_shape_is_shown_as_unknown(s3: Any, inputs: Any) -> None:
    put(s3, "reports/latest/report.json", json.dumps({"inputs": inputs}).encode())

    found = status.collect(s3, BUCKET)

    assert found.report is not None
    assert found.report.folder is None
    assert status.as_text(found).splitlines()[-1].startswith("report: ?")


def test_the_text_escapes_terminal_sequences_from_the_trail(s3: Any) -> None:
    evil = "\x1b]0;owned\x07\x1b[2J\r"
    run_id = "20260103T030000.000000Z-\x1b[31mred"
    put(
        s3,
        f"_logs/ingest/{run_id}.jsonl",
        jsonl(
            {"event": "start", "time": evil, "surveys": [evil]},
            {"event": "error", "survey": "pr", "path": "x", "key": f"bls/pr/{evil}", "error": evil},
            {"event": "upload", "survey": "pr", "path": evil, "key": f"bls/pr/{evil}", "size": 1, "ms": 5},
        ),
    )
    mirror_and_report(s3)
    put(s3, f"bls/{evil}/x", b"1")

    text = status.as_text(status.collect(s3, BUCKET))

    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "\\x1b]0;owned" in text
    assert all(line.isprintable() for line in text.splitlines())


class _StreamingS3:
    """Just what status asks of S3, the trail served as a stream (a real S3 GET's body)."""

    def __init__(self, trail: bytes) -> None:
        self.trail = trail

    def get_object(self, **kw: Any) -> dict[str, Any]:
        return {"Body": StreamingBody(io.BytesIO(self.trail), len(self.trail)), "ContentLength": len(self.trail)}

    def get_paginator(self, _name: str) -> Any:
        class Pages:
            def paginate(self, **kw: Any) -> list[dict[str, Any]]:
                return [{"Contents": []}]

        return Pages()


def test_a_large_trail_is_streamed_not_held(s3: Any) -> None:
    line = {"event": "upload", "survey": "pr", "path": "p", "key": "bls/pr/p", "size": 10, "ms": 1, "pad": "x" * 150}
    events = [{"event": "start", "time": "t", "surveys": ["pr"]}]
    events += [{**line, "path": f"p{i}", "key": f"bls/pr/p{i % 50}"} for i in range(60_000)]
    trail = jsonl(*events)
    assert len(trail) > 12_000_000
    fake = _StreamingS3(trail)

    tracemalloc.start()
    try:
        run = status.read_run(fake, BUCKET, NEW)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert run.files_done == 50
    assert run.bytes == 600_000
    assert peak < 4_000_000, f"peak {peak} bytes for a {len(trail)}-byte trail"


def test_the_status_command_still_prints_one_line_per_run_with_odd_fields(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fan_out_trail(s3)
    put(s3, f"_logs/ingest/{NEW}/transfers/m9.jsonl", jsonl(*ODD_EVENTS))
    monkeypatch.setenv("DQ_BUCKET", BUCKET)

    assert cli.main(["status", "--json"]) == 0

    assert json.loads(capsys.readouterr().out)["runs"][0]["files_done"] == 3


def test_an_outcome_object_too_large_to_be_a_transfers_is_skipped(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    fan_out_trail(s3)
    line = json.dumps({"event": "upload", "survey": "pr", "path": "zz", "bytes": 1, "ms": 1}) + "\n"
    put(s3, f"_logs/ingest/{NEW}/transfers/huge.jsonl", (line * 30_000).encode())
    caplog.set_level(logging.WARNING)

    newest = to_document(status.collect(s3, BUCKET))["runs"][0]

    assert (newest["files_done"], newest["bytes"]) == (3, 3100)
    assert any("too large" in r.getMessage() for r in caplog.records)
