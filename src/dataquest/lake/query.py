"""SQL over the lake's tables (polars' SQL engine), as they stand now or as they stood at a time.

:func:`run_query` registers every table the SQL names, each at its current snapshot or, with ``as_of``, at the
snapshot current at that time (Iceberg's time travel: a table with no snapshot then is empty), and answers.
Before it reads anything it adds up the bytes of the named tables' snapshots: past ``scan_limit``
(``DQ_QUERY_SCAN_LIMIT``, default 4 GiB) it refuses, as Athena's workgroup cutoff would. Every failure (not SQL,
a missing table, the limit) is one :class:`QueryError` line.

:func:`revisions` lists the values of one series that changed between two times: each observation's value in
the snapshot current at ``since`` against every later snapshot up to ``until``.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from dataquest.config import DEFAULT_QUERY_SCAN_LIMIT, Settings
from dataquest.errors import DataQuestError, first_line
from dataquest.lake.catalog import Lake
from dataquest.lake.commit import COMMIT

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

DEFAULT_SCAN_LIMIT = DEFAULT_QUERY_SCAN_LIMIT
SAMPLE_QUERY = (
    "SELECT series_id, title, year, value FROM best_years WHERE periods = 'quarters' ORDER BY value DESC LIMIT 3"
)
"""The sample ``make run`` prints with its answer: the three largest best-year sums, with their titles."""


class QueryError(DataQuestError):
    """A query that cannot be answered: not SQL, a missing table, past the scan limit."""


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[dict[str, Any]]
    scanned_bytes: int
    frame: pl.DataFrame

    def document(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def scan_limit(settings: Settings | None = None) -> int:
    """``DQ_QUERY_SCAN_LIMIT`` (default 4 GiB), as :class:`~dataquest.config.Settings` read it."""
    return (settings or Settings.from_env()).query_scan_limit


def snapshot_at(table: Table, as_of: datetime | None) -> Snapshot | None:
    """The snapshot current at ``as_of`` (now without one): the last snapshot of the commit it belongs to."""
    if as_of is None:
        return table.current_snapshot()
    found = table.snapshot_as_of_timestamp(int(as_of.timestamp() * 1000))
    commits = settled(table)
    return commits.get(_commit_of(found), found) if found else None


def settled(table: Table) -> dict[str, Snapshot]:
    """The last snapshot of each commit, by commit id (an overwrite commits a delete and an append snapshot)."""
    last: dict[str, Snapshot] = {}
    for snapshot in sorted(table.snapshots(), key=lambda s: s.sequence_number or 0):
        last[_commit_of(snapshot)] = snapshot
    return last


def _commit_of(snapshot: Snapshot) -> str:
    props = snapshot.summary.additional_properties if snapshot.summary else {}
    return props.get(COMMIT) or str(snapshot.snapshot_id)


def frame_at(lake: Lake, table: Table, snapshot: Snapshot | None) -> pl.LazyFrame:
    if snapshot is None:
        return pl.from_arrow(table.schema().as_arrow().empty_table()).lazy()  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pl.scan_iceberg(table, snapshot_id=snapshot.snapshot_id, storage_options=lake.storage_options or None)


def run_query(lake: Lake, sql: str, *, as_of: datetime | None = None, limit: int = DEFAULT_SCAN_LIMIT) -> Answer:
    """The answer to ``sql`` over the lake's tables (see the module's docstring)."""
    if not sql.strip():
        raise QueryError('the query is empty; give SQL such as "SELECT * FROM best_years LIMIT 5"')
    tables = lake.existing()
    named = [n for n in tables if re.search(rf"\b{re.escape(n)}\b", sql, flags=re.IGNORECASE)]
    context = pl.SQLContext()
    scanned = 0
    for name in named:
        table = lake.table(name)
        snapshot = snapshot_at(table, as_of)
        summary = snapshot.summary if snapshot else None
        scanned += int(summary.additional_properties.get("total-files-size", 0)) if summary else 0
        context.register(name, frame_at(lake, table, snapshot))
    if scanned > limit:
        raise QueryError(
            f"the query would scan {scanned} bytes of {', '.join(named)}, past the limit of {limit} "
            "(DQ_QUERY_SCAN_LIMIT); name fewer or smaller tables (the gold tables are small) or raise the limit"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = context.execute(sql).collect()
    except (pl.exceptions.PolarsError, pl.exceptions.SQLInterfaceError, pl.exceptions.SQLSyntaxError) as exc:
        raise QueryError(f"the query failed: {first_line(exc)} (tables: {', '.join(tables) or 'none yet'})") from exc
    return Answer(frame.columns, [_plain(r) for r in frame.to_dicts()], scanned, frame)


def revisions(lake: Lake, series_id: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The observations of ``series_id`` whose value changed after ``since`` up to ``until``, oldest first."""
    table = lake.table("observations")
    start = snapshot_at(table, since)
    window = (since.timestamp() * 1000, until.timestamp() * 1000)
    later = [s for s in settled(table).values() if window[0] < s.timestamp_ms <= window[1] and s != start]

    def values(snapshot: Snapshot | None) -> dict[tuple[int, str], str | None]:
        frame = frame_at(lake, table, snapshot).filter(pl.col("series_id") == series_id)
        return {(r[0], r[1]): r[2] for r in frame.select("year", "period", "value").collect().iter_rows()}

    found: list[dict[str, Any]] = []
    before = values(start)
    for snapshot in sorted(later, key=lambda s: s.timestamp_ms):
        after = values(snapshot)
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                found.append(
                    {
                        "series_id": series_id,
                        "year": key[0],
                        "period": key[1],
                        "before": before.get(key),
                        "after": after.get(key),
                        "snapshot_id": snapshot.snapshot_id,
                        "committed_at": datetime.fromtimestamp(snapshot.timestamp_ms / 1000).astimezone().isoformat(),
                    }
                )
        before = after
    return found


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values: a decimal as the number it is, a float that is not finite as null."""
    return {key: _plain_value(value) for key, value in row.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value
