"""A BLS data file (``pr.data.0.Current``), read lazily by polars: the read boundary and the two readers.

A BLS data file is tab-separated, every field and header padded with spaces, CRLF line endings, no quoting.
:func:`check_data_file` refuses, with one line, what is not such a file at all. :func:`scan_bls` lets the CSV
reader type the columns (series ids and periods as categoricals, kept as written and trimmed after
aggregation, on the few distinct values); it is several times faster than trimming every field as a string,
and it holds for the files BLS publishes (right-aligned values, unpadded years and periods).
:func:`scan_bls_trimmed` trims every field as a string, for a file that breaks those assumptions.
:mod:`dataquest.report.analysis` aggregates what they read.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import polars as pl

from dataquest.errors import ValidationError, first_line

BlsSource = str | Path | bytes | IO[bytes]

READ_DTYPE = pl.Float64()
EXACT_DTYPE = pl.Decimal(38, 12)
REQUIRED_COLUMNS: tuple[str, ...] = ("series_id", "year", "period", "value")


# --- the read boundary ---------------------------------------------------------------------------------------
HEAD_BYTES = 64 * 1024
"""How much of a data file is looked at before polars reads it: enough to see a binary file or an empty one."""


def check_data_file(data: BlsSource, name: str) -> None:
    """Refuse, with one line, what is not a BLS data file at all: empty, binary (a NUL byte), not UTF-8 text."""
    head = _head(data, name)
    what = "expected a BLS data file (tab-separated series_id, year, period, value)"
    if not head.strip():
        raise ValidationError(f"{name}: the file is empty ({len(head)} bytes, no header); {what}")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise ValidationError(f"{name}: binary data (a NUL byte at offset {nul}), not text; {what}")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_short = exc.reason == "unexpected end of data" and len(head) == HEAD_BYTES
        if not cut_short:  # a character cut by the head's end is not an error
            raise ValidationError(f"{name}: not UTF-8 text (a bad byte at offset {exc.start}); {what}") from exc


def _head(data: BlsSource, name: str) -> bytes:
    if isinstance(data, bytes):
        return data[:HEAD_BYTES]
    if isinstance(data, str | Path):
        try:
            with Path(data).open("rb") as f:
                return f.read(HEAD_BYTES)
        except OSError as exc:
            raise ValidationError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    data.seek(0)
    head = data.read(HEAD_BYTES)
    data.seek(0)
    return head


def _scan(source: BlsSource, overrides: dict[str, pl.DataType] | None) -> pl.LazyFrame:
    lf = pl.scan_csv(
        source,
        separator="\t",
        quote_char=None,
        infer_schema=False,
        schema_overrides=overrides,
        with_column_names=lambda names: [n.strip() for n in names],
    )
    try:
        names = lf.collect_schema().names()
    except pl.exceptions.PolarsError as exc:  # NoDataError (an empty file), a header polars cannot read
        raise ValidationError(f"{source_name(source)}: cannot read it as a BLS data file: {first_line(exc)}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        seen = first_line(ValueError(repr(names[:8])))
        raise ValidationError(
            f"{source_name(source)}: not a BLS data file: no column(s) {missing} in the header (saw {seen}); "
            "expected tab-separated series_id, year, period, value"
        )
    return lf


def scan_bls(source: BlsSource, value_dtype: pl.DataType = READ_DTYPE) -> pl.LazyFrame:
    """The typed reader: ``series_id`` and ``period`` as written (Categorical), ``year``, ``value``, ``padded``.

    ``padded`` flags a row whose period, or series id, starts or ends with a blank (the keys are compared
    as written, so such a file must be read by :func:`scan_bls_trimmed`).
    """
    lf = _scan(
        source,
        {"series_id": pl.Categorical(), "year": pl.Int32(), "period": pl.Categorical(), "value": value_dtype},
    )
    period, series = pl.col("period"), pl.col("series_id")
    return lf.select(
        "series_id",
        "year",
        "period",
        "value",
        (period.cat.starts_with(" ") | period.cat.ends_with(" ") | series.cat.starts_with(" ")).alias("padded"),
    )


def scan_bls_trimmed(source: BlsSource, value_dtype: pl.DataType = READ_DTYPE) -> pl.LazyFrame:
    """The general reader: every field read as a string and trimmed, then typed."""
    return _scan(source, None).select(
        pl.col("series_id").str.strip_chars(),
        pl.col("year").str.strip_chars().cast(pl.Int32),
        pl.col("period").str.strip_chars(),
        pl.col("value").str.strip_chars().cast(value_dtype),
        pl.lit(False).alias("padded"),
    )


def rewind(data: BlsSource) -> BlsSource:
    if hasattr(data, "seek"):
        data.seek(0)
    return data


def source_name(source: object) -> str:
    return str(source) if isinstance(source, str | Path) else "the BLS data"
