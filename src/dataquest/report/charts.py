"""Small static SVG charts for the report page and the notebook: plain strings, no JavaScript, no fonts fetched.

Three charts, each a function of plain numbers that returns one ``<svg>`` element sized by its ``viewBox``
(it scales to its container's width):

- :func:`population_chart`: population by year as a line with points, the mean of a year range as a dashed
  line and the ±1 standard deviation band around it, shaded over that range;
- :func:`series_population_chart`: a series' values as bars (left axis, zero line) and the population as a
  line (right axis), by year;
- :func:`count_chart`: a bar per year, e.g. the number of series whose best year it is.

A year with no value leaves a gap (no bar, the line broken), never a zero. Why not a chart library: the
report image holds polars and nothing else; matplotlib would add numpy, pillow and fonts (tens of MB and a
slower cold start) for three simple charts, and a JavaScript library would be a script in the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 16, 36
BLUE, ORANGE, GREY = "#1f5fa8", "#c2580a", "#6b7280"


@dataclass(frozen=True)
class Scale:
    """A linear map from ``lo..hi`` to pixels ``a..b``."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, v: float) -> float:
        span = self.hi - self.lo
        return self.a + (v - self.lo) / span * (self.b - self.a) if span else (self.a + self.b) / 2


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo..hi``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"ticks need finite bounds, got {lo}..{hi}")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def compact(v: float) -> str:
    """An axis label: 327,167,439 -> ``327.2M``; 2.5 -> ``2.5``; 12,000 -> ``12K``."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= size:
            return f"{v / size:.4g}{suffix}"
    return f"{v:.4g}"


@dataclass(frozen=True)
class Band:
    """The mean of the years ``start_year..end_year`` and their standard deviation: the population chart's band."""

    mean: float | None
    std: float | None
    start_year: int
    end_year: int


