"""The report handler over a fake ``run_report``: which records fail, when the report runs, what it logs; and
over the real one on moto's S3 for inputs that land one after the other."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dataquest import log
from dataquest.app import App
from dataquest.config import POPULATION_KEY, Settings
from dataquest.errors import InputMissingError, StorageError, ValidationError
from dataquest.handlers import report
from dataquest.local.invoke import LambdaContext
from tests.conftest import EVENTS
from tests.unit.test_report import DATA, POPULATION

BUCKET = "dataquest-test"


def context() -> LambdaContext:
    """The report function's Lambda context for one invocation."""
    return LambdaContext("dataquest-report", aws_request_id="req-report-1")


@dataclass(frozen=True)
class FakeResult:
    prefix: str = "reports/v1_v2/"
    keys: tuple[str, ...] = ("reports/v1_v2/report.json",)
    skipped: bool = False


class FakeRunReport:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def __call__(self, s3: object, bucket: str, *args: object, **kwargs: object) -> FakeResult:
        self.calls.append(bucket)
        if self.error is not None:
            raise self.error
        return FakeResult(skipped=len(self.calls) > 1)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    app = App(Settings(bucket=BUCKET), s3=object())  # type: ignore[arg-type]
    monkeypatch.setattr(report, "container_app", lambda: app)  # what Lambda's handler(event, context) finds
    stream = io.StringIO()
    log.setup("INFO", stream=stream, json_lines=True)
    return stream


def fake(monkeypatch: pytest.MonkeyPatch, error: Exception | None = None) -> FakeRunReport:
    run = FakeRunReport(error)
    monkeypatch.setattr("dataquest.report.builder.run_report", run)
    return run


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def record(message_id: str, body: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body, "eventSource": "aws:sqs"}


def s3_body(key: str, *, bucket: str = BUCKET, event: str = "ObjectCreated:Put") -> str:
    rec = {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
    return json.dumps({"Records": [rec]})


def test_both_inputs_in_one_batch_make_one_report(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch)
    assert report.handler(load("sqs-s3-inputs.json"), context()) == {"batchItemFailures": []}
    assert run.calls == [BUCKET]
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    done = [line for line in lines if line["message"] == "report done"]
    assert done == [
        {
            **done[0],
            "prefix": "reports/v1_v2/",
            "skipped": False,
            "keys": ["reports/v1_v2/report.json"],
            "request_id": "req-report-1",
        }
    ]


def test_test_event_is_acknowledged_without_a_report(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch)
    assert report.handler(load("sqs-s3-test-event.json"), context()) == {"batchItemFailures": []}
    assert run.calls == []


def test_malformed_records_fail_alone(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch)
    event = load("sqs-malformed.json")
    event["Records"] += load("sqs-s3-inputs.json")["Records"] + load("sqs-s3-test-event.json")["Records"]
    got = report.handler(event, context())
    assert got == {"batchItemFailures": [{"itemIdentifier": "bad-not-json"}, {"itemIdentifier": "bad-no-records"}]}
    assert run.calls == [BUCKET]
    assert "malformed record" in logs.getvalue()


def test_a_record_of_any_shape_fails_alone_never_the_batch(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    from tests.unit.test_events import HOSTILE_BODIES

    run = fake(monkeypatch)
    hostile = [record(f"bad-{i}", body) for i, (body, _why) in enumerate(HOSTILE_BODIES.values())]
    hostile += [
        {"messageId": "bad-body-number", "body": 12},
        {"messageId": "bad-body-missing"},
        {"messageId": "bad-attributes", "body": "[]", "attributes": {"ApproximateReceiveCount": "\u00b2"}},
    ]
    good = load("sqs-s3-inputs.json")["Records"]
    got = report.handler({"Records": [*hostile, *good]}, context())
    assert got == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in hostile]}
    assert run.calls == [BUCKET]  # the good records still made their report


