"""Credentials in a configured URL never leak: one redaction function, applied at every sink.

The sinks of the sync (its trail, the summary's errors, the source-url metadata) are tested in test_bls_sync.py
and end to end in tests/integration/test_sync_bls.py; here the function itself, the log formatters, the errors
and the command line's stdout and stderr.
"""

from __future__ import annotations

import io
import json
import logging
from functools import partial

import pytest

from dataquest import app as app_module
from dataquest import log
from dataquest.cli import main
from dataquest.errors import DataQuestError, SourceError, StorageError, ValidationError
from dataquest.redaction import printable

SECRET_URLS = [
    ("https://user:hunter2@download.bls.gov/pub/time.series/", "https://***@download.bls.gov/pub/time.series/"),
    ("http://hunter2@h:8080/p", "http://***@h:8080/p"),
    (
        "https://api.example/data?cube=c&api_key=hunter2&locale=en",
        "https://api.example/data?cube=c&api_key=***&locale=en",
    ),
    ("https://api.example/data?token=hunter2", "https://api.example/data?token=***"),
    (
        "https://api.example/data?X-Amz-Signature=hunter2&X-Amz-Credential=hunter2",
        "https://api.example/data?X-Amz-Signature=***&X-Amz-Credential=***",
    ),
    ("https://api.example/d?access_token=hunter2#frag", "https://api.example/d?access_token=***#frag"),
    ("https://api.example/d?password=hunter2;apikey=hunter2", "https://api.example/d?password=***;apikey=***"),
]


@pytest.mark.parametrize(("url", "redacted"), SECRET_URLS)
def test_redact_hides_userinfo_and_secret_query_values(url: str, redacted: str) -> None:
    assert log.redact(url) == redacted
    assert log.redact(redacted) == redacted  # idempotent
    assert log.redact(f"GET {url} answered 500") == f"GET {redacted} answered 500"
    assert "hunter2" not in log.redact(json.dumps({"url": url}))


@pytest.mark.parametrize(
    "text",
    [
        "https://download.bls.gov/pub/time.series/pr/",
        "https://honolulu-api.datausa.io/tesseract/data.jsonrecords?cube=acs&drilldowns=Year%2CNation&locale=en",
        "dataquest/0.1.0 (+ops@example.org)",
        "s3://bucket/bls/pr/pr.class",
    ],
)
def test_redact_leaves_what_carries_no_credential(text: str) -> None:
    assert log.redact(text) == text


@pytest.mark.parametrize("json_lines", [True, False])
def test_both_log_formatters_redact_messages_fields_and_tracebacks(json_lines: bool) -> None:
    out = io.StringIO()
    log.setup("DEBUG", out, json_lines=json_lines)
    logger = log.get("test")
    url = SECRET_URLS[0][0]
    log.event(logger, "http retry", url=url, query=SECRET_URLS[2][0])
    try:
        raise RuntimeError(f"boom at {url}")  # noqa: TRY301
    except RuntimeError:
        logger.exception("failed")
    text = out.getvalue()
    assert "hunter2" not in text
    assert "***@download.bls.gov" in text
    assert "api_key=***" in text


@pytest.mark.parametrize("cls", [DataQuestError, StorageError, ValidationError])
def test_every_error_message_is_redacted(cls: type[DataQuestError]) -> None:
    assert "hunter2" not in str(cls(f"GET {SECRET_URLS[0][0]} failed"))


def test_a_source_error_redacts_its_url_too() -> None:
    err = SourceError("GET https://u:hunter2@h/ failed", url="https://u:hunter2@h/?key=hunter2")
    assert "hunter2" not in str(err)
    assert err.url == "https://***@h/?key=***"


def test_the_command_line_redacts_stderr_and_its_json_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DQ_BUCKET", "b")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.setenv("DQ_BLS_BASE_URL", "ftp://user:hunter2@download.bls.gov/pub/time.series/")
    assert main(["sync-bls", "--json"]) != 0
    out, err = capsys.readouterr()
    assert "hunter2" not in out
    assert "hunter2" not in err
    assert "***@download.bls.gov" in json.loads(out)["error"]


