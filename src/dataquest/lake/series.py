"""The ``series`` table: every series of a survey, its codes decoded through the mapping files, and a title.

A series file (``<s>.series``) gives each series its codes: ``sector_code``, ``area_code``, ... Each code column
``<stem>_code`` is decoded by the mapping file ``<s>.<stem>`` that has that column and a text column
(``<stem>_text`` or ``<stem>_name``). The title is the survey's ``series_title`` where it has one; otherwise the
decoded texts joined by ``", "`` in the series file's column order, which for ``pr`` is exactly the report's
title (sector, class, measure, duration: :mod:`dataquest.report.titles`).

A code its mapping does not know is counted (``unresolved`` per series, and in the survey's summary), never
dropped. A code column none of whose codes resolve means the mapping file does not belong to this series file:
that is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from dataquest.errors import ValidationError

SERIES_COLUMNS = ("survey", "series_id", "title", "title_source", "codes", "unresolved")


@dataclass(frozen=True)
class Mapping:
    """One code column of the series file and the mapping file that decodes it."""

    code: str
    stem: str
    text: str
    file: str
    table: pl.DataFrame


def find_mappings(survey: str, series: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> list[Mapping]:
    """The mappings that decode ``series``' code columns, in its column order (``tables``: file name -> frame)."""
    found: list[Mapping] = []
    for code in series.columns:
        if not code.endswith("_code") or code == "footnote_codes":
            continue
        stem = code.removesuffix("_code")
        file = f"{survey}.{stem}"
        table = tables.get(file)
        if table is None or code not in table.columns:
            continue
        texts = [c for c in (f"{stem}_text", f"{stem}_name") if c in table.columns]
        texts = texts or [c for c in table.columns if c.endswith(("_text", "_name"))]
        if texts:
            pairs = table.select(code, pl.col(texts[0]).alias("text")).unique(code, keep="first")
            found.append(Mapping(code=code, stem=stem, text=texts[0], file=file, table=pairs))
    return found


def build_series(survey: str, series: pl.DataFrame, tables: dict[str, pl.DataFrame], name: str) -> pl.DataFrame:
    """The survey's rows of the ``series`` table (``SERIES_COLUMNS``) from its series file (``name``)."""
    if "series_id" not in series.columns:
        raise ValidationError(f"{name}: unknown column layout: no series_id column (saw {series.columns[:8]})")
    mappings = find_mappings(survey, series, tables)
    lf = series.lazy()
    for m in mappings:
        lf = lf.join(m.table.lazy().rename({"text": f"__{m.stem}"}), on=m.code, how="left")
    frame = lf.collect()
    for m in mappings:
        present = frame.filter(pl.col(m.code).is_not_null() & (pl.col(m.code) != ""))
        if present.height and present.get_column(f"__{m.stem}").null_count() == present.height:
            raise ValidationError(
                f"{name}: no {m.code} resolves through {m.file} (0 of {present.height}); the mapping file does not "
                "match this series file"
            )
    return _rows(survey, frame, mappings)


def _rows(survey: str, frame: pl.DataFrame, mappings: list[Mapping]) -> pl.DataFrame:
    texts = [pl.col(f"__{m.stem}") for m in mappings]
    composed = pl.concat_str(texts, separator=", ", ignore_nulls=True) if texts else pl.lit(None, pl.String)
    has_title = "series_title" in frame.columns
    title = pl.col("series_title") if has_title else composed
    unresolved = (
        pl.sum_horizontal(
            [
                (pl.col(m.code).is_not_null() & (pl.col(m.code) != "") & t.is_null()).cast(pl.Int32)
                for m, t in zip(mappings, texts, strict=True)
            ]
        )
        if mappings
        else pl.lit(0)
    )
    codes = [c for c in frame.columns if c.endswith("_code") or c in ("seasonal", "base_year")]
    decoded = {m.code: m.stem for m in mappings}
    code_json = [
        json.dumps({**{c: r[c] for c in codes}, **{decoded[c]: r[f"__{decoded[c]}"] for c in decoded}})
        for r in frame.select(*codes, *(f"__{m.stem}" for m in mappings)).iter_rows(named=True)
    ]
    return (
        frame.select(
            pl.lit(survey).alias("survey"),
            "series_id",
            pl.when(title != "").then(title).alias("title"),
            pl.lit("series_title" if has_title else "composed").alias("title_source"),
            pl.Series("codes", code_json, dtype=pl.String),
            unresolved.cast(pl.Int32).alias("unresolved"),
        )
        .unique("series_id", keep="first", maintain_order=True)
        .sort("series_id")
    )


def footnotes(survey: str, table: pl.DataFrame | None, name: str) -> pl.DataFrame:
    """The survey's rows of the ``footnotes`` table: ``survey``, ``footnote_code``, ``footnote_text``."""
    schema = {"survey": pl.String, "footnote_code": pl.String, "footnote_text": pl.String}
    if table is None or not table.height:
        return pl.DataFrame(schema=schema)
    cols = {c.lower(): c for c in table.columns}
    if "footnote_code" not in cols or "footnote_text" not in cols:
        raise ValidationError(f"{name}: unknown column layout {table.columns}; expected footnote_code, footnote_text")
    return table.select(
        pl.lit(survey).alias("survey"),
        pl.col(cols["footnote_code"]).alias("footnote_code"),
        pl.col(cols["footnote_text"]).alias("footnote_text"),
    ).filter(pl.col("footnote_code") != "")
