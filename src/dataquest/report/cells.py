"""The page's long table, the best year of every series, as HTML rows built by polars string expressions.

Tens of thousands of rows (one per series) are formatted and escaped column by column, never a row at a time
in Python; the cells are those :mod:`dataquest.report.html` writes for its small tables (``number``,
``html.escape``), byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))
_EXACT = float(2**53)  # |value * 1000| below this: its thousandths are an Int64 and the float's error is tiny


def best_years_rows(best: pl.DataFrame, titled: bool, empty: str, number: Callable[[float], str]) -> str:
    """The best-years table's body: ``<tr>`` rows of series, title (when ``titled``), year, sum and basis.

    ``number`` formats a sum the vector form cannot match exactly (within a rounding error of a half
    thousandth, or too large): none in BLS data, so it runs on no row there.
    """
    if not best.height:
        return ""
    frame = best.with_columns(
        _thousandths(pl.col("value")).alias("_sum"), _needs_python(pl.col("value")).alias("_python")
    )
    if frame.get_column("_python").any():
        index = frame.with_row_index().filter(pl.col("_python"))
        texts = [empty if v is None else number(v) for v in index.get_column("value").to_list()]
        frame = frame.with_columns(frame.get_column("_sum").scatter(index.get_column("index"), texts))
    cells = [
        _td("id", escaped(pl.col("series_id").cast(pl.String))),
        *([_td("", escaped(_title_or(best, empty)))] if titled else []),
        _td("num", pl.col("year").cast(pl.String)),
        _td("num", pl.col("_sum").fill_null(empty)),
        _td("", escaped(pl.col("basis").cast(pl.String))),
    ]
    row = pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")])
    return "\n".join(frame.select(row.alias("row")).get_column("row").to_list())


def escaped(text: pl.Expr) -> pl.Expr:
    """``html.escape`` (quotes too) as a polars expression; ``&`` first, as escape does."""
    for raw, entity in _ENTITIES:
        text = text.str.replace_all(raw, entity, literal=True)
    return text


def _title_or(best: pl.DataFrame, empty: str) -> pl.Expr:
    if "title" not in best.columns:
        return pl.lit(empty)
    title = pl.col("title").cast(pl.String)
    return pl.when(title.is_null() | (title == "")).then(pl.lit(empty)).otherwise(title)


def _td(cls: str, text: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(f'<td class="{cls}">'), text, pl.lit("</td>")])


def _thousandths(value: pl.Expr) -> pl.Expr:
    """``f"{v:,.3f}"`` without trailing zeros (``1,234.5``, ``-0.7``, ``13``, ``0``), away from halves."""
    scaled = value.cast(pl.Float64) * 1000
    units = pl.when(scaled.abs() < _EXACT).then(scaled.abs().round()).otherwise(None).cast(pl.Int64)
    fraction = (units % 1000).cast(pl.String).str.zfill(3).str.strip_chars_end("0")
    sign = pl.when((scaled < 0) & (units > 0)).then(pl.lit("-")).otherwise(pl.lit(""))
    dot = pl.when(fraction == "").then(pl.lit("")).otherwise(pl.lit("."))
    return pl.concat_str([sign, _grouped(units // 1000), dot, fraction])


def _needs_python(value: pl.Expr) -> pl.Expr:
    """A value near a half thousandth (Python rounds the float's exact value), too large, or not finite."""
    scaled = value.cast(pl.Float64) * 1000
    near_half = (scaled - scaled.floor() - 0.5).abs() <= scaled.abs() * 1e-12 + 1e-9
    return value.is_not_null() & (near_half | ~(scaled.abs() < _EXACT))


def _grouped(whole: pl.Expr) -> pl.Expr:
    """A non-negative integer with thousands separators: ``1234567`` -> ``1,234,567``."""
    text = whole.cast(pl.String)
    for k in range(1, 6):
        groups = [(whole // 10 ** (3 * j) % 1000).cast(pl.String).str.zfill(3) for j in range(k - 1, -1, -1)]
        lead = (whole // 10 ** (3 * k)).cast(pl.String)
        text = pl.when(whole >= 10 ** (3 * k)).then(pl.concat_str([lead, *groups], separator=",")).otherwise(text)
    return text
