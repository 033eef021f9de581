"""``report.html``: the report document as one self-contained page, for people.

One file with its CSS inline and its charts as inline SVG (:mod:`dataquest.report.charts`): no script, no web
font, nothing fetched when it is viewed, so it opens the same from S3, a mail attachment or a laptop offline.
Three sections, each a chart and a table:

1. ``#population``: the population by year with the mean and ±1 sample standard deviation of the range;
2. ``#best-years``: the best year of every series (with its title where the mapping files were at hand) and
   the count of series per best year;
3. ``#series-population``: the chosen series and period by year against the population.

Numbers are written for people: thousands separators, populations as whole people, the standard deviation
to the person, BLS values to their own (at most 3) decimals. A legend says what ``basis`` means and why a
population cell can be empty. The CSS lays the tables out for a phone (they scroll sideways inside their own
box; the page does not) and for print (no backgrounds, rows kept whole, charts not split).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import polars as pl

from dataquest.report import charts
from dataquest.report.cells import best_years_rows
from dataquest.report.titles import MISSING_NOTE

if TYPE_CHECKING:
    from dataquest.report.document import Report

EMPTY = "—"
BASIS = {
    "quarters": "the sum of the year's quarterly values, Q01..Q04",
    "annual": "the sum of the annual value, Q05: the series publishes no quarterly values",
    "all": "the sum of every row of the year, Q01..Q05 (--periods all)",
}

CSS = """
:root { color-scheme: light; --ink: #111827; --muted: #4b5563; --rule: #d1d5db; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0; }
h2 { font-size: 1.25rem; margin: 0 0 0.5rem; border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem; }
section { margin: 2rem 0; }
.lead, .note, figcaption, dl, footer { color: var(--muted); }
.note { border-left: 4px solid #f59e0b; padding: 0.25rem 0.75rem; background: #fffbeb; }
.stats { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0.75rem 0; padding: 0; list-style: none; }
.stats li { flex: 1 1 10rem; border: 1px solid var(--rule); border-radius: 6px; padding: 0.5rem 0.75rem; }
.stats b { display: block; font-size: 1.3rem; color: var(--ink); font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure.chart { overflow-x: auto; }
svg.chart { display: block; width: 100%; height: auto; }
.table-wrap { overflow-x: auto; max-height: 36rem; overflow-y: auto; border: 1px solid var(--rule); }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
.table-wrap.narrow { display: inline-block; max-width: 100%; min-width: min(100%, 24rem); }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f3f4f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 0.9rem; }
dt { font-weight: 600; color: var(--ink); }
dd { margin: 0; }
footer { font-size: 0.8rem; border-top: 1px solid var(--rule); padding-top: 0.5rem; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { padding: 0.6rem; font-size: 15px; }
  h1 { font-size: 1.3rem; }
  dl { grid-template-columns: 1fr; }
  th, td { padding: 0.25rem 0.4rem; }
  svg.chart { min-width: 34rem; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .table-wrap { overflow: visible; max-height: none; border: none; }
  thead { display: table-header-group; }
  thead th { position: static; background: none; border-bottom: 1.5pt solid #000; }
  tr, figure, .stats li { break-inside: avoid; }
  figure.chart { overflow: visible; }
  svg.chart { min-width: 0; }
  section { break-before: auto; }
  h2 { break-after: avoid; }
  .note { background: none; }
}
@page { margin: 1.5cm; }
"""


# --- numbers for people --------------------------------------------------------------------------------------
def people(value: float | None) -> str:
    """A count of people: ``327,167,439``; no decimals (a population is whole people)."""
    return EMPTY if value is None else f"{round(value):,}"


def std_people(value: float | None) -> str:
    """A standard deviation of a population: to the person, ``4,158,441`` (the data has no finer precision)."""
    return people(value)


def number(value: float | None) -> str:
    """A BLS value: thousands separators, its own decimals (at most 3): ``1,234.5``, ``-0.7``, ``705.895``."""
    if value is None:
        return EMPTY
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def year_ranges(years: list[int]) -> str:
    """Years as runs: ``[1995, 1996, 1997, 2020, 2024]`` -> ``1995..1997, 2020, 2024``."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}..{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


# --- the page ------------------------------------------------------------------------------------------------
def render_html(report: Report) -> str:
    """The page for a report (see the module's docstring)."""
    stats = report.population_stats
    best, joined = report.best_years, report.series_population
    titled = _titled(report)
    series = str(joined.get_column("series_id")[0]) if joined.height else "the series"
    period = str(joined.get_column("period")[0]) if joined.height else ""
    heading = "BLS productivity and US population"
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No request of any kind when viewed: this policy makes the browser refuse one if a later change adds it.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        f"<title>dataquest report: {escape(heading)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>dataquest report: {escape(heading)}</h1>",
        '<p class="lead">The BLS productivity survey (pr) and the US population from DataUSA: the population'
        f" over {stats.start_year}..{stats.end_year}, the best year of each of {best.height:,} series,"
        f" and {escape(series)} {escape(period)} by year beside the population.</p>",
        *([] if titled else [f'<p class="note" id="titles-missing">{escape(MISSING_NOTE)}</p>']),
        "</header>",
        "<main>",
        _population_section(report),
        _best_years_section(best, titled),
        _series_section(joined, series, period, titled),
        "</main>",
        _footer(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _titled(report: Report) -> bool:
    """Whether any row of the two results carries a title (a column in a frame with rows)."""
    return any("title" in frame.columns and frame.height for frame in (report.best_years, report.series_population))


def _population_section(report: Report) -> str:
    stats = report.population_stats
    start, end = stats.start_year, stats.end_year
    rows = _population_by_year(report)
    chart = charts.population_chart(
        [y for y, _ in rows],
        [p for _, p in rows],
        charts.Band(mean=stats.mean, std=stats.std, start_year=start, end_year=end),
        title=f"US population by year, with the {start}..{end} mean and ±1 standard deviation",
    )
    table = _table([("year", "num"), ("population", "num")], [[str(y), people(p)] for y, p in rows], narrow=True)
    return "\n".join(
        [
            '<section id="population">',
            f"<h2>US population, {start}..{end}</h2>",
            '<ul class="stats">',
            f"<li>mean <b>{people(stats.mean)}</b></li>",
            f"<li>standard deviation (sample) <b>{std_people(stats.std)}</b></li>",
            f"<li>years in range <b>{stats.years}</b></li>",
            "</ul>",
            f"<p>The standard deviation is the sample one (ddof=1): the {stats.years} years are a sample of the"
            " population's path, not every year there is.</p>",
            f'<figure class="chart">{chart}'
            f"<figcaption>Each point is one year's population; the shaded band is the mean ± 1"
            f" standard deviation over {start}..{end}. A year without a figure leaves a gap.</figcaption></figure>",
            table,
            "</section>",
        ]
    )


def _population_by_year(report: Report) -> list[tuple[int, float]]:
    """The population rows the report read, or (an older document) those of the series' years."""
    source = report.population if report.population.height else report.series_population
    if not {"year", "population"} <= set(source.columns):
        return []
    found = (
        source.select(pl.col("year").cast(pl.Int64), pl.col("population").cast(pl.Float64))
        .drop_nulls("population")
        .unique("year", keep="last", maintain_order=True)
        .sort("year")
    )
    return list(found.iter_rows())


def _best_years_section(best: pl.DataFrame, titled: bool) -> str:
    counts = best.group_by("year").len().sort("year") if best.height else pl.DataFrame({"year": [], "len": []})
    chart = charts.count_chart(
        counts.get_column("year").cast(pl.Int64).to_list(),
        counts.get_column("len").cast(pl.Int64).to_list(),
        title="Number of series per best year",
        label="series whose best year it is",
    )
    columns = [("series", "id"), *([("title", "")] if titled else []), ("best year", "num"), ("sum", "num")]
    columns.append(("basis", ""))
    bases = sorted(set(best.get_column("basis").to_list())) if best.height else []
    legend = "".join(f"<dt>{escape(b)}</dt><dd>{escape(BASIS.get(b, b))}</dd>" for b in bases)
    return "\n".join(
        [
            '<section id="best-years">',
            "<h2>Best year per series</h2>",
            f"<p>For each of {best.height:,} series, the year whose values sum highest (a tie goes to the earliest"
            " year).</p>",
            f'<figure class="chart">{chart}'
            f"<figcaption>How many series had their best year in each year.</figcaption></figure>",
            f'<dl class="legend" id="basis-legend"><dt>basis</dt><dd>what was summed:</dd>{legend}</dl>',
            _wrap(columns, best_years_rows(best, titled, EMPTY, number), table_id="best-years-table"),
            "</section>",
        ]
    )


def _series_section(frame: pl.DataFrame, series: str, period: str, titled: bool) -> str:
    years, periods = _column(frame, "year"), _column(frame, "period")
    values, population = _column(frame, "value"), _column(frame, "population")
    series_title = next((t for t in _column(frame, "title") if t), None) if titled else None
    name = f"{series} {period}" + (f": {series_title}" if series_title else "")
    chart = charts.series_population_chart(
        years,
        values,
        population,
        value_label=f"{series} {period} value",
        title=f"{series} {period} by year, against the US population",
    )
    rows = [
        [str(y), escape(p), number(v), people(n)] for y, p, v, n in zip(years, periods, values, population, strict=True)
    ]
    missing = year_ranges([y for y, n in zip(years, population, strict=True) if n is None])
    return "\n".join(
        [
            '<section id="series-population">',
            f"<h2>{escape(series)} {escape(period)} and the US population</h2>",
            f"<p>{escape(name)}: every year of the series, joined with the population of that year.</p>",
            f'<figure class="chart">{chart}'
            f"<figcaption>Bars: the series' {escape(period)} value (left axis). Line: the population"
            " (right axis).</figcaption></figure>",
            '<dl class="legend" id="population-legend"><dt>' + EMPTY + "</dt><dd>no population for that year:"
            " the DataUSA source has none (its ACS 1-year estimates start in 2013, and 2020's were not released)"
            + (f"; here {missing}" if missing else "")
            + ".</dd></dl>",
            _table([("year", "num"), ("period", ""), ("value", "num"), ("population", "num")], rows, narrow=True),
            "</section>",
        ]
    )


def _column(frame: pl.DataFrame, name: str) -> list[Any]:
    """A column's values, or none where the frame has no rows (or no such column: a report without titles)."""
    return frame.get_column(name).to_list() if frame.height and name in frame.columns else []


def _footer(report: Report) -> str:
    items = "".join(
        f"<li>{escape(name)}: <code>{escape(i.key)}</code> version <code>{escape(i.version)}</code></li>"
        for name, i in report.inputs.items()
    )
    return f"<footer><p>Inputs:</p><ul>{items}</ul></footer>"


def _table(columns: list[tuple[str, str]], rows: list[list[str]], *, narrow: bool = False) -> str:
    """A small table; every cell is escaped."""
    body = "\n".join(
        "<tr>"
        + "".join(f'<td class="{cls}">{escape(cell)}</td>' for (_, cls), cell in zip(columns, row, strict=True))
        + "</tr>"
        for row in rows
    )
    return _wrap(columns, body, narrow=narrow)


def _wrap(columns: list[tuple[str, str]], body: str, *, table_id: str | None = None, narrow: bool = False) -> str:
    """The table around ``body`` (its rows, already HTML), in its scrolling box."""
    head = "".join(f'<th class="{cls}" scope="col">{escape(name)}</th>' for name, cls in columns)
    ident = f' id="{table_id}"' if table_id else ""
    wrap = "table-wrap narrow" if narrow else "table-wrap"
    return f'<div class="{wrap}"><table{ident}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'