def population_chart(
    years: Sequence[int], population: Sequence[float], stats: Band, *, title: str = "US population by year"
) -> str:
    """Population by year, with the mean over ``stats.start_year..stats.end_year`` and its ±1 std band."""
    if not years:
        return _empty(title)
    mean, std, start_year, end_year = stats.mean, stats.std, stats.start_year, stats.end_year
    band = (mean - std, mean + std) if mean is not None and std is not None else None
    values = [*population, *(band or ())]
    y = _value_scale(values, TOP + 8, HEIGHT - BOTTOM)
    x = Scale(min(years), max(years), LEFT + 12, WIDTH - RIGHT - 12)
    parts = [*_y_axis(y, "start"), *_year_axis(years, x)]
    if band is not None and mean is not None:
        x0, x1 = x(max(start_year, min(years))) - 6, x(min(end_year, max(years))) + 6
        parts.append(
            f'<rect class="band" x="{x0:.1f}" y="{y(band[1]):.1f}" width="{x1 - x0:.1f}" '
            f'height="{y(band[0]) - y(band[1]):.1f}" fill="{BLUE}" fill-opacity="0.15">'
            f"<title>mean ± 1 std, {start_year}..{end_year}</title></rect>"
        )
        parts.append(
            f'<line class="mean" x1="{x0:.1f}" x2="{x1:.1f}" y1="{y(mean):.1f}" y2="{y(mean):.1f}" '
            f'stroke="{BLUE}" stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
    parts += _line(list(zip(years, population, strict=True)), x, y, color=BLUE, name="population")
    legend = [("line", BLUE, "population"), ("band", BLUE, f"mean ± 1 std, {start_year}..{end_year}")]
    return _svg(title, parts, legend, "population-chart")


def series_population_chart(
    years: Sequence[int],
    values: Sequence[float | None],
    population: Sequence[float | None],
    *,
    value_label: str,
    title: str,
) -> str:
    """``values`` as bars on the left axis, ``population`` as a line on the right axis, by year."""
    present = [v for v in values if v is not None]
    if not years or not present:
        return _empty(title)
    y = _value_scale([0.0, *present], TOP + 8, HEIGHT - BOTTOM)
    pops = [p for p in population if p is not None]
    y2 = _value_scale(pops, TOP + 8, HEIGHT - BOTTOM) if pops else None
    slot = _slots(years)
    parts = [*_y_axis(y, "start"), *_year_axis(years, lambda yr: slot(yr) + _slot_width(years) / 2)]
    if y2 is not None:
        parts += _y_axis(y2, "end", grid=False, color=ORANGE)
    parts.append(
        f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{GREY}"/>'
    )
    width = _slot_width(years) * 0.7
    for year, v in zip(years, values, strict=True):
        if v is None:
            continue
        x0 = slot(year) + _slot_width(years) * 0.15
        top, bottom = sorted((y(v), y(0)))
        parts.append(
            f'<rect class="bar" x="{x0:.1f}" y="{top:.1f}" width="{width:.1f}" height="{max(bottom - top, 0.5):.1f}" '
            f'fill="{BLUE}"><title>{year}: {escape(_label(v))}</title></rect>'
        )
    if y2 is not None:
        centre = {yr: slot(yr) + _slot_width(years) / 2 for yr in years}
        parts += _line(
            list(zip(years, population, strict=True)), lambda yr: centre[int(yr)], y2, color=ORANGE, name="population"
        )
    legend = [("bar", BLUE, value_label), ("line", ORANGE, "population (right axis)")]
    return _svg(title, parts, legend, "series-population-chart")


def count_chart(years: Sequence[int], counts: Sequence[int], *, title: str, label: str) -> str:
    """One bar per year from the first to the last (years without a count stay empty)."""
    if not years:
        return _empty(title)
    by_year = dict(zip(years, counts, strict=True))
    span = list(range(min(years), max(years) + 1))
    y = _value_scale([0.0, *map(float, counts)], TOP + 8, HEIGHT - BOTTOM, floor_zero=True)
    slot = _slots(span)
    w = _slot_width(span)
    parts = [*_y_axis(y, "start", integers=True), *_year_axis(span, lambda yr: slot(yr) + w / 2)]
    for year in span:
        n = by_year.get(year)
        if not n:
            continue
        parts.append(
            f'<rect class="bar" x="{slot(year) + w * 0.12:.1f}" y="{y(n):.1f}" width="{w * 0.76:.1f}" '
            f'height="{y(0) - y(n):.1f}" fill="{BLUE}"><title>{year}: {n}</title></rect>'
        )
    return _svg(title, parts, [("bar", BLUE, label)], "count-chart")


# --- pieces --------------------------------------------------------------------------------------------------
def _value_scale(values: Sequence[float], top: float, bottom: float, *, floor_zero: bool = False) -> Scale:
    ticks = nice_ticks(min(values), max(values))
    lo = 0.0 if floor_zero else ticks[0]
    return Scale(lo, ticks[-1], bottom, top)


def _ticks_of(scale: Scale) -> list[float]:
    return [t for t in nice_ticks(scale.lo, scale.hi) if scale.lo - 1e-9 <= t <= scale.hi + 1e-9]


def _y_axis(scale: Scale, side: str, *, grid: bool = True, color: str = GREY, integers: bool = False) -> list[str]:
    """The left (``side="start"``) or right (``"end"``) axis' tick labels, and grid lines unless ``grid`` is off."""
    at = LEFT if side == "start" else WIDTH - RIGHT
    out = []
    for t in _ticks_of(scale):
        if integers and not float(t).is_integer():
            continue
        py = scale(t)
        if grid:
            out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" stroke="#e5e7eb"/>')
        anchor, dx = ("end", -6) if side == "start" else ("start", 6)
        out.append(
            f'<text x="{at + dx:.1f}" y="{py + 4:.1f}" text-anchor="{anchor}" fill="{color}">{compact(t)}</text>'
        )
    return out


def _year_axis(years: Sequence[int], x: Callable[[int], float]) -> list[str]:
    span = max(years) - min(years)
    every = 1 if span <= 12 else 2 if span <= 24 else 5
    out = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="{GREY}"/>']
    for year in sorted(set(years)):
        if year % every == 0 or (every == 1):
            out.append(
                f'<text x="{x(year):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{GREY}">{year}</text>'
            )
    return out


def _slots(years: Sequence[int]) -> Callable[[int], float]:
    first, w = min(years), _slot_width(years)
    return lambda year: LEFT + (year - first) * w


def _slot_width(years: Sequence[int]) -> float:
    return (WIDTH - LEFT - RIGHT) / (max(years) - min(years) + 1)


def _line(
    values: Sequence[tuple[int, float | None]], x: Callable[[int], float], y: Scale, *, color: str, name: str
) -> list[str]:
    """A polyline per run of consecutive years that have a value, and a point per ``(year, value)``."""
    runs: list[list[tuple[int, float]]] = []
    previous: int | None = None
    for year, v in sorted(values):
        if v is None:
            previous = None
            continue
        if previous is None or year != previous + 1:
            runs.append([])
        runs[-1].append((year, v))
        previous = year
    out = []
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x(yr):.1f},{y(v):.1f}" for yr, v in run)
            out.append(f'<polyline class="{name}" points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        out += [
            f'<circle cx="{x(yr):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"><title>{yr}: {escape(_label(v))}</title>'
            "</circle>"
            for yr, v in run
        ]
    return out


def _label(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3f}".rstrip("0").rstrip(".")


def _svg(title: str, parts: list[str], legend: list[tuple[str, str, str]], css_class: str) -> str:
    items, x = [], LEFT
    for kind, color, text in legend:
        opacity = ' fill-opacity="0.15"' if kind == "band" else ""
        mark = (
            f'<line x1="{x}" x2="{x + 18}" y1="{HEIGHT - 8}" y2="{HEIGHT - 8}" stroke="{color}" stroke-width="2"/>'
            if kind == "line"
            else f'<rect x="{x}" y="{HEIGHT - 14}" width="18" height="10" fill="{color}"{opacity}/>'
        )
        items.append(f'{mark}<text x="{x + 24}" y="{HEIGHT - 4}" fill="#111827">{escape(text)}</text>')
        x += 44 + 8 * len(text)  # 13px text: under 8px a character
    return (
        f'<svg class="chart {css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 8}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="13">'
        f"<title>{escape(title)}</title>{''.join(parts)}{''.join(items)}</svg>"
    )


def _empty(title: str) -> str:
    return (
        f'<svg class="chart empty" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 60" role="img" '
        f'aria-label="{escape(title)}: no data"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="34" text-anchor="middle" fill="{GREY}">no data</text></svg>'
    )
