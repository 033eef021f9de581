"""`dataquest sync-bls` end to end: the CLI over a local BLS stand-in and a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dataquest.bls.summary import SUMMARY_KEYS
from dataquest.cli import main
from tests.support.bls_site import BlsSite
from tests.support.cli_env import objects, stock_survey

pytestmark = pytest.mark.integration


@pytest.fixture
def env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BlsSite, Any]]:
    with stock_survey(moto_endpoint, monkeypatch, bucket_prefix="cli") as ground:
        yield ground


def test_json_prints_exactly_one_document_with_the_contract_keys(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _site, s3 = env
    assert main(["sync-bls", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # exactly one document: json.loads refuses trailing data
    assert tuple(doc) == SUMMARY_KEYS
    assert (doc["surveys"], doc["uploaded"], doc["errors"]) == (["pr"], 2, [])
    assert [k for k in objects(s3) if k.startswith("bls/")] == ["bls/pr/pr.class", "bls/pr/pr.series"]
    assert len([k for k in objects(s3) if k.startswith("_logs/ingest/")]) == 1


def test_a_failure_exits_non_zero_with_a_one_line_error(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    site, _s3 = env
    site.override_listing("pr/", "<html>down for maintenance</html>")
    assert main(["sync-bls", "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "not a BLS directory listing" in doc["error"]
    assert doc["deleted"] == 0
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("dataquest sync-bls: error: 1 error(s); first: http://127.0.0.1:")
    assert "not a BLS directory listing" in last


def test_a_missing_contact_is_an_error_before_any_request(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, s3 = env
    monkeypatch.delenv("DQ_CONTACT")
    assert main(["sync-bls"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith("dataquest sync-bls: error: DQ_CONTACT is not set: BLS answers 403")
    assert site.requests == []
    assert objects(s3) == []


def test_dry_run_prints_the_plan_and_changes_nothing(
    env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    site, s3 = env
    assert main(["sync-bls", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "upload bls/pr/pr.class  (new: not in the mirror)" in out
    assert "would upload 2" in out
    assert objects(s3) == []
    assert site.file_gets() == 0
    assert main(["sync-bls", "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True
    assert [a["action"] for a in doc["plan"]] == ["upload", "upload"]


def test_survey_and_max_delete_flags(env: tuple[BlsSite, Any], capsys: pytest.CaptureFixture[str]) -> None:
    site, _s3 = env
    site.put("ce/ce.txt", b"ce")
    assert main(["sync-bls", "--survey", "ce", "--survey", "pr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["surveys"] == ["ce", "pr"]
    site.remove("pr/pr.series")
    site.remove("pr/pr.class")
    site.put("pr/pr.new", b"n")
    assert main(["sync-bls", "--json", "--max-delete", "1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["deleted"] == 1
    assert "--max-delete is 1" in doc["error"]
