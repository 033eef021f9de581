"""Issue 25's red-team classes, re-run with variants of our own: each case is a hostile input or a fault, and
the test asserts it is contained (refused with a one-line error, or hidden, or skipped), never obeyed. Against
the unit-level fakes only: moto in-process, ``httpx.MockTransport`` and the BLS stand-in on 127.0.0.1.

``pytest tests/unit/test_redteam_issue25.py -q`` prints the count tried; every pass is a case contained.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from dataquest import log
from dataquest.bls.listing import SourceFile
from dataquest.bls.plan import Action
from dataquest.bls.transfer.messages import check_message_id, parse_message, plan_messages
from dataquest.bls.verify import verify
from dataquest.config import Settings
from dataquest.documents import to_document
from dataquest.errors import ConfigurationError, ValidationError
from dataquest.handlers import transfer as transfer_handler
from dataquest.ops import status
from dataquest.population import parse_population
from tests.support.fanout import BUCKET, MODIFIED, Fanout, fanout_world, lambda_context
from tests.unit.test_bls_sync import settings as sync_settings
from tests.unit.test_status import NEW, fan_out_trail, jsonl, put

BASE = "https://download.bls.gov/pub/time.series/"
URL = BASE + "pr/"


def _message(path: str = "pr.class", size: int = 10) -> dict[str, Any]:
    source = SourceFile(path, URL + path, size, datetime(2026, 1, 2, 3, 4))
    action = Action("pr", "upload", path, f"bls/pr/{path}", "new", size, source)
    doc: dict[str, Any] = json.loads(plan_messages("run-1", "pr", [action])[0].body())
    return doc


# --- class 1: a message's URL and path (what the worker fetches and where it writes) ------------------------------

HOSTILE_FILES: list[tuple[str, str]] = [
    (URL + "../ce/ce.txt", "pr.class"),
    (URL + "../../../etc/passwd", "pr.class"),
    (URL + "%2e%2e/ce/ce.txt", "pr.class"),
    (URL + ".%2E/ce/ce.txt", "pr.class"),
    (URL + "%252e%252e/ce/ce.txt", "pr.class"),
    (URL + "a%2Fb", "a/b"),
    (URL + "a%5Cb", "a\\b"),
    (URL + "a\\..\\..\\x", "a\\..\\..\\x"),
    (URL + "pr.class?x=1", "pr.class"),
    (URL + "pr.class#frag", "pr.class"),
    (URL + "pr.class;jsessionid=1", "pr.class"),
    ("https://elsewhere.example/pub/time.series/pr/pr.class", "pr.class"),
    ("http://download.bls.gov/pub/time.series/pr/pr.class", "pr.class"),
    ("https://download.bls.gov:8443/pub/time.series/pr/pr.class", "pr.class"),
    ("https://evil@download.bls.gov/pub/time.series/pr/pr.class", "pr.class"),
    ("https://download.bls.gov.evil.example/pub/time.series/pr/pr.class", "pr.class"),
    ("//elsewhere.example/pub/time.series/pr/pr.class", "pr.class"),
    ("file:///etc/passwd", "pr.class"),
    ("ftp://download.bls.gov/pub/time.series/pr/pr.class", "pr.class"),
    (BASE + "ce/pr.class", "pr.class"),
    (BASE + "pr", "pr"),
    (URL, ""),
    (URL + "pr.series", "pr.class"),  # the path of another file: the report input replaced
    (URL + "pr.class", "pr.data.0.Current"),
    (URL + "./pr.class", "./pr.class"),
    (URL + "a//b", "a//b"),
    (URL + "sub/", "sub/"),
    (URL + "x" * 2000, "x" * 2000),
    (URL + "a%00b", "a\x00b"),
    (URL + "a%0Ab", "a\nb"),
    (URL + "a%1Bb", "a\x1bb"),
    (URL + "%ff%fe", "\ufffd\ufffd"),
    (URL + "pr.class", "/pr.class"),
    (URL + "pr.class", "../pr.class"),
    ("https://[::1/pub/time.series/pr/x", "x"),
    ("https://download.bls.gov:99999/pub/time.series/pr/x", "x"),
]


@pytest.mark.parametrize(("url", "path"), HOSTILE_FILES, ids=[f"file{i}" for i in range(len(HOSTILE_FILES))])
def test_a_hostile_file_entry_is_refused_before_any_request(url: str, path: str) -> None:
    doc = _message()
    doc["files"][0].update(url=url, path=path)
    with pytest.raises(ValidationError) as info:
        parse_message(json.dumps(doc), BASE)
    assert "\n" not in str(info.value)


HOSTILE_ENVELOPES: list[Any] = [
    lambda d: d.update(survey="../ce"),
    lambda d: d.update(survey="PR"),
    lambda d: d.update(survey="p r"),
    lambda d: d.update(survey="x" * 33),
    lambda d: d.update(survey="pr\n"),
    lambda d: d.update(survey=["pr"]),
    lambda d: d.update(run_id="../../../bls/pr"),
    lambda d: d.update(run_id="a/b"),
    lambda d: d.update(run_id=""),
    lambda d: d.update(run_id="x" * 101),
    lambda d: d.update(run_id=".hidden"),
    lambda d: d.update(v=True),
    lambda d: d.update(v="1"),
    lambda d: d.update(files={"0": d["files"][0]}),
    lambda d: d.update(files=[]),
    lambda d: d["files"][0].update(size=-1),
    lambda d: d["files"][0].update(size=1.5),
    lambda d: d["files"][0].update(size=None),
    lambda d: d["files"][0].update(timestamp="2026-13-01T00:00:00"),
    lambda d: d["files"][0].pop("url"),
]


@pytest.mark.parametrize("change", HOSTILE_ENVELOPES, ids=[f"envelope{i}" for i in range(len(HOSTILE_ENVELOPES))])
def test_a_hostile_envelope_is_refused(change: Any) -> None:
    doc = _message()
    change(doc)
    with pytest.raises(ValidationError):
        parse_message(json.dumps(doc), BASE)


@pytest.mark.parametrize(
    "body",
    ["", "null", "[]", "1e400", '"x"', "[" * 100_000, '{"v": 1, "files": "' + "x" * 300_000 + '"}', "\x00"],
    ids=[f"body{i}" for i in range(8)],
)
def test_a_body_that_is_not_a_message_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_message(body, BASE)


# --- class 2: a continuation (what completes an object) ------------------------------------------------------------


def _continuation(**resume: Any) -> dict[str, Any]:
    doc = _message("big", 5000)
    doc["resume"] = {
        "upload_id": "u",
        "offset": 2000,
        "parts": [{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 2, "ETag": '"b"'}],
        "validator": "v",
        "sha256_state": {"part_size": 1000, "digests": ["a" * 64, "b" * 64]},
        **resume,
    }
    return doc


HOSTILE_RESUMES: list[dict[str, Any]] = [
    {"offset": 1995},
    {"offset": 2005},
    {"offset": 0},
    {"offset": 1000},
    {"offset": 5000, "parts": [{"PartNumber": n, "ETag": '"e"'} for n in range(1, 6)],
     "sha256_state": {"part_size": 1000, "digests": ["a" * 64] * 5}},
    {"offset": -1},
    {"offset": 2000.0},
    {"offset": True},
    {"parts": [{"PartNumber": 2, "ETag": '"a"'}, {"PartNumber": 1, "ETag": '"b"'}]},
    {"parts": [{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 1, "ETag": '"b"'}]},
    {"parts": [{"PartNumber": 0, "ETag": '"a"'}, {"PartNumber": 1, "ETag": '"b"'}]},
    {"parts": [], "offset": 0, "sha256_state": {"part_size": 1000, "digests": []}},
    {"parts": [{"PartNumber": 1, "ETag": 5}, {"PartNumber": 2, "ETag": '"b"'}]},
    {"sha256_state": {"part_size": 0, "digests": ["a" * 64, "b" * 64]}, "offset": 0},
    {"sha256_state": {"part_size": 1000, "digests": ["g" * 64, "b" * 64]}},
    {"sha256_state": {"part_size": 1000, "digests": ["a" * 64]}},
    {"sha256_state": {"part_size": "1000", "digests": ["a" * 64, "b" * 64]}},
    {"upload_id": 7},
]  # fmt: skip


@pytest.mark.parametrize("resume", HOSTILE_RESUMES, ids=[f"resume{i}" for i in range(len(HOSTILE_RESUMES))])
def test_a_hostile_continuation_is_refused(resume: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_message(json.dumps(_continuation(**resume)), BASE)


def test_a_continuation_for_a_batch_is_refused() -> None:
    doc = _continuation()
    doc["files"].append({**doc["files"][0], "path": "big2", "url": URL + "big2"})
    with pytest.raises(ValidationError):
        parse_message(json.dumps(doc), BASE)


# --- class 3: the message id, and records that are not SQS's ------------------------------------------------------

HOSTILE_IDS = ["../x", "a/b", "", " ", "x" * 101, "a\x00b", "a\nb", "\u2215etc", "-", ".", "..", "a b", "%2e%2e"]


@pytest.mark.parametrize("message_id", HOSTILE_IDS, ids=[f"id{i}" for i in range(len(HOSTILE_IDS))])
def test_a_hostile_message_id_is_refused(message_id: str) -> None:
    with pytest.raises(ValidationError):
        check_message_id(message_id)


# --- class 4: end to end through the transfer handler: no request outside pr/, no object outside bls/pr/ ----------


@pytest.fixture
def fanout() -> Iterator[Fanout]:
    with fanout_world() as world:
        yield world


E2E = HOSTILE_FILES[:12] + HOSTILE_FILES[19:25]


def test_hostile_messages_end_to_end_touch_nothing_outside_the_survey(fanout: Fanout) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    fanout.site.put("pr/pr.series", b"series\r\n", modified=MODIFIED)
    fanout.site.put("ce/ce.txt", b"CANARY ce\r\n", modified=MODIFIED)
    fanout.site.put("ce/pr.class", b"CANARY class\r\n", modified=MODIFIED)
    good = json.loads(fanout.message("pr.class").body())
    records = []
    for i, (url, path) in enumerate(E2E):
        doc = json.loads(json.dumps(good))
        doc["files"][0].update(url=url.replace(BASE, fanout.site.base_url), path=path)
        records.append({"messageId": f"m{i}", "body": json.dumps(doc)})
    records.append({"messageId": "../../escape", "body": json.dumps(good)})
    records.append({"body": json.dumps(good)})

    answer = transfer_handler.handler({"Records": records}, lambda_context(), app=fanout.app)

    assert len(answer["batchItemFailures"]) == len(records)
    assert fanout.site.requests == []  # the canary: not one request, not even to pr/
    assert fanout.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


# --- class 5: verify's part-size tag ------------------------------------------------------------------------------

PART_SIZES = ["0", "1", "-1", "1e3", "\u00b2", "5368709121", " 8", "", "00", "99999999999999999999", "3"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("part_size", PART_SIZES, ids=[f"ps{i}" for i in range(len(PART_SIZES))])
def test_a_hostile_part_size_tag_is_that_objects_error(s3: Any, part_size: str) -> None:
    s3.create_bucket(Bucket="sync-bucket")
    s3.put_object(Bucket="sync-bucket", Key="bls/pr/big", Body=b"x" * 40_000)
    tags = [
        {"Key": "sha256-parts", "Value": hashlib.sha256(b"x").hexdigest()},
        {"Key": "part-size", "Value": part_size},
    ]
    s3.put_object_tagging(Bucket="sync-bucket", Key="bls/pr/big", Tagging={"TagSet": tags})

    doc = to_document(verify(sync_settings(), s3))

    contained = [e["key"] for e in doc["errors"]] == ["bls/pr/big"] or [m["key"] for m in doc["mismatched"]] == [
        "bls/pr/big"
    ]
    assert contained, doc


HOSTILE_PREFIXES = ["bls/../x", "bls/./x", "bls/PR/x", "bls/a b/x", "bls/%2e%2e/x", "bls/all/x", "bls/\x1b[2J/x"]


def test_hostile_bucket_prefixes_are_never_verified_as_surveys(s3: Any) -> None:
    s3.create_bucket(Bucket="sync-bucket")
    for key in HOSTILE_PREFIXES:
        s3.put_object(Bucket="sync-bucket", Key=key, Body=b"z")

    summary = verify(sync_settings(surveys=("all",)), s3)

    assert summary.surveys == []
    assert len(summary.errors) == len(HOSTILE_PREFIXES)


# --- class 6: credentials -----------------------------------------------------------------------------------------

LEAKS = [
    "https://user:hun@ter2@h/",
    "https://user:hunter2@@h/",
    "https://hunter2@h/",
    "https://u:hunter2@h:8080/?cube=c",
    "https://h/?jwt=hunter2",
    "https://h/?pass=hunter2",
    "https://h/?access=hunter2",
    "https://h/?code=hunter2",
    "https://h/?client_assertion=hunter2",
    "https://h/?k=hunter2",
    "https://h/?cube=c&sig2=hunter2",
    "https://h/?cube=hunter2x&x=hunter2",
    "https://h/p?hunter2",
    "https://h/p?a=1;b=hunter2",
    "https://h/p#access_token=hunter2",
    "https://h/p?a=hunter2#x",
    "HTTPS://U:hunter2@H/",
    '{"url": "https://h/?q=hunter2"}',
    "GET <https://h/?q=hunter2> failed",
]


@pytest.mark.parametrize("text", LEAKS, ids=[f"leak{i}" for i in range(len(LEAKS))])
def test_a_secret_in_a_url_never_leaves(text: str) -> None:
    shown = log.redact(text)
    assert "hunter2" not in shown.replace("hunter2x", "")
    assert log.redact(shown) == shown


# --- class 7: configuration ---------------------------------------------------------------------------------------

BAD_SETTINGS = [
    ("DQ_LEASE_TTL", "1e12"),
    ("DQ_LEASE_TTL", "inf"),
    ("DQ_LEASE_TTL", "0"),
    ("DQ_REQUEST_INTERVAL", "100000"),
    ("DQ_REQUEST_INTERVAL", "nan"),
    ("DQ_REQUEST_INTERVAL", "-1"),
    ("DQ_BLS_BASE_URL", "https://"),
    ("DQ_BLS_BASE_URL", "https://?x"),
    ("DQ_BLS_BASE_URL", "https://h:port/"),
    ("DQ_BLS_BASE_URL", "javascript:alert(1)"),
    ("DQ_POPULATION_URL", "http:// /"),
    ("DQ_TRANSFER_STREAMS", "1_0"),
    ("DQ_TRANSFER_STREAMS", "\u0661"),
    ("DQ_TRANSFER_STREAMS", "2.0"),
    ("DQ_TRANSFER_STREAMS", "0x2"),
    ("DQ_TRANSFER_STREAMS", "17"),
    ("DQ_PARTS_IN_FLIGHT", "1" * 5000),
    ("DQ_MAX_SURVEYS", "0"),
    ("AWS_ENDPOINT_URL", "http://a b:4566"),
    ("AWS_ENDPOINT_URL", "localhost:4566"),
    ("DQ_BLS_SURVEYS", "pr,../ce"),
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS, ids=[f"cfg{i}" for i in range(len(BAD_SETTINGS))])
def test_a_setting_the_run_cannot_use_is_a_configuration_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(name)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("contact", ["jos\u00e9@x.org", "a@b.c\r\nX-Evil: 1", "ops@example.org\x00", "\u200b@x.io"])
def test_a_contact_that_cannot_go_in_a_header_is_refused(contact: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^DQ_CONTACT="):
        Settings(contact=contact).user_agent()


# --- class 8: what status reads, and what the report gets -------------------------------------------------------

ODD_LINES: list[Any] = [
    {"event": "upload", "survey": "pr", "path": "a", "bytes": "9" * 5000},
    {"event": "upload", "survey": "pr", "path": "a", "bytes": -5},
    {"event": "upload", "survey": "pr", "path": "a", "bytes": 2**70},
    {"event": "upload", "survey": "pr", "path": {"p": 1}},
    {"event": "upload", "survey": "pr", "path": "a", "ms": "NaN"},
    {"event": None, "survey": None},
    ["not", "an", "object"],
    "a string",
]


@pytest.mark.parametrize("odd", ODD_LINES, ids=[f"line{i}" for i in range(len(ODD_LINES))])
def test_an_odd_outcome_line_is_skipped_and_the_run_still_shows(
    s3: Any, odd: Any, caplog: pytest.LogCaptureFixture
) -> None:
    s3.create_bucket(Bucket="status-bucket")
    fan_out_trail(s3)
    put(s3, f"_logs/ingest/{NEW}/transfers/m9.jsonl", jsonl(odd) if isinstance(odd, dict) else json.dumps(odd).encode())
    caplog.set_level(logging.WARNING)
    newest = to_document(status.collect(s3, "status-bucket"))["runs"][0]
    assert (newest["files_done"], newest["bytes"]) == (3, 3100)


@pytest.mark.parametrize("value", [b"1e300", b"1e200", b"9e15", b"1.7976931348623157e308", b"1e12001"])
def test_a_population_the_report_cannot_use_is_refused(value: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_population(b'{"data": [{"Year": 2019, "Population": ' + value + b"}]}", source="t")


def test_the_redteam_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """The number of cases this module tries (the report's count): every parametrised case above, plus the
    end-to-end batch's records and the one-off tests."""
    tried = (
        len(HOSTILE_FILES) + len(HOSTILE_ENVELOPES) + 8 + len(HOSTILE_RESUMES) + 1 + len(HOSTILE_IDS)
        + len(E2E) + 2 + len(PART_SIZES) + len(HOSTILE_PREFIXES) + len(LEAKS) + len(BAD_SETTINGS) + 4
        + len(ODD_LINES) + 5
    )  # fmt: skip
    with capsys.disabled():
        print(f"\nissue 25 red team: {tried} hostile inputs and faults tried")
    assert tried > 150
