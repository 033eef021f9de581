"""US population from the DataUSA API: fetch, validate, store the response bytes in S3 when they changed.

Both documented response shapes are read:

- tesseract ``jsonrecords`` (the default URL): ``data[].Year`` an integer, ``data[].Population`` a float;
- the legacy ``datausa.io/api/data``: ``data[]."ID Year"`` an integer, ``data[].Year`` a string,
  ``data[].Population`` an integer.

A payload is stored only once it parses: UTF-8 JSON, a non-empty ``data`` list, each row with an integer
year in ``MIN_YEAR..MAX_YEAR`` (no year twice; the report holds years as 32-bit integers) and a positive
population of at most ``MAX_POPULATION`` (what the report can compute with). Nesting too deep for the parser,
integers too long to convert and numbers that overflow (``1e400``) are refused like any other malformed payload,
with one line. Anything else raises :class:`~dataquest.errors.ValidationError` and the stored object stays as it
was. The payload is compared
with the stored one by SHA-256 (kept in the object's metadata), so an unchanged day writes nothing and
triggers no report. This module uses ``json`` only: the ingest image has no polars.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataquest import log
from dataquest.config import POPULATION_KEY
from dataquest.errors import SourceError, ValidationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.http.client import Fetcher

logger = log.get(__name__)

MAX_POPULATION_BYTES = 10 * 1024 * 1024
"""A national population series is a few kB; anything past this cap is not the document we asked for."""
MIN_YEAR = 1900
MAX_YEAR = 2200
"""The plausible years of a population row (and of the report's year options)."""
MAX_POPULATION = 10**12
"""The largest population the report takes: far above any nation's (8e9 people on Earth), and small enough that
its mean, sample standard deviation and integer column stay finite and exact (1e300 is a float, not a report)."""


@dataclass(frozen=True)
class PopulationRow:
    """One year of the national population."""

    year: int
    population: float


@dataclass(frozen=True)
class PopulationResult:
    """What :func:`fetch_population` did: the key, whether it wrote, the payload's SHA-256 and row count (the
    ``fetch-population --json`` document, through :func:`dataquest.documents.to_document`)."""

    key: str
    written: bool
    sha256: str
    rows: int


def parse_population(body: bytes, *, source: str) -> list[PopulationRow]:
    """The rows of a DataUSA response (either shape), or :class:`ValidationError` saying what is wrong.

    ``source`` (a URL, an S3 key or a path) is named in every message.
    """
    doc, text = _json_document(body, source)
    if not isinstance(doc, dict) or "data" not in doc:
        raise ValidationError(
            f"{source}: the population payload has no 'data' list (expected a JSON object with 'data'); "
            f"it starts with {_preview(text)}"
        )
    data = doc["data"]
    if not isinstance(data, list) or not data:
        seen = "an empty list" if isinstance(data, list) else type(data).__name__
        raise ValidationError(f"{source}: the population payload's 'data' is {seen}; expected a non-empty list")
    rows: list[PopulationRow] = []
    years: set[int] = set()
    for index, item in enumerate(data):
        row = _parse_row(item, index, source)
        if row.year in years:
            raise ValidationError(f"{source}: data[{index}]: year {row.year} appears twice; expected one row a year")
        years.add(row.year)
        rows.append(row)
    return rows


def _json_document(body: bytes, source: str) -> tuple[Any, str]:
    """The payload parsed as JSON, and its text; :class:`ValidationError` naming ``source`` when it is not."""
    if len(body) > MAX_POPULATION_BYTES:
        raise ValidationError(
            f"{source}: the population payload is {len(body)} bytes, over the {MAX_POPULATION_BYTES}-byte cap; "
            "check that the URL is the DataUSA population API"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{source}: the population payload is not UTF-8 (bad byte at offset {exc.start}); "
            "check that the URL is the DataUSA population API"
        ) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}: the population payload is not JSON ({exc.msg} at line {exc.lineno}); "
            f"it starts with {_preview(text)}"
        ) from exc
    except RecursionError as exc:
        raise ValidationError(
            f"{source}: the population payload is nested too deep to be the DataUSA population document; "
            f"it starts with {_preview(text)}"
        ) from exc
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise ValidationError(
            f"{source}: the population payload cannot be read as JSON (a number of thousands of digits: no year "
            f"or population has that many); it starts with {_preview(text)}"
        ) from exc
    return doc, text


