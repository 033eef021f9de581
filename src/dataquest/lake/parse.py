"""Reading a survey's files: the data files into observations, the other tables as trimmed strings.

BLS files are tab-separated, every field padded with blanks, CRLF line endings, no quoting. Every field is
read as a string and trimmed; ``value`` stays the string BLS published (``"0.5"``, never a float), so nothing
drifts. :func:`check_text` refuses, in one streaming pass, what is not such a file: binary, not UTF-8, or
truncated (the last line has no line ending: BLS ends every line with CRLF).

:func:`observations` reads a survey's data files lazily (polars streams them) in precedence order (see
:func:`dataquest.lake.sources.data_rank`) and keeps one row per ``(series_id, year, period)``: the row of the
first file that carries it (a key repeated inside one file fails the ``unique-keys`` expectation). So
``pr.data.0.Current`` wins over ``pr.data.1.AllData`` where both carry a row and they disagree (they are
published together; the current file is the one BLS revises first).
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dataquest.errors import ValidationError, first_line

CHUNK = 1 << 20
DATA_COLUMNS = ("series_id", "year", "period", "value", "footnote_codes")
REQUIRED = DATA_COLUMNS[:4]
KEYS = ("series_id", "year", "period")
OBSERVATION_COLUMNS = ("survey", *DATA_COLUMNS, "source_file", "source_version")


@dataclass(frozen=True)
class DataFile:
    """A data file to read: where it is, its name, and the version that goes into each row's lineage."""

    path: Path
    name: str
    version: str | None


def check_text(path: Path, name: str) -> None:
    """Refuse a file that is empty, binary, not UTF-8 or truncated, naming the offset where it breaks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, last = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise ValidationError(f"{name}: binary data (a NUL byte at offset {offset + nul}); expected BLS text")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"{name}: not UTF-8 text (a bad byte at offset {offset + exc.start}); expected BLS text"
                ) from exc
            offset, last = offset + len(chunk), chunk
    if not offset:
        raise ValidationError(f"{name}: the file is empty; expected a header line and rows")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{name}: truncated inside a UTF-8 character at offset {offset}") from exc
    if not last.endswith(b"\n"):
        raise ValidationError(f"{name}: truncated: the last line has no line ending ({offset} bytes); fetch it again")


def header(path: Path, name: str) -> list[str]:
    """A data file's column names, trimmed (blank where the header has an empty field), its layout checked."""
    with path.open("rb") as f:
        line = f.readline().decode("utf-8").rstrip("\r\n")
    names = [n.strip() for n in line.split("\t")]
    present = [n for n in names if n]
    missing = [c for c in REQUIRED if c not in present]
    unknown = [c for c in present if c not in DATA_COLUMNS]
    if missing or unknown or len(set(present)) != len(present):
        raise ValidationError(
            f"{name}: unknown column layout {present[:8]} (missing {missing}, unexpected {unknown}); "
            f"expected the BLS data columns {list(DATA_COLUMNS)}, each once"
        )
    return names


def trimmed(lf: pl.LazyFrame, names: Sequence[str], survey: str, file: DataFile) -> pl.LazyFrame:
    """``lf``'s data columns (``names``) as ``OBSERVATION_COLUMNS``: trimmed, ``year`` Int32 (null if not a number)."""
    text = [pl.col(c).str.strip_chars().alias(c) for c in REQUIRED]
    notes = pl.col("footnote_codes").str.strip_chars() if "footnote_codes" in names else pl.lit(None, pl.String)
    return lf.select(
        pl.lit(survey).alias("survey"),
        *text,
        pl.when(notes != "").then(notes).alias("footnote_codes"),
        pl.lit(file.name).alias("source_file"),
        pl.lit(file.version, pl.String).alias("source_version"),
    ).with_columns(pl.col("year").cast(pl.Int32, strict=False))


def read_table(path: Path, name: str) -> pl.DataFrame:
    """A mapping, series or footnote file: every column a trimmed string, header names trimmed."""
    check_text(path, name)
    try:
        frame = pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(f"{name}: cannot read it as a BLS table: {first_line(exc)}") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    frame = frame.select([c for c in frame.columns if c])
    return frame.select(pl.all().str.strip_chars())
