"""The SVG charts: well-formed SVG, ticks, and marks where the numbers put them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dataquest.report import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (316e6, 335e6, [315e6, 320e6, 325e6, 330e6, 335e6]),
        (-7, 1.2, [-8, -6, -4, -2, 0, 2]),
        (5, 5, [4.7, 4.8, 4.9, 5, 5.1, 5.2, 5.3]),
    ],
)
def test_nice_ticks_cover_the_range_in_round_steps(lo: float, hi: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(lo, hi) == pytest.approx(ticks)


def test_compact_axis_labels() -> None:
    assert [charts.compact(v) for v in (327_167_439, 315e6, 12_000, 2.5, -4, 0)] == [
        "327.2M",
        "315M",
        "12K",
        "2.5",
        "-4",
        "0",
    ]


def test_population_chart_band_is_mean_plus_minus_std_and_a_gap_breaks_the_line() -> None:
    years = [2013, 2014, 2015, 2016, 2017, 2018, 2019, 2021, 2022]
    pops = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0, 180.0, 190.0]
    svg = parse(charts.population_chart(years, pops, charts.Band(mean=125.0, std=20.0, start_year=2013, end_year=2018)))
    # One run before the 2020 gap, one after; a point per year.
    assert len(svg.findall(".//s:polyline[@class='population']", NS)) == 2
    assert len(svg.findall(".//s:circle", NS)) == len(years)
    # The y scale is linear: read it from two points, then check the band's edges and the mean line.
    cy = {float(c.get("cx", "")): float(c.get("cy", "")) for c in svg.findall(".//s:circle", NS)}
    ys = [cy[x] for x in sorted(cy)]
    per_unit = (ys[0] - ys[1]) / 10.0
    at = lambda v: ys[0] - (v - 100.0) * per_unit  # noqa: E731
    band = svg.find(".//s:rect[@class='band']", NS)
    assert band is not None
    assert float(band.get("y", "")) == pytest.approx(at(145.0), abs=0.1)
    assert float(band.get("y", "")) + float(band.get("height", "")) == pytest.approx(at(105.0), abs=0.15)
    mean = svg.find(".//s:line[@class='mean']", NS)
    assert mean is not None
    assert float(mean.get("y1", "")) == pytest.approx(at(125.0), abs=0.1)
    # The band spans 2013..2018 only: it ends before the 2019 point.
    x2019 = sorted(cy)[6]
    assert float(band.get("x", "")) + float(band.get("width", "")) < x2019


def test_series_chart_draws_a_bar_per_value_below_zero_when_negative_and_population_on_its_own_axis() -> None:
    years = [2017, 2018, 2019, 2020]
    svg = parse(
        charts.series_population_chart(
            years, [0.4, -7.0, None, 2.0], [325e6, 327e6, None, None], value_label="v", title="t"
        )
    )
    bars = svg.findall(".//s:rect[@class='bar']", NS)
    assert [b.findtext("s:title", namespaces=NS) for b in bars] == ["2017: 0.4", "2018: -7", "2020: 2"]
    zero = svg.find("s:line[@class='zero']", NS)
    assert zero is not None
    zero_y = float(zero.get("y1", ""))
    negative = bars[1]
    assert float(negative.get("y", "")) == pytest.approx(zero_y, abs=0.1)  # grows down from the zero line
    assert float(bars[0].get("y", "")) < zero_y
    assert len(svg.findall(".//s:polyline[@class='population']", NS)) == 1
    assert len(svg.findall(".//s:circle", NS)) == 2


def test_count_chart_bars_are_proportional_and_missing_years_empty() -> None:
    svg = parse(charts.count_chart([2000, 2003], [2, 8], title="t", label="l"))
    bars = svg.findall(".//s:rect[@class='bar']", NS)
    assert [b.findtext("s:title", namespaces=NS) for b in bars] == ["2000: 2", "2003: 8"]
    heights = [float(b.get("height", "")) for b in bars]
    assert heights[1] == pytest.approx(4 * heights[0], rel=1e-3)


def test_titles_are_escaped_and_empty_data_says_so() -> None:
    svg = parse(charts.count_chart([], [], title="a <b> & c", label="l"))
    assert svg.findtext("s:title", namespaces=NS) == "a <b> & c"
    assert "no data" in ET.tostring(svg, encoding="unicode")
