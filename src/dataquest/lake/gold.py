"""Gold: the report's three results as tables, computed from silver, and the named queries' SQL.

:func:`update_population` replaces the ``population`` table with a DataUSA response (either shape, as the
report reads it). :func:`refresh_gold` computes the three results from silver's ``pr`` observations of
``pr.data.0.Current`` (the report's input) and population with the report's own analysis
(:func:`dataquest.report.analysis.compute`; the other ``--periods`` basis of ``best_years`` by
:func:`dataquest.lake.best.best_years`, the same answer in one cheaper pass), titles from ``series``, and replaces
``population_stats``, ``best_years`` (column ``periods`` says which) and ``series_population``. Each commit's
summary names the silver snapshots it was computed from.

:data:`NAMED_QUERIES` are the same three answers in SQL over silver (``sql/*.sql``): the Athena named queries
(Terraform reads the same files) and what a second engine runs in the tests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources

import polars as pl

from dataquest import log
from dataquest.lake import best as lake_best
from dataquest.lake import expectations
from dataquest.lake.catalog import Lake
from dataquest.lake.commit import replace_part
from dataquest.population import parse_population
from dataquest.report import analysis
from dataquest.report.options import PERIODS, ReportOptions

logger = log.get(__name__)

NAMED_QUERIES = ("population_stats", "best_years", "series_population")
SURVEY = "pr"
REPORT_FILE = "pr.data.0.Current"
"""The report's input. Where data files overlap the current file wins, so its rows in silver are exactly its own."""


def named_query(name: str) -> str:
    """The SQL text of a named query (``sql/<name>.sql``)."""
    return resources.files("dataquest.lake").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


@dataclass
class GoldUpdate:
    status: str
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def update_population(lake: Lake, body: bytes, key: str, version: str | None) -> int:
    """Replace the ``population`` table by the rows of a DataUSA response; the number of rows."""
    rows = parse_population(body, source=key)
    frame = pl.DataFrame(
        {
            "year": [r.year for r in rows],
            "population": [r.population for r in rows],
            "source_key": [key] * len(rows),
            "source_version": [version] * len(rows),
        }
    )
    sources = {key: {"version": version, "sha256": hashlib.sha256(body).hexdigest()}}
    replace_part(lake, "population", None, frame, summary={"dataquest.sources": json.dumps(sources)})
    return len(rows)


def scan(lake: Lake, name: str) -> pl.LazyFrame:
    return pl.scan_iceberg(lake.table(name), storage_options=lake.storage_options or None)


def refresh_gold(lake: Lake, options: ReportOptions | None = None) -> GoldUpdate:
    """Recompute the gold tables from silver (see the module's docstring); ``waiting`` without input yet."""
    options = options or ReportOptions()
    population = scan(lake, "population").select("year", "population").collect()
    data = (
        scan(lake, "observations")
        .filter((pl.col("survey") == SURVEY) & (pl.col("source_file") == REPORT_FILE))
        .select("series_id", "year", "period", "value")
    )
    if not population.height or data.head(1).collect().height == 0:
        return GoldUpdate(status="waiting", notes=["gold: waiting for both the pr observations and the population"])
    years = population.get_column("year").to_list()
    check = expectations.population_notes(years, min(years), max(years), "population")
    titles = scan(lake, "series").filter(pl.col("survey") == SURVEY).select("series_id", "title").collect()
    results = analysis.compute(data, population, options)
    best = [
        (results.best_years if periods == options.periods else lake_best.best_years(data, periods)).with_columns(
            pl.lit(periods).alias("periods")
        )
        for periods in PERIODS
    ]  # the other basis from silver's own pass (dataquest.lake.best: the report's answer, one cheaper pass)
    stats = pl.DataFrame([results.population_stats.__dict__])
    frames = {
        "population_stats": stats,
        "best_years": _titled(pl.concat(best), titles),
        "series_population": _titled(results.series_population, titles),
    }
    summary = {"dataquest.inputs": json.dumps(_inputs(lake)), "dataquest.notes": json.dumps(list(check.notes))}
    for name, frame in frames.items():
        replace_part(lake, name, None, frame, summary=summary)
    log.event(logger, "gold refreshed", rows={n: f.height for n, f in frames.items()}, notes=list(check.notes))
    return GoldUpdate(
        status="updated",
        notes=list(check.notes),
        failures=list(check.failures),
        rows={n: f.height for n, f in frames.items()},
    )


def _titled(frame: pl.DataFrame, titles: pl.DataFrame) -> pl.DataFrame:
    return frame.join(titles, on="series_id", how="left", maintain_order="left")


def _inputs(lake: Lake) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for name in ("observations", "series", "population"):
        snapshot = lake.table(name).current_snapshot()
        found[name] = snapshot.snapshot_id if snapshot else None
    return found
