"""report.html: numbers for people, the three sections, the legend, titles or the note, nothing external."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import polars as pl
import pytest

from dataquest.report import builder as report
from dataquest.report import cells as report_cells
from dataquest.report import html as report_html
from dataquest.report import titles
from dataquest.report.builder import Report, ReportOptions
from tests.support.html_page import Page
from tests.support.report_inputs import PR32_TITLE, write_inputs


@pytest.fixture
def computed(tmp_path: Path) -> Report:
    return report.report_from_files(*write_inputs(tmp_path), ReportOptions())


def test_numbers_for_people() -> None:
    assert report_html.people(327167439.0) == "327,167,439"
    assert report_html.people(None) == "—"
    assert report_html.std_people(4158441.040908) == "4,158,441"
    assert [report_html.number(v) for v in (1234.5, -0.7, 705.895, 20.500000000000004, 13.0, -0.0001)] == [
        "1,234.5",
        "-0.7",
        "705.895",
        "20.5",
        "13",
        "0",
    ]


def test_year_ranges() -> None:
    assert report_html.year_ranges([2020, 1995, 1996, 1997, 2024, 2025, 2012]) == "1995..1997, 2012, 2020, 2024, 2025"
    assert report_html.year_ranges([]) == ""


def test_the_page_has_a_title_three_sections_charts_and_every_best_year(computed: Report) -> None:
    text = report_html.render_html(computed)
    page = Page(text)
    assert page.title == "dataquest report: BLS productivity and US population"
    assert page.sections == ["population", "best-years", "series-population"]
    assert page.rows["best-years-table"] == computed.best_years.height == 45
    assert page.svgs == ["chart population-chart", "chart count-chart", "chart series-population-chart"]
    assert "322,069,808" in text
    assert "4,158,441" in text
    assert PR32_TITLE in text
    assert titles.MISSING_NOTE not in text


def test_the_legend_explains_basis_and_the_empty_population(computed: Report) -> None:
    text = report_html.render_html(computed)
    assert re.search(r'<dl class="legend" id="basis-legend">.*<dt>annual</dt>.*<dt>quarters</dt>', text)
    legend = re.search(r'<dl class="legend" id="population-legend">(.*?)</dl>', text)
    assert legend is not None
    assert "no population for that year" in legend.group(1)
    assert legend.group(1).endswith("; here 1995..2012, 2020, 2024, 2025.</dd>")
    assert '<td class="num">—</td>' in text


def test_nothing_is_fetched_no_script_and_a_policy_forbids_requests(computed: Report) -> None:
    text = report_html.render_html(computed)
    page = Page(text)
    assert page.urls == []
    assert "<script" not in text
    assert "@import" not in text
    assert "url(" not in text
    assert "default-src 'none'" in text


def test_text_is_escaped(computed: Report) -> None:
    title = "<b>bold</b> & \"co\" 'x'"
    first = pl.int_range(pl.len()) == 0
    best = computed.best_years.with_columns(pl.when(first).then(pl.lit(title)).otherwise("title").alias("title"))
    text = report_html.render_html(dataclasses.replace(computed, best_years=best))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;co&quot; &#x27;x&#x27;" in text
    assert f'<td class="">{html.escape(title)}</td>' in text
    assert "<b>bold</b>" not in text


VALUES = [1234.5, -0.7, 705.895, 20.500000000000004, 13.0, -0.0001, 0.0, -0.0, 1234567.891, -98765.4321, 999.9995]
TIES = [0.0005, 2.0005, -1.0015, 1e20, None]


@pytest.mark.parametrize("values", [VALUES, VALUES + TIES], ids=["plain", "ties-and-huge"])
def test_the_best_years_rows_are_the_cells_python_writes(values: list[float | None]) -> None:
    best = pl.DataFrame(
        {
            "series_id": [f"S<{i}>" for i in range(len(values))],
            "title": ["a & b", None, *[f"t{i}" for i in range(len(values) - 2)]],
            "year": list(range(2000, 2000 + len(values))),
            "value": values,
            "basis": ["quarters"] * len(values),
        }
    )
    expected = "\n".join(
        f'<tr><td class="id">{html.escape(r["series_id"])}</td><td class="">{html.escape(r["title"] or "—")}</td>'
        f'<td class="num">{r["year"]}</td><td class="num">{report_html.number(r["value"])}</td>'
        f'<td class="">{r["basis"]}</td></tr>'
        for r in best.to_dicts()
    )
    assert report_cells.best_years_rows(best, True, report_html.EMPTY, report_html.number) == expected


def test_without_titles_the_page_says_so(tmp_path: Path) -> None:
    untitled = report.report_from_files(*write_inputs(tmp_path, titles=False), ReportOptions())
    text = report_html.render_html(untitled)
    assert titles.MISSING_NOTE in text
    assert ">title</th>" not in text
