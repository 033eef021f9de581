"""report.html in headless Chromium: what a reader's browser makes of it, on a desktop and on a phone.

The page is the one ``dataquest report --out`` writes, from generated inputs in the real files' formats. The
checks read Chromium's DOM after load, its net log (the requests the page started) and its console; a control
page that does fetch shows that the request check can fail. Chromium comes from ``make chromium`` (apt-get as
root), which ``make test`` runs.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from dataquest.report import builder as report
from dataquest.report.builder import ReportOptions
from tests.support import browser
from tests.support.html_page import Page
from tests.support.report_inputs import PR32_TITLE, write_inputs

pytestmark = pytest.mark.integration

CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
# Layout facts only a browser knows, read by a wrapper page from the report shown in a phone-wide frame
# (headless Chromium's window is at least 500 pixels wide) and written into the wrapper's DOM.
PHONE_WIDTH = 360
MEASURE = """<script>
const frame = document.querySelector("iframe");
frame.addEventListener("load", () => {
  const w = frame.contentWindow, d = frame.contentDocument, b = document.body;
  b.dataset.viewport = String(w.innerWidth);
  b.dataset.overflow = String(d.documentElement.scrollWidth > w.innerWidth);
  b.dataset.svgWidths = Array.from(d.querySelectorAll("svg.chart"))
    .map(s => Math.round(s.getBoundingClientRect().width)).join(",");
  b.dataset.fontSize = w.getComputedStyle(d.body).fontSize;
  b.dataset.chartText = String(Math.min(...Array.from(d.querySelectorAll("svg.chart text"))
    .map(t => t.getBoundingClientRect().height)).toFixed(1));
  b.dataset.figureScrolls = Array.from(d.querySelectorAll("figure.chart"))
    .map(f => String(f.scrollWidth > f.clientWidth)).join(",");
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser.find_chromium()
    if found is None:
        pytest.skip("chromium not found: `make chromium` installs it (apt-get install chromium, as root)")
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("browser")
    computed = report.report_from_files(*write_inputs(folder), ReportOptions())
    report.write_local(computed, folder / "out")
    return folder / "out" / "report.html", computed.document


def _variant(source: Path, name: str, *, keep_csp: bool = True, before_body_end: str = "") -> Path:
    text = source.read_text()
    if not keep_csp:
        text = CSP.sub("", text)
    out = source.with_name(name)
    out.write_text(text.replace("</body>", f"{before_body_end}</body>"))
    return out


def test_the_page_renders_with_its_sections_every_best_year_and_the_charts(
    chromium: str, page: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, doc = page
    shot = tmp_path / "report.png"
    rendered = browser.render(path.as_uri(), width=1000, height=1600, screenshot=shot)

    dom = Page(rendered.dom)
    assert dom.title == "dataquest report: BLS productivity and US population"
    assert dom.sections == ["population", "best-years", "series-population"]
    assert dom.rows["best-years-table"] == len(doc["best_years"]) == 45
    assert dom.svgs == ["chart population-chart", "chart count-chart", "chart series-population-chart"]
    years = {r["year"] for r in doc["best_years"]}
    assert rendered.dom.count('<rect class="bar"') == len(years) + sum(
        r["value"] is not None for r in doc["series_population"]
    )
    assert PR32_TITLE in rendered.dom
    assert rendered.requests == []
    assert not [line for line in rendered.console if "Content Security Policy" in line or "Uncaught" in line]
    assert browser.png_size(shot) == (1000, 1600)
    assert shot.stat().st_size > 30_000  # a drawn page; a blank 1000x1600 PNG is a few kB


def test_without_its_content_policy_the_page_still_requests_nothing(
    chromium: str, page: tuple[Path, dict[str, Any]]
) -> None:
    # The policy would refuse a request a later change added; with it gone, the net log would show that request.
    bare = _variant(page[0], "bare.html", keep_csp=False)
    assert "Content-Security-Policy" not in bare.read_text()
    assert browser.render(bare.as_uri(), width=1000, height=1200).requests == []


def test_the_request_check_sees_a_page_that_fetches(chromium: str, page: tuple[Path, dict[str, Any]]) -> None:
    fetching = '<img src="http://127.0.0.1:9/probe.png"><link rel="stylesheet" href="https://cdn.example.org/x.css">'
    bare = _variant(page[0], "fetching.html", keep_csp=False, before_body_end=fetching)
    assert set(browser.render(bare.as_uri(), width=800, height=600).requests) >= {
        "http://127.0.0.1:9/probe.png",
        "https://cdn.example.org/x.css",
    }
    # With the page's own policy, the same additions are refused, and the console says so.
    guarded = _variant(page[0], "guarded.html", before_body_end=fetching)
    rendered = browser.render(guarded.as_uri(), width=800, height=600)
    assert rendered.requests == []
    assert any("violates the following Content Security Policy" in line for line in rendered.console)


def test_on_a_phone_nothing_overflows_and_the_charts_fit(chromium: str, page: tuple[Path, dict[str, Any]]) -> None:
    # srcdoc: the frame shares the wrapper's origin, so the wrapper's script may measure it.
    wrapper = page[0].with_name("phone.html")
    srcdoc = html.escape(page[0].read_text(), quote=True)
    wrapper.write_text(
        f'<!doctype html><html><body><iframe width="{PHONE_WIDTH}" height="800" srcdoc="{srcdoc}"></iframe>'
        f"{MEASURE}</body></html>"
    )
    rendered = browser.render(wrapper.as_uri(), width=800, height=1000)
    body = re.search(r"<body([^>]*)>", rendered.dom)
    assert body is not None
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    assert attrs["viewport"] == str(PHONE_WIDTH)
    # The page never scrolls sideways: a chart or a wide table scrolls in its own box.
    assert attrs["overflow"] == "false"
    assert attrs["font-size"] == "15px"  # the phone stylesheet applied
    # Charts keep a readable width (their labels at least 10 CSS pixels tall) and scroll inside their figure.
    widths = [int(w) for w in attrs["svg-widths"].split(",")]
    assert len(widths) == 3
    assert all(w >= 500 for w in widths)
    assert attrs["figure-scrolls"] == "true,true,true"
    assert float(attrs["chart-text"]) >= 10
