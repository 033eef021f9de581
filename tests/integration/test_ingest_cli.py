"""`dataquest ingest` end to end: what the ingest Lambda runs, from the command line, over a local BLS stand-in,
a population stand-in on the same server, and a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dataquest.bls.summary import SUMMARY_KEYS
from dataquest.cli import EXIT_FAILED, EXIT_USAGE, main
from dataquest.config import POPULATION_KEY
from tests.support.bls_site import BlsSite
from tests.support.cli_env import objects, stock_survey
from tests.unit.test_report import POPULATION

pytestmark = pytest.mark.integration


@pytest.fixture
def env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BlsSite, Any]]:
    with stock_survey(moto_endpoint, monkeypatch, bucket_prefix="ingest", population=POPULATION) as ground:
        yield ground


def test_ingest_mirrors_then_stores_the_population_and_prints_the_summary(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _site, s3 = env
    assert main(["ingest", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # exactly one document: the metrics line went to stderr
    assert tuple(doc) == (*SUMMARY_KEYS, "population", "freshness")
    assert (doc["surveys"], doc["uploaded"], doc["errors"]) == (["pr"], 2, [])
    # A stand-in's DQ_BLS_BASE_URL and no DQ_BLS_CALENDAR_URL: no calendar fetched, freshness unchecked, said so.
    assert (doc["freshness"]["checked"], doc["freshness"]["calendar_url"], doc["freshness"]["stale"]) == (
        False,
        None,
        [],
    )
    assert doc["population"]["key"] == POPULATION_KEY
    assert doc["population"]["written"] is True
    assert [k for k in objects(s3) if not k.startswith("_logs/")] == [
        "bls/pr/pr.class",
        "bls/pr/pr.series",
        POPULATION_KEY,
    ]
    assert s3.get_object(Bucket=s3.bucket, Key=POPULATION_KEY)["Body"].read() == POPULATION
    assert '"FilesUploaded": 2' in captured.err  # the EMF line, kept off stdout


def test_a_failed_step_exits_non_zero_with_the_first_error_and_the_other_step_done(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, s3 = env
    monkeypatch.setenv("DQ_POPULATION_URL", site.url("/api/missing.json"))
    assert main(["ingest", "--json"]) == EXIT_FAILED
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["uploaded"] == 2  # the sync's work is kept
    assert [e["key"] for e in doc["errors"]] == [POPULATION_KEY]
    assert doc["population"]["key"] == POPULATION_KEY
    assert "404" in doc["population"]["error"]
    errors = [line for line in captured.err.splitlines() if line.startswith("dataquest ingest: error: ")]
    assert len(errors) == 1
    assert f"1 error(s); first: {POPULATION_KEY}: " in errors[0]
    assert "bls/pr/pr.class" in objects(s3)


def test_ingest_without_a_contact_fails_before_any_request(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, s3 = env
    monkeypatch.delenv("DQ_CONTACT")
    site.reset_counts()
    assert main(["ingest"]) == EXIT_USAGE
    assert "DQ_CONTACT is not set" in capsys.readouterr().err
    assert site.requests == []
    assert objects(s3) == []


def test_fetch_population_sends_the_contact_when_set_and_needs_none(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _s3 = env
    site.reset_counts()
    assert main(["fetch-population", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] is True
    assert "(+ops@example.org)" in site.requests[-1].user_agent
    monkeypatch.delenv("DQ_CONTACT")  # DataUSA does not ask for one
    site.require_contact = False
    assert main(["fetch-population", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] is False
    assert site.requests[-1].user_agent.startswith("dataquest/")
    assert "@" not in site.requests[-1].user_agent
