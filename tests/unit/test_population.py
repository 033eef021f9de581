"""fetch-population: both response shapes, every bad payload refused with the stored copy kept, no rewrite of
an unchanged payload. S3 is moto's in-process mock; HTTP is httpx.MockTransport."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dataquest.config import POPULATION_KEY
from dataquest.documents import to_document
from dataquest.errors import SourceError, ValidationError
from dataquest.http.client import Fetcher
from dataquest.population import MAX_POPULATION_BYTES, PopulationRow, fetch_population, parse_population

URL = "https://api.example.test/tesseract/data.jsonrecords?cube=pop"
BUCKET = "dq-population-test"

TESSERACT = {
    "columns": ["Nation ID", "Nation", "Year", "Population"],
    "data": [
        {"Nation ID": "01000US", "Nation": "United States", "Year": 2019, "Population": 328239523.0},
        {"Nation ID": "01000US", "Nation": "United States", "Year": 2021, "Population": 331893745.0},
    ],
}
LEGACY = {
    "data": [
        {"ID Nation": "01000US", "Nation": "United States", "ID Year": 2019, "Year": "2019", "Population": 328239523},
        {"ID Nation": "01000US", "Nation": "United States", "ID Year": 2018, "Year": "2018", "Population": 327167439},
    ],
    "source": [{"measures": ["Population"]}],
}


def _body(doc: object) -> bytes:
    return json.dumps(doc).encode()


def _fetcher(handler: Callable[[httpx.Request], httpx.Response]) -> Fetcher:
    return Fetcher(httpx.Client(transport=httpx.MockTransport(handler)), sleep=lambda _: None, min_interval=0)


def _serving(body: bytes, status: int = 200, content_type: str = "application/json") -> Fetcher:
    return _fetcher(lambda request: httpx.Response(status, content=body, headers={"Content-Type": content_type}))


def _stored(s3: object) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=POPULATION_KEY)["Body"].read()  # type: ignore[attr-defined]


# --- parsing --------------------------------------------------------------------------------------------------
def test_parses_the_tesseract_shape() -> None:
    assert parse_population(_body(TESSERACT), source="t") == [
        PopulationRow(2019, 328239523.0),
        PopulationRow(2021, 331893745.0),
    ]


def test_parses_the_legacy_shape_by_its_integer_id_year() -> None:
    assert parse_population(_body(LEGACY), source="t") == [
        PopulationRow(2019, 328239523.0),
        PopulationRow(2018, 327167439.0),
    ]


def test_parses_the_real_tesseract_response(shared_data: Path) -> None:
    rows = parse_population((shared_data / "population" / "acs1-nation.tesseract.json").read_bytes(), source="t")
    years = [r.year for r in rows]
    assert years == [2013, 2014, 2015, 2016, 2017, 2018, 2019, 2021, 2022, 2023]
    assert {r.year: r.population for r in rows}[2018] == 327167439.0


BAD_PAYLOADS = {
    "html error page": (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "not JSON"),
    "no data key": (_body({"error": "cube not found"}), "no 'data' list"),
    "a JSON list": (_body([1, 2]), "no 'data' list"),
    "empty data": (_body({"data": []}), "empty list"),
    "data not a list": (_body({"data": {"Year": 2019}}), "expected a non-empty list"),
    "row not an object": (_body({"data": [2019]}), "expected an object"),
    "string population": (_body({"data": [{"Year": 2019, "Population": "328239523"}]}), "expected a number"),
    "null population": (_body({"data": [{"Year": 2019, "Population": None}]}), "expected a number"),
    "boolean population": (_body({"data": [{"Year": 2019, "Population": True}]}), "expected a number"),
    "zero population": (_body({"data": [{"Year": 2019, "Population": 0}]}), "positive"),
    "negative population": (_body({"data": [{"Year": 2019, "Population": -5.0}]}), "positive"),
    "infinite population": (b'{"data": [{"Year": 2019, "Population": Infinity}]}', "positive"),
    "missing year": (_body({"data": [{"Population": 1.0}]}), "expected an integer year"),
    "string year (tesseract)": (_body({"data": [{"Year": "2019", "Population": 1.0}]}), "integer year"),
    "float year": (_body({"data": [{"Year": 2019.5, "Population": 1.0}]}), "integer year"),
    "legacy string ID Year": (_body({"data": [{"ID Year": "2019", "Population": 1}]}), "'ID Year'"),
    "a year twice": (
        _body({"data": [{"Year": 2019, "Population": 1.0}, {"Year": 2019, "Population": 2.0}]}),
        "appears twice",
    ),
    "not UTF-8": (b'{"data": [{"Year": 2019, "Population": 1.0, "Nation": "\xff"}]}', "not UTF-8"),
    # years the report's Int32 cannot hold, or no population series has
    "year 2**31": (_body({"data": [{"Year": 2**31, "Population": 1.0}]}), "plausible year"),
    "year 2**63": (_body({"data": [{"Year": 2**63, "Population": 1.0}]}), "plausible year"),
    "year of 400 digits": (b'{"data": [{"Year": ' + b"9" * 400 + b', "Population": 1.0}]}', "integer of about"),
    "negative year": (_body({"data": [{"Year": -2019, "Population": 1.0}]}), "plausible year"),
    "year 0": (_body({"data": [{"Year": 0, "Population": 1.0}]}), "plausible year"),
    "year 1899": (_body({"data": [{"Year": 1899, "Population": 1.0}]}), "plausible year"),
    "year 2201": (_body({"data": [{"Year": 2201, "Population": 1.0}]}), "plausible year"),
    "legacy ID Year 2**31": (_body({"data": [{"ID Year": 2**31, "Population": 1}]}), "plausible year"),
    "year 1e400": (b'{"data": [{"Year": 1e400, "Population": 1.0}]}', "integer year"),
    "year NaN": (b'{"data": [{"Year": NaN, "Population": 1.0}]}', "integer year"),
    # numbers that overflow a float, or are not numbers at all
    "population 1e400": (b'{"data": [{"Year": 2019, "Population": 1e400}]}', "positive finite"),
    "population -1e400": (b'{"data": [{"Year": 2019, "Population": -1e400}]}', "positive finite"),
    "population NaN": (b'{"data": [{"Year": 2019, "Population": NaN}]}', "positive finite"),
    "population of 400 digits": (
        b'{"data": [{"Year": 2019, "Population": ' + b"9" * 400 + b"}]}",
        "positive finite",
    ),
    "integer past the parser's digit limit": (
        b'{"data": [{"Year": 2019, "Population": ' + b"9" * 5000 + b"}]}",
        "a number of thousands of digits",
    ),
    "population as an object": (_body({"data": [{"Year": 2019, "Population": {"v": 1}}]}), "expected a number"),
    # shapes the parser cannot follow
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
    "data nested 100,000 deep": (b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deep"),
    "a row nested deep": (
        b'{"data": [{"Year": 2019, "Population": ' + b"[" * 5000 + b"]" * 5000 + b"}]}",
        "nested too deep",
    ),
    "a bare number": (b"1e400", "no 'data' list"),
    "empty body": (b"", "not JSON"),
    "a NUL byte": (b'{"data": [\x00]}', "not JSON"),
}


def test_every_refusal_is_one_short_line() -> None:
    for body, _expected in BAD_PAYLOADS.values():
        with pytest.raises(ValidationError) as info:
            parse_population(body, source="t")
        message = str(info.value)
        assert "\n" not in message
        assert len(message) < 400, message


def test_the_bounds_are_plausible_years_the_report_holds() -> None:
    rows = parse_population(
        _body({"data": [{"Year": 1900, "Population": 1}, {"Year": 2200, "Population": 2}]}), source="t"
    )
    assert [r.year for r in rows] == [1900, 2200]


@pytest.mark.parametrize(("body", "expected"), BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_refuses_a_bad_payload_saying_what_is_wrong(body: bytes, expected: str) -> None:
    with pytest.raises(ValidationError, match="the-source") as info:
        parse_population(body, source="the-source")
    assert expected in str(info.value)


def test_refuses_an_oversized_payload_before_parsing() -> None:
    with pytest.raises(ValidationError, match="cap"):
        parse_population(b" " * (MAX_POPULATION_BYTES + 1), source="t")


# --- fetching and storing --------------------------------------------------------------------------------------
def test_stores_the_response_bytes_as_received_with_their_sha256(s3: object) -> None:
    body = json.dumps(TESSERACT, indent=4).encode()
    result = fetch_population(_serving(body), s3, BUCKET, URL)  # type: ignore[arg-type]
    digest = hashlib.sha256(body).hexdigest()
    assert to_document(result) == {"key": POPULATION_KEY, "written": True, "sha256": digest, "rows": 2}
    assert _stored(s3) == body
    head = s3.head_object(Bucket=BUCKET, Key=POPULATION_KEY)  # type: ignore[attr-defined]
    assert head["Metadata"]["sha256"] == digest
    assert head["ContentType"] == "application/json"


def test_an_unchanged_payload_writes_nothing(s3: object) -> None:
    body = _body(LEGACY)
    first = fetch_population(_serving(body), s3, BUCKET, URL)  # type: ignore[arg-type]
    etag = s3.head_object(Bucket=BUCKET, Key=POPULATION_KEY)["ETag"]  # type: ignore[attr-defined]
    puts: list[str] = []
    s3.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append("put"))  # type: ignore[attr-defined]
    second = fetch_population(_serving(body), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert first.written is True
    assert to_document(second) == {**to_document(first), "written": False}
    assert puts == []
    assert s3.head_object(Bucket=BUCKET, Key=POPULATION_KEY)["ETag"] == etag  # type: ignore[attr-defined]


def test_a_changed_payload_is_written_again(s3: object) -> None:
    fetch_population(_serving(_body(LEGACY)), s3, BUCKET, URL)  # type: ignore[arg-type]
    result = fetch_population(_serving(_body(TESSERACT)), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert result.written is True
    assert _stored(s3) == _body(TESSERACT)


def test_an_object_stored_without_a_sha256_is_compared_by_its_bytes(s3: object) -> None:
    body = _body(TESSERACT)
    s3.put_object(Bucket=BUCKET, Key=POPULATION_KEY, Body=body)  # type: ignore[attr-defined]
    assert fetch_population(_serving(body), s3, BUCKET, URL).written is False  # type: ignore[arg-type]


@pytest.mark.parametrize(("body", "expected"), BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_a_bad_payload_leaves_the_stored_json_as_it_was(s3: object, body: bytes, expected: str) -> None:
    good = _body(TESSERACT)
    fetch_population(_serving(good), s3, BUCKET, URL)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=expected):
        fetch_population(_serving(body), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert _stored(s3) == good


def test_a_5xx_is_retried_then_a_source_error_and_nothing_is_stored(s3: object) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(503, text="<html>Service Unavailable</html>")

    with pytest.raises(SourceError, match="503") as info:
        fetch_population(_fetcher(handler), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert info.value.url == URL
    assert len(calls) == 5  # the first try and the Fetcher's 4 retries
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # type: ignore[attr-defined]


def test_a_5xx_then_success_stores_the_good_payload(s3: object) -> None:
    answers = iter([httpx.Response(502), httpx.Response(200, content=_body(TESSERACT))])
    result = fetch_population(_fetcher(lambda request: next(answers)), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert result.written is True
    assert _stored(s3) == _body(TESSERACT)


def test_an_oversized_response_is_refused_and_nothing_is_stored(s3: object) -> None:
    huge = b'{"data": [' + b" " * (MAX_POPULATION_BYTES + 10) + b"]}"
    with pytest.raises(ValidationError, match="byte cap"):
        fetch_population(_serving(huge), s3, BUCKET, URL)  # type: ignore[arg-type]
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # type: ignore[attr-defined]


def test_population_module_does_not_import_polars() -> None:
    import subprocess
    import sys

    code = "import sys, dataquest.population; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- issue 25: what the report can use, and a source-url without its secrets ----------------------------------


@pytest.mark.parametrize("value", [b"1e300", b"1e13", b"1.7e308"])
def test_a_population_the_report_cannot_use_is_refused(value: bytes) -> None:
    with pytest.raises(ValidationError, match="at most 1000000000000"):
        parse_population(b'{"data": [{"Year": 2019, "Population": ' + value + b"}]}", source="t")


def test_the_largest_accepted_population_makes_a_finite_report() -> None:
    from dataquest.population import MAX_POPULATION
    from dataquest.report.analysis import population_frame, population_stats

    rows = parse_population(
        _body({"data": [{"Year": y, "Population": MAX_POPULATION - (y % 2) * 1e11} for y in range(2013, 2019)]}),
        source="t",
    )
    stats = population_stats(population_frame(rows), 2013, 2018).collect().row(0, named=True)
    assert math.isfinite(stats["mean"])
    assert math.isfinite(stats["std"])
    assert stats["std"] > 0


def test_the_stored_source_url_keeps_no_query_secret(s3: object) -> None:
    url = "https://api.example.test/data.jsonrecords?cube=pop&jwt=hunter2&code=hunter3"
    fetch_population(_serving(_body(TESSERACT)), s3, BUCKET, url)  # type: ignore[arg-type]
    meta = s3.head_object(Bucket=BUCKET, Key=POPULATION_KEY)["Metadata"]  # type: ignore[attr-defined]
    assert meta["source-url"] == "https://api.example.test/data.jsonrecords?cube=pop&jwt=***&code=***"