def test_an_unexpected_error_parsing_one_record_fails_that_record_alone(
    monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    run = fake(monkeypatch)
    real = report.parse_notification

    def flaky(body: str) -> Any:
        if body == "boom":
            raise MemoryError("injected")
        return real(body)

    monkeypatch.setattr(report, "parse_notification", flaky)
    event = {"Records": [record("boom", "boom"), *load("sqs-s3-inputs.json")["Records"]]}
    assert report.handler(event, context()) == {"batchItemFailures": [{"itemIdentifier": "boom"}]}
    assert run.calls == [BUCKET]


def test_other_keys_buckets_and_deletions_are_acknowledged(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch)
    event = {
        "Records": [
            record("other-key", s3_body("bls/pr/pr.series")),
            record("other-bucket", s3_body("bls/pr/pr.data.0.Current", bucket="someone-else")),
            record("deleted", s3_body("population/nation_population.json", event="ObjectRemoved:Delete")),
        ]
    }
    assert report.handler(event, context()) == {"batchItemFailures": []}
    assert run.calls == []


def test_url_encoded_keys_are_recognised(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch)
    event = {"Records": [record("m1", s3_body("population%2Fnation_population.json"))]}
    assert report.handler(event, context()) == {"batchItemFailures": []}
    assert run.calls == [BUCKET]


def test_duplicates_across_invocations_are_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real run_report on moto: a redelivered batch skips the existing report and rewrites no object."""
    stream = io.StringIO()
    log.setup("INFO", stream=stream, json_lines=True)
    event = load("sqs-s3-inputs.json")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="bls/pr/pr.data.0.Current", Body=DATA)
        s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=POPULATION)
        app = App(Settings(bucket=BUCKET), s3=s3)
        monkeypatch.setattr(report, "container_app", lambda: app)

        def reports() -> dict[str, str]:
            listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/").get("Contents", [])
            return {o["Key"]: o["ETag"] + o["LastModified"].isoformat() for o in listed}

        assert report.handler(event, context()) == {"batchItemFailures": []}
        first = reports()
        assert "reports/latest/report.json" in first
        assert report.handler(event, context()) == {"batchItemFailures": []}
        assert reports() == first
    skipped = [json.loads(line)["skipped"] for line in stream.getvalue().splitlines() if "report done" in line]
    assert skipped == [False, True]


def test_a_failed_report_fails_exactly_the_records_that_asked_for_it(
    monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    fake(monkeypatch, StorageError("GET s3://dataquest-test/bls/pr/pr.data.0.Current failed: SlowDown"))
    event = {
        "Records": [
            record("test", json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})),
            record("population", s3_body("population/nation_population.json")),
            record("unrelated", s3_body("bls/pr/pr.class")),
            record("bls", s3_body("bls/pr/pr.data.0.Current")),
        ]
    }
    got = report.handler(event, context())
    assert got == {"batchItemFailures": [{"itemIdentifier": "population"}, {"itemIdentifier": "bls"}]}
    failed = [json.loads(line) for line in logs.getvalue().splitlines() if "report failed" in line]
    assert failed[0]["error"].startswith("StorageError: GET s3://dataquest-test/bls/pr/pr.data.0.Current")
    assert "Traceback" in failed[0]["exception"]


def test_a_notification_before_the_other_input_exists_waits_and_the_other_one_makes_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    log.setup("INFO", stream=stream, json_lines=True)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        app = App(Settings(bucket=BUCKET), s3=s3)
        monkeypatch.setattr(report, "container_app", lambda: app)
        # the first ingest: the BLS file lands, the population is not there yet
        s3.put_object(Bucket=BUCKET, Key="bls/pr/pr.data.0.Current", Body=DATA)
        first = {"Records": [record("bls", s3_body("bls/pr/pr.data.0.Current"))]}
        assert report.handler(first, context()) == {"batchItemFailures": []}
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        waiting = [line for line in lines if line["message"] == "report waiting for input"]
        assert [(w["level"], w["key"]) for w in waiting] == [("INFO", POPULATION_KEY)]
        assert not [line for line in lines if line["level"] == "ERROR"]
        # the population lands: its own notification makes the report
        s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=POPULATION)
        second = {"Records": [record("population", s3_body(POPULATION_KEY))]}
        assert report.handler(second, context()) == {"batchItemFailures": []}
        doc = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/latest/report.json")["Body"].read())
    assert doc["population_stats"]["start_year"] == 2013
    assert [r["year"] for r in doc["series_population"]] == [2017, 2018, 2020]


def test_a_missing_input_is_acknowledged_not_failed(monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> None:
    run = fake(monkeypatch, InputMissingError("s3://b/population/nation_population.json does not exist", key="k"))
    got = report.handler({"Records": [record("m", s3_body("bls/pr/pr.data.0.Current"))]}, context())
    assert got == {"batchItemFailures": []}
    assert run.calls == [BUCKET]


def test_an_unexpected_error_in_the_report_is_a_record_failure_too(
    monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    fake(monkeypatch, KeyError("Population"))
    got = report.handler({"Records": [record("m", s3_body("bls/pr/pr.data.0.Current"))]}, context())
    assert got == {"batchItemFailures": [{"itemIdentifier": "m"}]}


def test_an_event_that_is_not_an_sqs_batch_fails_the_invocation(logs: io.StringIO) -> None:
    with pytest.raises(ValidationError, match="expected an SQS event"):
        report.handler({"detail-type": "Scheduled Event"}, context())


def test_importing_the_report_handler_does_not_import_polars() -> None:
    code = "import sys, dataquest.handlers.report; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
