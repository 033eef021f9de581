"""The report document, typed: what ``report.json`` holds, as dataclasses mypy checks field by field.

:class:`Report` is the population statistics (:class:`PopulationStats`), the two result frames, the inputs
they came from (:class:`ReportInputs`) and the population rows read. Its JSON (:meth:`Report.to_json`) is the
contract's document: the dataclass parts through :func:`dataquest.documents.to_document`, the rows with polars'
own NDJSON writer (no Python loop over rows). The frames' columns are the document's row fields, in order; the
renderers (:mod:`dataquest.report.render`, :mod:`dataquest.report.html`) are generic over them, so a column
added to a frame reaches every file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from dataquest.documents import INTERNAL, to_document


@dataclass(frozen=True)
class PopulationStats:
    """The population's mean and sample standard deviation (ddof=1) over ``start_year..end_year``."""

    start_year: int
    end_year: int
    years: int
    """How many years of the range the population has."""
    mean: float | None
    std: float | None


@dataclass(frozen=True, kw_only=True)
class InputVersion:
    """One input of the report, as read."""

    key: str
    """The S3 key (``dataquest report`` on S3) or the local file's path (``--data-file``, ``--population-file``)."""
    version: str
    """The S3 VersionId where the bucket is versioned, else the ETag; a local file's SHA-256."""


@dataclass(frozen=True)
class ReportInputs:
    """The two inputs the report was computed from."""

    bls: InputVersion
    population: InputVersion

    def items(self) -> tuple[tuple[str, InputVersion], ...]:
        """``(name, input)`` pairs, in the document's order."""
        return (("bls", self.bls), ("population", self.population))


NO_INPUTS = ReportInputs(InputVersion(key="", version=""), InputVersion(key="", version=""))
"""The inputs of a report not yet tied to its files (the builder's caller sets them)."""


@dataclass(frozen=True)
class Report:
    """The report: population statistics, the two result frames, and the inputs they came from."""

    population_stats: PopulationStats
    best_years: pl.DataFrame = field(metadata=INTERNAL)
    series_population: pl.DataFrame = field(metadata=INTERNAL)
    inputs: ReportInputs = NO_INPUTS
    population: pl.DataFrame = field(default_factory=pl.DataFrame, metadata=INTERNAL)
    """Every population row read (``year``, ``population``): the page's population chart."""

    def to_json(self, *, pretty: bool = True) -> bytes:
        """The report document as JSON: one row per line when ``pretty``, else on one line."""
        indent = 2 if pretty else None
        head = json.dumps({"population_stats": to_document(self.population_stats)}, indent=indent)
        tail = json.dumps({"inputs": to_document(self.inputs)}, indent=indent)
        sep, pad = (",\n", "\n  ") if pretty else (", ", "")
        rows = [f'{pad}"{name}": {_json_rows(frame, pretty)}' for name, frame in self.frames()]
        body = sep.join([head[1:-1].rstrip(), *rows, tail[1:-1].rstrip()])
        return ("{" + body + ("\n}\n" if pretty else "}")).encode()

    def frames(self) -> tuple[tuple[str, pl.DataFrame], ...]:
        """The row lists of the document, by name, in its order."""
        return (
            ("best_years", self.best_years),
            ("series_population", self.series_population),
            ("population", self.population),
        )

    @cached_property
    def document(self) -> dict[str, Any]:
        """The report document as Python objects (what ``report.json`` holds), for a caller that wants them."""
        return dict(json.loads(self.to_json(pretty=False)))

    @property
    def has_titles(self) -> bool:
        """Whether the rows carry series titles (the mapping files were at hand)."""
        return "title" in self.best_years.columns or "title" in self.series_population.columns

    @classmethod
    def from_json(cls, body: bytes) -> Report:
        """A report read back from its ``report.json`` (a skipped run's answer)."""
        doc: dict[str, Any] = json.loads(body)
        stats, inputs = doc["population_stats"], doc["inputs"]
        return cls(
            population_stats=PopulationStats(**stats),
            best_years=_frame(doc["best_years"]),
            series_population=_frame(doc["series_population"]),
            inputs=ReportInputs(InputVersion(**inputs["bls"]), InputVersion(**inputs["population"])),
            population=_frame(doc.get("population", [])),
        )


@dataclass(frozen=True)
class ReportResult:
    """What :func:`dataquest.report.builder.run_report` did: the report, the folder, the keys written, whether it
    skipped."""

    report: Report
    prefix: str
    keys: tuple[str, ...] = field(default_factory=tuple)
    skipped: bool = False

    @property
    def document(self) -> dict[str, Any]:
        return self.report.document


def _frame(rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _json_rows(frame: pl.DataFrame, pretty: bool) -> str:
    if frame.height == 0:
        return "[]"
    # JSON strings never hold a raw newline, so the newlines of NDJSON separate rows.
    lines = frame.write_ndjson().rstrip("\n")
    if pretty:
        return "[\n    " + lines.replace("\n", ",\n    ") + "\n  ]"
    return "[" + lines.replace("\n", ", ") + "]"
