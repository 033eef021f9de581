"""The analysis on small generated BLS files, one rule per test, and the known answers on the real data."""

from __future__ import annotations

import statistics
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from dataquest.errors import ValidationError
from dataquest.population import PopulationRow, parse_population
from dataquest.report import analysis, datafile
from dataquest.report.options import ReportOptions

Row = tuple[str, int, str, str]


def bls_bytes(rows: list[Row], *, style: str = "bls") -> bytes:
    """A BLS data file: ``bls`` pads as BLS does (series id left-aligned to 17, values right-aligned to 12,
    header padded, CRLF); ``odd`` pads every field on both sides (which the typed reader cannot take)."""
    if style == "bls":
        lines = ["series_id        \tyear\tperiod\t       value\tfootnote_codes"]
        lines += [f"{s:<17}\t{y}\t{p}\t{v:>12}\t" for s, y, p, v in rows]
    else:
        lines = [" series_id \t year \t period \t value \t footnote_codes "]
        lines += [f"  {s}  \t {y} \t {p}  \t  {v}  \t " for s, y, p, v in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def write(tmp_path: Path, rows: list[Row], *, style: str = "bls") -> Path:
    path = tmp_path / f"pr.data.{style}"
    path.write_bytes(bls_bytes(rows, style=style))
    return path


def quarters(series: str, year: int, *values: str, annual: str | None = None) -> list[Row]:
    rows = [(series, year, f"Q0{i + 1}", v) for i, v in enumerate(values)]
    return rows + ([(series, year, "Q05", annual)] if annual is not None else [])


POPULATION = analysis.population_frame(
    [PopulationRow(2000, 282_000_000.0), PopulationRow(2001, 285_000_000.0), PopulationRow(2003, 290_000_000.0)]
)


def compute(source: Path | bytes | pl.LazyFrame, **kw: object) -> analysis.Results:
    return analysis.compute(source, POPULATION, ReportOptions(**kw))  # type: ignore[arg-type]


def best(results: analysis.Results) -> list[tuple[str, int, float, str]]:
    return [(s, y, v, b) for s, y, v, b in results.best_years.iter_rows()]


# --- reading ---------------------------------------------------------------------------------------------------
def test_every_field_and_header_is_trimmed_and_crlf_dropped(tmp_path: Path) -> None:
    rows = [*quarters("PRS1", 2000, "1.5", "-2.25", "3", "0.125", annual="9.9")]
    res = compute(write(tmp_path, rows), series_id="PRS1", period="Q02")
    assert best(res) == [("PRS1", 2000, 2.375, "quarters")]
    assert res.series_population.rows() == [("PRS1", 2000, "Q02", -2.25, 282_000_000.0)]


def test_a_file_padded_everywhere_is_read_by_the_trimming_reader_with_the_same_results(tmp_path: Path) -> None:
    rows = [*quarters("PRS1", 2000, "1.5", "2.5", "3", "4"), *quarters("PRS1", 2001, "1", "1", "1", "1")]
    plain = compute(write(tmp_path, rows), series_id="PRS1")
    odd = compute(write(tmp_path, rows, style="odd"), series_id="PRS1")
    assert best(odd) == best(plain) == [("PRS1", 2000, 11.0, "quarters")]
    assert odd.series_population.equals(plain.series_population)


def test_a_padded_period_alone_switches_to_the_trimming_reader(tmp_path: Path) -> None:
    body = bls_bytes(quarters("PRS1", 2000, "1", "2", "3", "4")).replace(b"\tQ01\t", b"\t Q01\t")
    res = compute(body, series_id="PRS1")
    assert best(res) == [("PRS1", 2000, 10.0, "quarters")]
    assert res.series_population.height == 1


def test_one_series_written_with_two_paddings_is_one_series(tmp_path: Path) -> None:
    body = bls_bytes([*quarters("PRS1", 2000, "1", "2"), ("PRS1", 2001, "Q01", "5")])
    body = body.replace(b"PRS1             \t2001", b"PRS1  \t2001")
    res = compute(body, series_id="PRS1")
    assert best(res) == [("PRS1", 2001, 5.0, "quarters")]


def test_the_typed_and_the_trimming_readers_agree_on_a_frame_given_directly(tmp_path: Path) -> None:
    rows = [*quarters("A", 2000, "1", "2"), *quarters("B", 2001, "0.5", annual="7")]
    path = write(tmp_path, rows)
    assert best(compute(datafile.scan_bls_trimmed(path))) == best(compute(path))


def test_a_file_without_the_columns_is_refused_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_bytes(b"a\tb\r\n1\t2\r\n")
    with pytest.raises(ValidationError, match=r"no column\(s\) \['series_id', 'year', 'period', 'value'\]"):
        compute(path)


@pytest.mark.parametrize(("year", "value"), [("2000", "n/a"), ("twenty", "1.0"), ("2000", "")])
def test_a_non_numeric_field_is_refused(tmp_path: Path, year: str, value: str) -> None:
    body = bls_bytes([("PRS1", 2000, "Q01", "1.0")]) + f"PRS1\t{year}\tQ02\t{value}\t\r\n".encode()
    with pytest.raises(ValidationError, match="cannot read it as a BLS data file"):
        compute(body)


def test_values_with_many_decimals_are_summed_exactly() -> None:
    res = compute(bls_bytes(quarters("PRS1", 2000, "0.000001", "0.0000002", "123456789.123456789")))
    assert best(res) == [("PRS1", 2000, float(Decimal("123456789.123457989")), "quarters")]


# --- best year -------------------------------------------------------------------------------------------------
def test_sums_are_exact_where_floats_are_not() -> None:
    assert 0.4 + 7.0 + 9.8 + 3.3 == 20.500000000000004  # the float noise this guards against
    res = compute(bls_bytes(quarters("PRS1", 2000, "0.4", "7.0", "9.8", "3.3")))
    assert res.best_years.get_column("value").to_list() == [20.5]


def test_float_error_prone_sums_are_the_exact_decimal_sums() -> None:
    """Values chosen so that float sums drift (0.1 + 0.2 per year, ...): every best value is the float nearest
    the exact decimal sum, computed here with Decimal, and no year wins by float noise."""
    cases = {
        "A": [("0.1", "0.2"), ("0.3",)],  # 0.30000000000000004 vs 0.3: a tie, to the earlier year
        "B": [("0.4", "7.0", "9.8", "3.3"), ("20.5",)],  # 20.500000000000004 vs 20.5
        "C": [("1.1", "2.2"), ("3.3",)],  # 3.3000000000000003 vs 3.3
        "D": [("999999.999", "0.001", "-0.003"), ("999999.997",)],  # large and small: 999999.9970000001
        "E": [("-0.1", "-0.2"), ("-0.3",), ("-0.30000",)],  # negative ties
    }
    rows: list[Row] = []
    for series, years in cases.items():
        for i, values in enumerate(years):
            rows += quarters(series, 2000 + i, *values)
    floats = {s: [sum(float(v) for v in vs) for vs in years] for s, years in cases.items()}
    assert any(len(set(sums)) > 1 for sums in floats.values())  # the float noise this test is about
    exact = {s: [sum((Decimal(v) for v in vs), Decimal(0)) for vs in years] for s, years in cases.items()}
    expected = [(s, 2000 + sums.index(max(sums)), float(max(sums)), "quarters") for s, sums in exact.items()]
    assert best(compute(bls_bytes(rows))) == expected
    assert [y for _, y, _, _ in expected] == [2000, 2000, 2000, 2000, 2000]  # every case is a tie to the first year


def test_sums_of_many_random_three_decimal_values_equal_decimal_sums() -> None:
    import random

    rng = random.Random(14)
    rows: list[Row] = []
    exact: dict[str, dict[int, Decimal]] = {}
    for k in range(60):
        series = f"S{k:03d}"
        for year in range(2000, 2010):
            values = [f"{rng.randrange(-999_999, 999_999) / 1000:.3f}" for _ in range(4)]
            rows += quarters(series, year, *values)
            exact.setdefault(series, {})[year] = sum((Decimal(v) for v in values), Decimal(0))
    got = {s: (y, v) for s, y, v, _ in best(compute(bls_bytes(rows), periods="quarters"))}
    for series, sums in exact.items():
        top = max(sums.values())
        year = min(y for y, v in sums.items() if v == top)
        assert got[series] == (year, float(top)), series


def test_a_seventh_decimal_reads_the_values_as_decimals_and_stays_exact() -> None:
    # 0.7000001 is not a whole number of millionths: the scaled-integer pass refuses it, the decimal pass sums it.
    res = compute(bls_bytes(quarters("PRS1", 2000, "0.7000001", "0.1000007")))
    assert best(res) == [("PRS1", 2000, 0.8000008, "quarters")]
    assert 0.7000001 + 0.1000007 != 0.8000008  # where floats alone would be off


def test_a_tie_goes_to_the_earliest_year_even_where_float_sums_differ() -> None:
    # 2001: 0.1 + 0.2 = 0.30000000000000004 in floats, above 2000's 0.3: only exact sums see the tie.
    rows = [*quarters("PRS1", 2001, "0.1", "0.2"), *quarters("PRS1", 2000, "0.3"), *quarters("PRS1", 2002, "0.3")]
    assert best(compute(bls_bytes(rows))) == [("PRS1", 2000, 0.3, "quarters")]


def test_quarters_ignore_the_annual_row() -> None:
    rows = [*quarters("PRS1", 2000, "1", "1", "1", "1", annual="100"), *quarters("PRS1", 2001, "2", "2", "2", "2")]
    assert best(compute(bls_bytes(rows))) == [("PRS1", 2001, 8.0, "quarters")]


def test_a_series_with_only_annual_rows_uses_them_with_basis_annual() -> None:
    rows = [("PRS9", 2000, "Q05", "3.5"), ("PRS9", 2001, "Q05", "4.5"), ("PRS9", 2002, "Q05", "-1")]
    assert best(compute(bls_bytes(rows))) == [("PRS9", 2001, 4.5, "annual")]


def test_a_year_with_only_an_annual_row_is_no_candidate_for_a_quarterly_series() -> None:
    # 2001 has no quarterly row: its quarterly sum is not 0, it is absent (else 0 would beat the negatives).
    rows = [*quarters("PRS1", 2000, "-1", "-2"), ("PRS1", 2001, "Q05", "5")]
    assert best(compute(bls_bytes(rows))) == [("PRS1", 2000, -3.0, "quarters")]


def test_periods_all_sums_every_row() -> None:
    rows = [*quarters("PRS1", 2000, "1", "1", "1", "1", annual="100"), *quarters("PRS1", 2001, "2", "2", "2", "2")]
    rows += [("PRS9", 2000, "Q05", "3.5")]
    assert best(compute(bls_bytes(rows), periods="all")) == [
        ("PRS1", 2000, 104.0, "all"),
        ("PRS9", 2000, 3.5, "all"),
    ]


def test_one_row_per_series_sorted_by_series() -> None:
    rows = [*quarters("B", 2000, "1"), *quarters("A", 2000, "2"), ("C", 2000, "Q05", "1")]
    assert [r[0] for r in best(compute(bls_bytes(rows)))] == ["A", "B", "C"]


# --- series with population ------------------------------------------------------------------------------------
def test_series_population_is_a_left_join_with_null_where_the_year_is_missing() -> None:
    rows = [("S", y, "Q01", f"{y - 1999}.5") for y in (2003, 2000, 2001, 2002)]
    rows += [("S", 2000, "Q02", "9"), ("T", 2000, "Q01", "9")]
    res = compute(bls_bytes(rows), series_id="S", period="Q01")
    assert res.series_population.rows() == [
        ("S", 2000, "Q01", 1.5, 282_000_000.0),
        ("S", 2001, "Q01", 2.5, 285_000_000.0),
        ("S", 2002, "Q01", 3.5, None),
        ("S", 2003, "Q01", 4.5, 290_000_000.0),
    ]


def test_series_population_follows_the_series_and_period_options() -> None:
    rows = [("S", 2000, "Q01", "1"), ("T", 2000, "Q03", "7"), ("T", 2001, "Q03", "8"), ("T", 2001, "Q01", "0")]
    res = compute(bls_bytes(rows), series_id="T", period="Q03")
    assert [(s, y, p, v) for s, y, p, v, _ in res.series_population.rows()] == [
        ("T", 2000, "Q03", 7.0),
        ("T", 2001, "Q03", 8.0),
    ]


def test_a_series_absent_from_the_file_gives_no_rows() -> None:
    assert compute(bls_bytes([("S", 2000, "Q01", "1")]), series_id="NOPE").series_population.height == 0


def test_the_joined_series_twice_in_a_year_and_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="more than one Q01 row"):
        compute(bls_bytes([("S", 2000, "Q01", "1"), ("S", 2000, "Q01", "2")]), series_id="S")


