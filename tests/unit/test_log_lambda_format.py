"""Our JSON log lines and metric lines in the form Lambda's JSON log format reads (issue 24, item 4).

AWS's Lambda docs ("Log-level filtering", JSON format): Lambda filters an application's JSON line by its "level",
one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, and needs a "timestamp" in RFC 3339; a line that lacks either is
taken as INFO. Lambda's own runtime lines look like
``{"timestamp":"2023-10-27T19:17:45.586Z","level":"INFO","message":"...","logger":"root","requestId":"..."}``.
The rules are written out here from those docs, and every line we print is checked against them.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from dataquest import log

LAMBDA_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
# RFC 3339 date-time (section 5.6), as Lambda writes it: UTC, "Z", fractional seconds.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DOCUMENTED_EXAMPLE = '{"timestamp":"2023-10-27T19:17:45.586Z","level":"INFO","message":"x","logger":"root"}'


def read_as_lambda(line: str) -> tuple[str, datetime]:
    """The level and time Lambda takes from one line, failing where Lambda would fall back to INFO."""
    doc: dict[str, Any] = json.loads(line)
    assert doc.get("level") in LAMBDA_LEVELS, f"Lambda cannot read the level of {line}"
    assert RFC3339.match(str(doc.get("timestamp"))), f"Lambda cannot read the timestamp of {line}"
    return str(doc["level"]), datetime.fromisoformat(str(doc["timestamp"]).replace("Z", "+00:00"))


def test_the_reader_takes_the_documented_example_and_refuses_our_former_lines() -> None:
    assert read_as_lambda(DOCUMENTED_EXAMPLE)[0] == "INFO"
    with pytest.raises(AssertionError, match="timestamp"):
        read_as_lambda('{"time": "2026-01-01T00:00:00.000Z", "level": "INFO"}')
    with pytest.raises(AssertionError, match="level"):
        read_as_lambda('{"timestamp": "2026-01-01T00:00:00.000Z", "level": "WARNING"}')


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    log.setup("DEBUG", stream, json_lines=True)
    yield stream
    log.setup("INFO", io.StringIO(), json_lines=True)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "FATAL"),
    ],
)
def test_every_level_we_log_is_one_lambda_reads(lines: io.StringIO, level: int, expected: str) -> None:
    before = datetime.now().astimezone()
    log.event(log.get("test"), "a constant message", level, survey="pr")
    [line] = lines.getvalue().splitlines()
    read_level, when = read_as_lambda(line)
    assert read_level == expected
    assert abs((when - before).total_seconds()) < 5
    assert json.loads(line)["survey"] == "pr"


def fail() -> None:
    raise ValueError("boom")


def test_an_exception_is_logged_at_error_with_its_traceback_on_one_line(lines: io.StringIO) -> None:
    try:
        fail()
    except ValueError:
        log.get("test").exception("the step failed")
    [line] = lines.getvalue().splitlines()
    assert read_as_lambda(line)[0] == "ERROR"
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_a_metric_line_carries_a_level_and_a_timestamp_lambda_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(log.ENVIRONMENT_VARIABLE, raising=False)
    out = io.StringIO()
    doc = log.emit_metrics({"Runs": 1}, dimensions={"Function": "ingest"}, stream=out)
    [line] = out.getvalue().splitlines()
    assert read_as_lambda(line)[0] == log.METRICS_LEVEL == "INFO"
    # Still an Embedded Metric Format document: the metric and its dimension at the top level, _aws describing them.
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "Runs", "Unit": "Count"}]
    assert (doc["Runs"], doc["Function"]) == (1, "ingest")


def test_metrics_carry_the_environment_so_dev_and_prod_write_two_series(monkeypatch: pytest.MonkeyPatch) -> None:
    series = []
    for environment in ("dev", "prod"):
        monkeypatch.setenv(log.ENVIRONMENT_VARIABLE, environment)
        doc = log.emit_metrics({"Errors": 1}, dimensions={"Function": "transfer"}, stream=io.StringIO())
        [dimension_set] = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        series.append({name: doc[name] for name in dimension_set})
    assert series == [
        {"Environment": "dev", "Function": "transfer"},
        {"Environment": "prod", "Function": "transfer"},
    ]