def test_printable_escapes_binary_and_trims() -> None:
    text = printable(b"\x00\xff\x1b[31mred\r\n" + b"x" * 500, 40)
    assert text.isprintable()
    assert text.startswith("'\\x00\\xff\\x1b[31mred\\r\\n")
    assert text.endswith("...'")
    assert len(text) < 80


@pytest.fixture(autouse=True)
def _quiet_logging() -> None:
    logging.getLogger(log.LOGGER_NAME).handlers[:] = []


def test_the_command_lines_own_boundary_redacts_text_that_did_not_come_from_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from dataquest import cli

    args = argparse.Namespace(json=True, command="sync-bls")
    raw = "https://user:hunter2@download.bls.gov/pub/time.series/pr/"
    assert cli._fail(args, f"GET {raw} failed\x00", 1, {"errors": [{"path": raw, "error": "x"}]}) == 1
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert "\\x00" in err
    assert err.rstrip("\n").isprintable()


# --- issue 25: a raw '@' in a password, and secrets under any parameter name ----------------------------------

RAW_AT = [
    ("https://user:p@ss@download.bls.gov/pub/", "https://***@download.bls.gov/pub/"),
    ("https://u:a@b@c@h:8080/p?cube=c", "https://***@h:8080/p?cube=c"),
    ("http://@@@h/", "http://***@h/"),
]


@pytest.mark.parametrize(("url", "redacted"), RAW_AT)
def test_a_raw_at_in_a_password_is_hidden_whole(url: str, redacted: str) -> None:
    assert log.redact(url) == redacted
    assert log.redact(redacted) == redacted
    assert log.redact(json.dumps({"url": url, "n": 1})) == json.dumps({"url": redacted, "n": 1})


@pytest.mark.parametrize(
    "name", ["jwt", "pass", "access", "code", "client_assertion", "k", "sharedSecretOfMine", "x-goog-hash", "p"]
)
def test_a_query_value_is_hidden_whatever_its_parameter_is_named(name: str) -> None:
    url = f"https://api.example/data?cube=acs&{name}=hunter2&locale=en"
    assert log.redact(url) == f"https://api.example/data?cube=acs&{name}=***&locale=en"
    assert (
        log.redact(f"GET {url} answered 500")
        == f"GET https://api.example/data?cube=acs&{name}=***&locale=en answered 500"
    )
    assert "hunter2" not in log.redact(json.dumps({"error": f"GET {url}: 500"}))


def test_only_known_harmless_query_values_are_kept() -> None:
    url = "https://honolulu-api.datausa.io/tesseract/data.jsonrecords?cube=acs_yg_total_population_1&drilldowns=Year%2CNation&locale=en&measures=Population&hunter2&Year=2019"
    assert log.redact(url) == (
        "https://honolulu-api.datausa.io/tesseract/data.jsonrecords?cube=acs_yg_total_population_1"
        "&drilldowns=Year%2CNation&locale=en&measures=Population&***&Year=2019"
    )


def test_population_errors_and_metadata_carry_no_query_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DQ_BUCKET", "b")
    monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
    monkeypatch.setenv("DQ_POPULATION_URL", "http://127.0.0.1:9/data?cube=c&client_assertion=hunter2")
    waits: list[float] = []  # the Fetcher's backoff and pacing, recorded instead of slept
    monkeypatch.setattr(app_module, "App", partial(app_module.App, sleep=waits.append))
    assert main(["fetch-population", "--json"]) != 0
    out, err = capsys.readouterr()
    assert err.count('"http retry"') == 4 <= len(waits)  # the refused connection was retried, each retry logged
    assert "hunter2" not in out + err
    assert "client_assertion=***" in json.loads(out)["error"]
