"""Series titles: a survey's ``<survey>.series`` joined with its mapping files, as a small polars frame.

A BLS productivity series id such as ``PRS30006032`` is a code; its survey folder says what it measures:
``pr.series`` gives each series its sector, class, measure and duration codes, and ``pr.sector``,
``pr.class``, ``pr.measure``, ``pr.duration`` name them. The title joins the four names in that order::

    PRS30006032 -> "Manufacturing, All workers, Hours worked, % Change from previous quarter"

The files are tab-separated with padded fields and CRLF line endings, like the data file. They are read
from wherever the data file lives: :func:`titles_from_folder` (``--data-file F``: F's folder) and
:func:`titles_from_s3` (the mirror's ``bls/<survey>/``). Either returns ``None`` when a file is missing and
raises :class:`~dataquest.errors.ValidationError` when one cannot be read; :func:`load`, what the report
calls, logs either case and goes on with ids only: titles are a courtesy, never a reason for a report to fail.

:func:`with_titles` left-joins the ``title`` column onto a result frame by ``series_id``: a series the mapping
does not know keeps a null title.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from dataquest import log
from dataquest.errors import ValidationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

# The mapping files, each with the code column pr.series names and the column holding its text.
MAPPINGS: tuple[tuple[str, str, str], ...] = (
    ("sector", "sector_code", "sector_name"),
    ("class", "class_code", "class_text"),
    ("measure", "measure_code", "measure_text"),
    ("duration", "duration_code", "duration_text"),
)
MISSING_NOTE = (
    "Series titles: not available (pr.series and its mapping files were not found next to the data file); "
    "series are shown by id only."
)


def file_names(survey: str = "pr") -> tuple[str, ...]:
    """The five files a survey's titles come from: ``<survey>.series`` and its four mappings."""
    return (f"{survey}.series", *(f"{survey}.{name}" for name, _, _ in MAPPINGS))


def read_titles(files: dict[str, bytes], survey: str = "pr") -> pl.DataFrame:
    """``series_id``, ``title`` from the five files' bytes, by file name (see :func:`file_names`)."""
    series = _table(files, f"{survey}.series")
    _require(series, f"{survey}.series", ["series_id", *(code for _, code, _ in MAPPINGS)])
    lf = series.lazy().select("series_id", *(code for _, code, _ in MAPPINGS))
    for name, code, text in MAPPINGS:
        table = _table(files, f"{survey}.{name}")
        _require(table, f"{survey}.{name}", [code, text])
        lf = lf.join(table.lazy().select(code, text).unique(code, keep="first"), on=code, how="left")
    title = pl.concat_str([pl.col(text) for _, _, text in MAPPINGS], separator=", ", ignore_nulls=True)
    return (
        lf.select("series_id", pl.when(title != "").then(title).alias("title"))
        .unique("series_id", keep="first")
        .sort("series_id")
        .collect()
    )


def titles_from_folder(folder: str | Path, survey: str = "pr") -> pl.DataFrame | None:
    """The titles from the mapping files in ``folder``, or ``None`` if any of the five is missing."""
    paths = {name: Path(folder) / name for name in file_names(survey)}
    if not all(p.is_file() for p in paths.values()):
        return None
    return read_titles({name: p.read_bytes() for name, p in paths.items()}, survey)


def titles_from_s3(s3: S3Client, bucket: str, prefix: str, survey: str = "pr") -> pl.DataFrame | None:
    """The titles from the mapping files under ``s3://bucket/prefix``, or ``None`` if any is missing."""
    from dataquest import storage  # noqa: PLC0415 - boto3 only where S3 is used (a local report does without)

    files: dict[str, bytes] = {}
    for name in file_names(survey):
        found = storage.get_bytes(s3, bucket, f"{prefix}{name}")
        if found is None:
            return None
        files[name] = found[0]
    return read_titles(files, survey)


def load(read: Callable[[], pl.DataFrame | None], where: str) -> pl.DataFrame | None:
    """``read()``'s titles; ``None``, logged, when its files are missing or unreadable (the report goes on)."""
    try:
        found = read()
    except ValidationError as exc:
        log.event(logger, "series titles unreadable: ids only", level=logging.WARNING, where=where, error=str(exc))
        return None
    if found is None:
        log.event(logger, "series titles not found: ids only", where=where)
    return found


def with_titles(frame: pl.DataFrame, titles: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` with a ``title`` column after ``series_id`` (left join); ``frame`` as it is without titles."""
    if titles is None:
        return frame
    joined = frame.join(titles.select("series_id", "title"), on="series_id", how="left", maintain_order="left")
    return joined.select("series_id", "title", *(c for c in frame.columns if c != "series_id"))


def _table(files: dict[str, bytes], name: str) -> pl.DataFrame:
    if name not in files:
        raise ValidationError(f"{name}: missing; the series titles need it")
    try:
        frame = pl.read_csv(
            io.BytesIO(files[name]), separator="\t", quote_char=None, infer_schema=False, truncate_ragged_lines=True
        )
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(f"{name}: cannot read it as a BLS mapping file: {str(exc).splitlines()[0]}") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return frame.select(pl.all().str.strip_chars())


def _require(frame: pl.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{name}: no column(s) {missing} in its header (saw {frame.columns})")
