"""A small pr-like survey folder, written as BLS serves it (padded fields, CRLF, overlapping data files)."""

from __future__ import annotations

from pathlib import Path

HEADER = "series_id        \tyear\tperiod\t       value\tfootnote_codes"


def row(series: str, year: int, period: str, value: str, notes: str = "") -> str:
    return f"{series:<17}\t{year}\t{period}\t{value:>12}\t{notes}"


def table(header: list[str], rows: list[list[str]]) -> str:
    return "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"


def data_text(rows: list[str]) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


# PRS30006011: quarters and an annual Q05; PRS30006032: Q01 each year; PRS88888881: only annual rows.
ALL_DATA = [
    row("PRS30006011", 2012, "Q01", "1.000"),
    row("PRS30006011", 2012, "Q02", "2.100"),
    row("PRS30006011", 2012, "Q05", "9.9"),
    row("PRS30006011", 2013, "Q01", "3.5"),
    row("PRS30006011", 2013, "Q02", "0.1", "R"),
    row("PRS30006032", 2012, "Q01", "0.5"),
    row("PRS30006032", 2013, "Q01", "-1.2"),
    row("PRS88888881", 2012, "Q05", "10.25"),
    row("PRS88888881", 2013, "Q05", "10.75"),
]
# The current file carries the 2013 rows; its 2013 Q02 value disagrees with AllData's (a revision): it wins.
CURRENT = [
    row("PRS30006011", 2013, "Q01", "3.5"),
    row("PRS30006011", 2013, "Q02", "0.3", "R"),
    row("PRS30006032", 2013, "Q01", "-1.2"),
    row("PRS30006032", 2014, "Q01", "2.0"),
    row("PRS88888881", 2013, "Q05", "10.75"),
]
SERIES_HEADER = ["series_id        ", "sector_code", "class_code", "measure_code", "duration_code", "seasonal"]
SERIES = [
    ["PRS30006011      ", "3000", "6", "01", "1", "S"],
    ["PRS30006032      ", "3000", "6", "03", "2", "S"],
    ["PRS88888881      ", "8888", "6", "01", "1", "S"],  # sector 8888 is in no mapping: counted unresolved
]
MAPPINGS = {
    "pr.sector": (["sector_code", "sector_name"], [["3000", "Manufacturing"]]),
    "pr.class": (["class_code", "class_text"], [["6", "All workers"]]),
    "pr.measure": (["measure_code", "measure_text"], [["01", "Employment"], ["03", "Hours worked"]]),
    "pr.duration": (
        ["duration_code", "duration_text"],
        [["1", "% Change same quarter 1 year ago"], ["2", "% Change from previous quarter"]],
    ),
    "pr.footnote": (["footnote_code", "footnote_text"], [["R", "revised"]]),
    "pr.period": (["period", "period_abbr", "period_name"], [[f"Q0{i}", f"QTR{i}", f"q{i}"] for i in range(1, 6)]),
}
UNIQUE_ROWS = 10  # ALL_DATA's 9 keys and CURRENT's one new key (PRS30006032 2014 Q01)


def write_survey(folder: Path, survey: str = "pr") -> Path:
    """Write the survey's files into ``folder`` (``pr`` names; another survey gets its own prefix)."""
    folder.mkdir(parents=True, exist_ok=True)

    def put(name: str, text: str) -> None:
        (folder / name.replace("pr.", f"{survey}.", 1)).write_bytes(text.encode())

    put("pr.data.0.Current", data_text(CURRENT))
    put("pr.data.1.AllData", data_text(ALL_DATA))
    put("pr.series", table(SERIES_HEADER, SERIES))
    for name, (header, rows) in MAPPINGS.items():
        put(name, table(header, rows))
    put("pr.txt", "Major Sector Productivity and Costs (PR)\r\n")
    return folder


POPULATION = {
    "data": [
        {"Year": y, "Population": p, "Nation": "United States"}
        for y, p in (
            (2012, 100.0),
            (2013, 110.0),
            (2014, 130.0),
            (2015, 120.0),
            (2016, 140.0),
            (2017, 150.0),
            (2018, 160.0),
        )
    ]
}