# --- population statistics -------------------------------------------------------------------------------------
def test_population_stats_are_mean_and_sample_std_over_the_inclusive_range() -> None:
    values = [100.0, 110.0, 130.0, 5.0]
    frame = analysis.population_frame([PopulationRow(2010 + i, v) for i, v in enumerate(values)])
    stats = analysis.population_stats(frame, 2010, 2012).collect().row(0, named=True)
    assert stats == {
        "start_year": 2010,
        "end_year": 2012,
        "years": 3,
        "mean": statistics.mean(values[:3]),
        "std": pytest.approx(statistics.stdev(values[:3]), rel=1e-12),
    }


# --- the real data ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(shared_data: Path) -> tuple[Path, pl.DataFrame]:
    pop = parse_population((shared_data / "population" / "acs1-nation.tesseract.json").read_bytes(), source="p")
    return shared_data / "bls-pr-2025-09" / "pr.data.0.Current", analysis.population_frame(pop)


def test_real_population_stats(real: tuple[Path, pl.DataFrame]) -> None:
    data, pop = real
    stats = analysis.compute(data, pop).population_stats
    assert (stats.years, stats.mean) == (6, 322069808.0)
    assert round(float(stats.std or 0), 6) == 4158441.040908


def test_real_best_years_all(real: tuple[Path, pl.DataFrame]) -> None:
    data, pop = real
    by = {
        s: (y, v, b) for s, y, v, b in analysis.compute(data, pop, ReportOptions(periods="all")).best_years.iter_rows()
    }
    assert len(by) == 282
    assert by["PRS30006011"] == (2022, 20.5, "all")
    assert by["PRS30006012"] == (2022, 17.1, "all")
    assert by["PRS30006013"] == (1998, 705.895, "all")
    assert by["PRS88003203"] == (2024, 583.441, "all")


def test_real_best_years_quarters(real: tuple[Path, pl.DataFrame]) -> None:
    data, pop = real
    res = analysis.compute(data, pop)
    by = {s: (y, v, b) for s, y, v, b in res.best_years.iter_rows()}
    assert len(by) == 282
    assert by["PRS30006011"] == (2022, 16.4, "quarters")
    assert by["PRS30006013"] == (1998, 564.713, "quarters")
    assert sum(1 for _, _, b in by.values() if b == "annual") == 45


def test_real_series_population(real: tuple[Path, pl.DataFrame]) -> None:
    data, pop = real
    rows = {y: (v, p) for _, y, _, v, p in analysis.compute(data, pop).series_population.iter_rows()}
    assert sorted(rows) == list(range(1995, 2026))
    assert rows[2018] == (0.5, 327167439.0)
    assert rows[2020][1] is None


def test_real_data_gives_the_same_results_through_both_readers(real: tuple[Path, pl.DataFrame]) -> None:
    data, pop = real
    typed, trimmed = analysis.compute(data, pop), analysis.compute(datafile.scan_bls_trimmed(data), pop)
    assert typed.best_years.equals(trimmed.best_years)
    assert typed.series_population.equals(trimmed.series_population)