def _parse_row(item: object, index: int, source: str) -> PopulationRow:
    where = f"{source}: data[{index}]"
    if not isinstance(item, dict):
        raise ValidationError(f"{where} is {type(item).__name__}; expected an object with a year and Population")
    # The legacy shape carries the integer year in "ID Year" and a string in "Year".
    year_field = "ID Year" if "ID Year" in item else "Year"
    year = item.get(year_field)
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValidationError(f"{where}: {year_field!r} is {_short(year)}; expected an integer year")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            f"{where}: {year_field!r} is {_short(year)}; expected a plausible year ({MIN_YEAR}..{MAX_YEAR})"
        )
    population = item.get("Population")
    if isinstance(population, bool) or not isinstance(population, int | float):
        raise ValidationError(f"{where}: 'Population' is {_short(population)}; expected a number")
    try:
        value = float(population)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(f"{where}: 'Population' is {_short(population)}; expected a positive finite number")
    if value > MAX_POPULATION:
        raise ValidationError(
            f"{where}: 'Population' is {_short(population)}; expected a number of people, at most {MAX_POPULATION}"
        )
    return PopulationRow(year=year, population=value)


def _short(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 4,000-digit integer is not an error message)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return _cut(repr(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _preview(text: str, limit: int = 60) -> str:
    return repr(" ".join(text[:limit].split()))


def fetch_population(fetcher: Fetcher, s3: S3Client, bucket: str, url: str) -> PopulationResult:
    """GET ``url``, validate it, and store its bytes at ``population/nation_population.json`` if they changed."""
    from dataquest.http.client import POPULATION  # noqa: PLC0415 - the report imports this module, not httpx

    try:
        response = fetcher.get(url, max_bytes=MAX_POPULATION_BYTES, source=POPULATION)
    except SourceError as exc:
        if exc.status is not None and 200 <= exc.status < 300:  # the fetcher's size cap
            raise ValidationError(
                f"GET {url}: the population payload is over the {MAX_POPULATION_BYTES}-byte cap; "
                "check that the URL is the DataUSA population API; nothing was stored"
            ) from exc
        raise
    from dataquest import storage  # noqa: PLC0415 - boto3 only where S3 is used: the local report never loads it

    body = response.content
    rows = parse_population(body, source=f"GET {url}")
    digest = hashlib.sha256(body).hexdigest()
    key = POPULATION_KEY
    if _stored_sha256(s3, bucket, key) == digest:
        log.event(logger, "population unchanged", key=key, sha256=digest, rows=len(rows))
        return PopulationResult(key=key, written=False, sha256=digest, rows=len(rows))
    storage.put_bytes(
        s3, bucket, key, body, content_type="application/json", metadata={"source-url": _ascii(log.redact(url))[:1024]}
    )
    log.event(logger, "population stored", key=key, sha256=digest, rows=len(rows), bytes=len(body))
    return PopulationResult(key=key, written=True, sha256=digest, rows=len(rows))


def _stored_sha256(s3: S3Client, bucket: str, key: str) -> str | None:
    """The stored payload's SHA-256: from its metadata, else (written by something else) from its bytes."""
    from dataquest import storage  # noqa: PLC0415

    info = storage.head(s3, bucket, key)
    if info is None:
        return None
    if "sha256" in info.metadata:
        return info.metadata["sha256"]
    got = storage.get_bytes(s3, bucket, key)
    return None if got is None else hashlib.sha256(got[0]).hexdigest()


def _ascii(text: str) -> str:
    # S3 user metadata travels in HTTP headers: keep it ASCII.
    return text.encode("ascii", "backslashreplace").decode("ascii")
