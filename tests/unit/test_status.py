"""``dataquest status``: the runs from fabricated trails in moto (an in-process run, a fan-out run), the mirror and
the latest report, as a document and as the short table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataquest import cli
from dataquest.documents import to_document
from dataquest.ops import outcomes as outcomes_module
from dataquest.ops import status

BUCKET = "status-bucket"
OLD = "20260101T030000.000000Z-aaaaaaaa"
NEW = "20260102T030000.000000Z-bbbbbbbb"


def jsonl(*events: dict[str, Any]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def in_process_trail(s3: Any) -> None:
    """A run that transferred in its own process: two uploads, one file error, a skip (unchanged), a summary."""
    put(
        s3,
        f"_logs/ingest/{OLD}.jsonl",
        jsonl(
            {"time": "2026-01-01T03:00:00.000Z", "event": "start", "surveys": ["pr"]},
            {"event": "skip", "survey": "pr", "path": "pr.txt", "key": "bls/pr/pr.txt", "size": 5},
            {"event": "upload", "survey": "pr", "path": "pr.series", "key": "bls/pr/pr.series", "size": 10, "ms": 40},
            {"event": "upload", "survey": "pr", "path": "pr.data.0.Current", "key": "bls/pr/pr.data.0.Current",
             "size": 300, "ms": 900},
            {"event": "error", "survey": "pr", "path": "pr.class", "key": "bls/pr/pr.class", "error": "HTTP 500"},
            {"event": "error", "survey": "pr", "path": "https://bls.example/pr/sub/", "error": "listing failed"},
            {"time": "2026-01-01T03:00:05.000Z", "event": "summary", "surveys": ["pr"], "duration_ms": 5000},
        ),
    )  # fmt: skip


def fan_out_trail(s3: Any) -> None:
    """A planner's trail (planned per survey) and its transfers' outcomes: one upload, one skip (redelivered),
    one file resumed then finished, one resumed and not finished, one error, one not reached at all."""
    put(
        s3,
        f"_logs/ingest/{NEW}.jsonl",
        jsonl(
            {"time": "2026-01-02T03:00:00.000Z", "event": "start", "surveys": ["pr", "ce"]},
            {"event": "planned", "survey": "pr", "files": 4, "bytes": 4000},
            {"event": "planned", "survey": "ce", "files": 2, "bytes": 200},
            {"event": "summary", "surveys": ["pr", "ce"], "duration_ms": 1200},
        ),
    )
    folder = f"_logs/ingest/{NEW}/transfers/"
    put(s3, folder + "m1.jsonl", jsonl({"event": "upload", "survey": "pr", "path": "a", "bytes": 100, "ms": 50}))
    put(
        s3,
        folder + "m2.jsonl",
        jsonl(
            {"event": "skip", "survey": "ce", "path": "ce.x", "bytes": 0, "ms": 3},
            {"event": "error", "survey": "ce", "path": "ce.y", "error": "HTTP 404 from https://x/ce/ce.y", "ms": 7},
        ),
    )
    put(s3, folder + "m3.jsonl", jsonl({"event": "resumed", "survey": "pr", "path": "big", "bytes": 2000, "ms": 800}))
    put(s3, folder + "m4.jsonl", jsonl({"event": "upload", "survey": "pr", "path": "big", "bytes": 1000, "ms": 700}))
    put(s3, folder + "m5.jsonl", jsonl({"event": "resumed", "survey": "pr", "path": "huge", "ms": 2000}))


def mirror_and_report(s3: Any) -> None:
    put(s3, "bls/pr/a", b"x" * 100)
    put(s3, "bls/pr/sub/b", b"y" * 20)
    put(s3, "bls/ce/c", b"z" * 7)
    put(s3, "population/nation_population.json", b"{}")
    inputs = {"bls": {"key": "bls/pr/pr.data.0.Current", "version": "v1"}, "population": {"key": "p", "version": "v/2"}}
    put(s3, "reports/v1_v-2/report.json", json.dumps({"inputs": inputs}).encode())
    put(s3, "reports/latest/report.json", json.dumps({"inputs": inputs}).encode())


@pytest.fixture
def filled(s3: Any) -> Any:
    in_process_trail(s3)
    fan_out_trail(s3)
    mirror_and_report(s3)
    return s3


def test_the_newest_run_merges_its_transfer_outcomes(filled: Any) -> None:
    found = to_document(status.collect(filled, BUCKET))
    newest = found["runs"][0]
    assert newest["run_id"] == NEW
    assert (newest["files_planned"], newest["files_done"], newest["files_pending"], newest["files_failed"]) == (
        6,
        3,
        2,
        1,
    )
    assert newest["bytes"] == 3100
    assert newest["finished"] is True
    assert newest["surveys"] == ["pr", "ce"]
    assert newest["errors"] == [{"key": "bls/ce/ce.y", "error": "HTTP 404 from https://x/ce/ce.y"}]
    # the resumed file's invocations add up: 800 + 700
    assert newest["slowest"] == [
        {"key": "bls/pr/huge", "ms": 2000, "bytes": 0},
        {"key": "bls/pr/big", "ms": 1500, "bytes": 3000},
        {"key": "bls/pr/a", "ms": 50, "bytes": 100},
        {"key": "bls/ce/ce.y", "ms": 7, "bytes": 0},
        {"key": "bls/ce/ce.x", "ms": 3, "bytes": 0},
    ]


def test_an_in_process_run_counts_its_uploads_and_file_errors(filled: Any) -> None:
    old = to_document(status.collect(filled, BUCKET))["runs"][1]
    assert old["run_id"] == OLD
    assert (old["files_planned"], old["files_done"], old["files_pending"], old["files_failed"]) == (3, 2, 0, 1)
    assert (old["bytes"], old["duration_ms"], old["started"]) == (310, 5000, "2026-01-01T03:00:00.000Z")
    assert [e.get("key") or e.get("path") for e in old["errors"]] == ["bls/pr/pr.class", "https://bls.example/pr/sub/"]
    assert [s["key"] for s in old["slowest"]] == ["bls/pr/pr.data.0.Current", "bls/pr/pr.series"]


def test_outcomes_count_the_same_in_any_order() -> None:
    events = [
        {"event": "resumed", "survey": "pr", "path": "big", "bytes": 8, "ms": 5},
        {"event": "error", "survey": "pr", "path": "big", "error": "HTTP 503", "ms": 1},
        {"event": "resumed", "survey": "pr", "path": "big", "bytes": 8, "ms": 5},
        {"event": "upload", "survey": "pr", "path": "big", "bytes": 4, "ms": 5},
        {"event": "skip", "survey": "pr", "path": "big", "ms": 1},  # a redelivery after the upload
    ]
    for ordering in (events, events[::-1], events[2:] + events[:2]):
        outcomes = outcomes_module.Outcomes()
        for e in ordering:
            outcomes.add(e, transfer=True)
        assert to_document(outcomes) == {"uploaded": 1, "skipped": 0, "resumed": 2, "failed": 0, "bytes": 20}
        assert outcomes.failures() == []
        assert outcomes.slowest() == [outcomes_module.SlowFile("bls/pr/big", 17, 20)]


def test_an_unfinished_run_shows_its_pending_files(s3: Any) -> None:
    put(
        s3,
        f"_logs/ingest/{NEW}.jsonl",
        jsonl({"event": "start", "surveys": ["pr"]}, {"event": "planned", "survey": "pr", "files": 3, "bytes": 9}),
    )
    cut = b'{"event": "upload", "survey": "pr", "path": "a", "bytes": 3}\n{"cut'  # a line cut short is skipped
    put(s3, f"_logs/ingest/{NEW}/transfers/m.jsonl", cut)
    run = to_document(status.collect(s3, BUCKET))["runs"][0]
    assert (run["finished"], run["duration_ms"], run["files_done"], run["files_pending"]) == (False, None, 1, 2)


def test_mirror_and_report(filled: Any) -> None:
    found = to_document(status.collect(filled, BUCKET, runs=1))
    assert [r["run_id"] for r in found["runs"]] == [NEW]
    assert found["mirror"] == {
        "objects": 3,
        "bytes": 127,
        "surveys": [{"survey": "ce", "objects": 1, "bytes": 7}, {"survey": "pr", "objects": 2, "bytes": 120}],
    }
    assert found["report"]["folder"] == "reports/v1_v-2/"
    assert found["report"]["inputs"]["bls"]["version"] == "v1"


def test_an_empty_bucket(s3: Any) -> None:
    found = to_document(status.collect(s3, BUCKET))
    assert found == {"runs": [], "mirror": {"objects": 0, "bytes": 0, "surveys": []}, "report": None}
    assert "no run trail" in status.as_text(status.collect(s3, BUCKET))


def test_the_command_prints_one_document_and_a_short_table(
    filled: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DQ_BUCKET", BUCKET)
    assert cli.main(["status", "--json", "--runs", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"runs", "mirror", "report"}
    assert [r["run_id"] for r in doc["runs"]] == [NEW, OLD]
    assert cli.main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "started", "planned", "done", "pending", "failed", "bytes"]
    assert lines[1].split() == [NEW, "2026-01-02T03:00:00.000Z", "6", "3", "2", "1", "3100"]
    assert lines[2].split() == [OLD, "2026-01-01T03:00:00.000Z", "3", "2", "0", "1", "310"]
    assert lines[3].startswith("slowest: bls/pr/huge 2000 ms, bls/pr/big 1500 ms")
    assert "mirror: 3 objects, 127 bytes: ce 1 (7 bytes), pr 2 (120 bytes)" in lines
    assert lines[-1].startswith("report: reports/v1_v-2/")


def test_a_missing_bucket_is_one_clear_error(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DQ_BUCKET", "no-such-bucket")
    assert cli.main(["status", "--json"]) == cli.EXIT_FAILED
    error = json.loads(capsys.readouterr().out)["error"]
    assert error.startswith("reading s3://no-such-bucket/ failed: ")
    assert "NoSuchBucket" in error
