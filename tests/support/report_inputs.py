"""Generated report inputs in the real files' formats: a BLS ``pr`` folder (the data file and the five mapping
files the series titles come from) and a DataUSA population JSON.

Small but shaped like the real release: several sectors, measures and durations, 1995..2025 with quarterly
and annual rows, a few series with annual rows only, PRS30006032 Q01 every year, a population for 2013..2023
without 2020. Deterministic: the same call writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

SECTORS = {"3000": "Manufacturing", "8400": "Business", "8500": "Nonfarm Business"}
CLASSES = {"3": "Employees", "6": "All workers"}
MEASURES = {"01": "Employment", "03": "Hours worked", "09": "Labor productivity (output per hour)"}
DURATIONS = {"1": "% Change same quarter 1 year ago", "2": "% Change from previous quarter", "3": "Index (2017=100)"}
PR32_TITLE = "Manufacturing, All workers, Hours worked, % Change from previous quarter"
POPULATION = {
    2013: 316128839,
    2014: 318857056,
    2015: 321418821,
    2016: 323127515,
    2017: 325719178,
    2018: 327167439,
    2019: 328239523,
    2021: 331893745,
    2022: 333287562,
    2023: 334914896,
}
YEARS = range(1995, 2026)


def series_codes() -> list[tuple[str, str, str, str, str]]:
    """``(series_id, sector, class, measure, duration)`` of every generated series, in id order."""
    out = []
    for sector in SECTORS:
        for cls in ("6",) if sector == "3000" else ("3", "6"):
            for measure in MEASURES:
                for duration in DURATIONS:
                    out.append((f"PRS{sector}{cls}{measure}{duration}", sector, cls, measure, duration))
    return sorted(out)


def _value(series_index: int, year: int, quarter: int) -> str:
    # Deterministic and varied: each series peaks in a different year; 3 decimals at most, as BLS publishes.
    peak = 1996 + (series_index * 7) % 29
    v = 50.0 - abs(year - peak) * 1.5 + quarter * 0.25 + (series_index % 5) * 0.125
    return f"{v:.3f}".rstrip("0").rstrip(".")


def data_bytes() -> bytes:
    lines = ["series_id        \tyear\tperiod\t       value\tfootnote_codes"]
    for index, (sid, *_codes) in enumerate(series_codes()):
        annual_only = index % 6 == 5 and sid != "PRS30006032"
        for year in YEARS:
            quarters = [] if annual_only else [1, 2, 3, 4]
            if year == YEARS[-1] and not annual_only:
                quarters = [1, 2]
            for q in quarters:
                v = _value(index, year, q)
                if sid == "PRS30006032" and q == 1:
                    v = "0.5" if year == 2018 else f"{((year * 37) % 17 - 8) / 10:.1f}"
                lines.append(f"{sid:<17}\t{year}\tQ0{q}\t{v:>12}\t")
            if year != YEARS[-1]:
                lines.append(f"{sid:<17}\t{year}\tQ05\t{_value(index, year, 5):>12}\t")
    return ("\r\n".join(lines) + "\r\n").encode()


def _mapping(code: str, text: str, rows: dict[str, str]) -> bytes:
    lines = [f"{code}\t{text}\tdisplay_level\tselectable\tsort_sequence"]
    lines += [f"{k}\t{v}\t0\tT\t{i + 1}" for i, (k, v) in enumerate(rows.items())]
    return ("\r\n".join(lines) + "\r\n").encode()


def mapping_files() -> dict[str, bytes]:
    """``pr.series``, ``pr.sector``, ``pr.class``, ``pr.measure``, ``pr.duration`` as BLS writes them."""
    head = (
        "series_id        \tsector_code\tclass_code\tmeasure_code\tduration_code\tseasonal\tbase_year\t"
        "footnote_codes\tbegin_year\tbegin_period\tend_year\tend_period"
    )
    series = [head] + [
        f"{sid:<17}\t{sector}\t{cls}\t{measure}\t{duration}\tS\t-\t\t1995\tQ01\t2025\tQ02"
        for sid, sector, cls, measure, duration in series_codes()
    ]
    return {
        "pr.series": ("\r\n".join(series) + "\r\n").encode(),
        "pr.sector": _mapping("sector_code", "sector_name", SECTORS),
        "pr.class": _mapping("class_code", "class_text", CLASSES),
        "pr.measure": _mapping("measure_code", "measure_text", MEASURES),
        "pr.duration": _mapping("duration_code", "duration_text", DURATIONS),
    }


def population_bytes() -> bytes:
    """The tesseract ``jsonrecords`` shape the default population URL answers with."""
    rows = [
        {"Nation ID": "01000US", "Nation": "United States", "Year": y, "Population": float(p)}
        for y, p in sorted(POPULATION.items(), reverse=True)
    ]
    return json.dumps({"annotations": {"source_name": "generated"}, "page": {}, "data": rows}).encode()


def write_inputs(folder: Path, *, titles: bool = True) -> tuple[Path, Path]:
    """Write the BLS folder (with the mapping files unless ``titles`` is false) and the population JSON under
    ``folder``; the data file's and the population file's paths."""
    bls = folder / "bls-pr"
    bls.mkdir(parents=True, exist_ok=True)
    data = bls / "pr.data.0.Current"
    data.write_bytes(data_bytes())
    if titles:
        for name, body in mapping_files().items():
            (bls / name).write_bytes(body)
    pop = folder / "population" / "nation_population.json"
    pop.parent.mkdir(parents=True, exist_ok=True)
    pop.write_bytes(population_bytes())
    return data, pop
