"""The report's files, formatted from a :class:`~dataquest.report.document.Report`: nothing is computed here.

``best_years.csv`` and ``series_population.csv`` with polars' CSV writer, ``report.md`` (Markdown tables),
``report.html`` (:mod:`dataquest.report.html`) and ``report.json`` (:meth:`Report.to_json`), by
:func:`render_files`; :func:`write_local` writes them to a folder; :func:`render_text` is the terminal's tables.
Tables are built with polars string expressions, a row at a time never in Python.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dataquest.config import REPORT_FILES
from dataquest.report.document import Report
from dataquest.report.html import render_html
from dataquest.report.titles import MISSING_NOTE as TITLES_MISSING


def render_files(report: Report) -> dict[str, bytes]:
    """The report's files, by name, in writing order (``report.json`` last)."""
    files = {
        "best_years.csv": report.best_years.write_csv().encode(),
        "series_population.csv": report.series_population.write_csv().encode(),
        "report.md": render_markdown(report).encode(),
        "report.html": render_html(report).encode(),
        "report.json": report.to_json(),
    }
    return {name: files[name] for name in REPORT_FILES}


def write_local(report: Report, out_dir: str | Path) -> list[Path]:
    """Write the report files to ``out_dir`` (created if needed); the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in render_files(report).items():
        path = out / name
        path.write_bytes(body)
        written.append(path)
    return written


def render_markdown(report: Report) -> str:
    """``report.md``: the three results as Markdown tables."""
    s = report.population_stats
    sp = report.series_population
    series = sp.get_column("series_id")[0] if sp.height else "the series"
    lines = [
        "# dataquest report",
        "",
        f"## US population, {s.start_year}..{s.end_year}",
        "",
        "| years | mean | standard deviation (sample) |",
        "|---:|---:|---:|",
        f"| {s.years} | {_fmt(s.mean)} | {_fmt(s.std)} |",
        "",
        "## Best year per series",
        "",
        _markdown_table(report.best_years),
        "",
        f"## {series} with population",
        "",
        _markdown_table(sp),
        "",
        *([] if report.has_titles else [TITLES_MISSING, ""]),
        "## Inputs",
        "",
        *(f"- {name}: `{i.key}` version `{i.version}`" for name, i in report.inputs.items()),
        "",
    ]
    return "\n".join(lines)


def _cells(frame: pl.DataFrame) -> list[pl.Expr]:
    """Each column as display text: numbers as polars writes them, a null as ``-``."""
    return [pl.col(c).cast(pl.String).fill_null("-") for c in frame.columns]


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if frame.schema[c].is_numeric() else "---" for c in frame.columns) + "|"
    if frame.height == 0:
        return f"{header}\n{rule}"
    rows = frame.select(pl.concat_str(_cells(frame), separator=" | ").alias("row")).get_column("row")
    return f"{header}\n{rule}\n" + "\n".join(("| " + rows + " |").to_list())


# Minimum widths of the terminal tables; a number is right-aligned in its width, the first column left-aligned,
# any other column follows two blanks. A column these do not name gets the width its values need.
_TEXT_WIDTHS = {"series_id": 14, "year": 6, "period": 8, "value": 14, "population": 14}


def _text_table(frame: pl.DataFrame) -> list[str]:
    cols: list[pl.Expr] = []
    heads: list[str] = []
    for i, (name, cell) in enumerate(zip(frame.columns, _cells(frame), strict=True)):
        longest = int(frame.select(cell.str.len_chars().max()).item() or 0) if frame.height else 0
        if frame.schema[name].is_numeric():
            width = max(_TEXT_WIDTHS.get(name, 0), len(name) + 2, longest + 2)
            cols.append(cell.str.pad_start(width))
            heads.append(name.rjust(width))
        elif i == 0:
            width = max(_TEXT_WIDTHS.get(name, 0), len(name) + 2, longest + 2)
            cols.append(cell.str.pad_end(width))
            heads.append(name.ljust(width))
        elif i < len(frame.columns) - 1:
            # A text column between others (a series title): padded, so that the columns after it line up.
            width = max(len(name), longest)
            cols.append(pl.lit("  ") + cell.str.pad_end(width))
            heads.append("  " + name.ljust(width))
        else:
            cols.append(pl.lit("  ") + cell)
            heads.append("  " + name)
    head = "  " + "".join(heads).rstrip()
    if frame.height == 0:
        return [head]
    rows = frame.select(pl.concat_str(cols).alias("row")).get_column("row")
    return [head, *("  " + rows).to_list()]


def render_text(report: Report) -> str:
    """The report as readable tables for a terminal."""
    s = report.population_stats
    lines = [
        *([] if report.has_titles else [TITLES_MISSING, ""]),
        f"US population {s.start_year}..{s.end_year} ({s.years} years): "
        f"mean {_fmt(s.mean)}, standard deviation {_fmt(s.std)} (sample)",
        "",
        f"Best year per series ({report.best_years.height} series):",
        *_text_table(report.best_years),
        "",
        "Series with population:",
        *_text_table(report.series_population),
    ]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{value:.1f}"
    return str(value)
