"""report.html: numbers for people, the three sections, the legend, titles or the note, nothing external."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataquest import report, report_html, titles
from dataquest.report import ReportOptions
from tests.support.html_page import Page
from tests.support.report_inputs import PR32_TITLE, write_inputs


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    return report.report_from_files(*write_inputs(tmp_path), ReportOptions()).document


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


def test_the_page_has_a_title_three_sections_charts_and_every_best_year(document: dict[str, Any]) -> None:
    text = report_html.render_html(document)
    page = Page(text)
    assert page.title == "dataquest report: BLS productivity and US population"
    assert page.sections == ["population", "best-years", "series-population"]
    assert page.rows["best-years-table"] == len(document["best_years"]) == 45
    assert page.svgs == ["chart population-chart", "chart count-chart", "chart series-population-chart"]
    assert "322,069,808" in text
    assert "4,158,441" in text
    assert PR32_TITLE in text
    assert titles.MISSING_NOTE not in text


def test_the_legend_explains_basis_and_the_empty_population(document: dict[str, Any]) -> None:
    text = report_html.render_html(document)
    assert re.search(r'<dl class="legend" id="basis-legend">.*<dt>annual</dt>.*<dt>quarters</dt>', text)
    legend = re.search(r'<dl class="legend" id="population-legend">(.*?)</dl>', text)
    assert legend is not None
    assert "no population for that year" in legend.group(1)
    assert legend.group(1).endswith("; here 1995..2012, 2020, 2024, 2025.</dd>")
    assert '<td class="num">—</td>' in text


def test_nothing_is_fetched_no_script_and_a_policy_forbids_requests(document: dict[str, Any]) -> None:
    text = report_html.render_html(document)
    page = Page(text)
    assert page.urls == []
    assert "<script" not in text
    assert "@import" not in text
    assert "url(" not in text
    assert "default-src 'none'" in text


def test_text_is_escaped(document: dict[str, Any]) -> None:
    document["best_years"][0]["title"] = "<b>bold</b> & co"
    text = report_html.render_html(document)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in text
    assert "<b>bold</b>" not in text


def test_without_titles_the_page_says_so(tmp_path: Path) -> None:
    doc = report.report_from_files(*write_inputs(tmp_path, titles=False), ReportOptions()).document
    text = report_html.render_html(doc)
    assert titles.MISSING_NOTE in text
    assert ">title</th>" not in text
