"""One atomic commit of a table's part: replace a survey's partition (or the whole table), retried on conflict.

Iceberg commits are optimistic: two writers that start from the same metadata race, and the loser gets a
``CommitFailedException``. Different surveys touch different partitions, so the loser reloads the table and
commits again on top of the winner's snapshot: neither update is lost. Each snapshot's summary carries
``properties`` (the sources' versions and SHA-256s: the lineage of every row it wrote).
"""

from __future__ import annotations

import itertools
import logging
import random
import time
import uuid
import warnings

import polars as pl
import pyarrow as pa
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import Transaction

from dataquest import log
from dataquest.errors import StorageError
from dataquest.lake.catalog import Lake

logger = log.get(__name__)

COMMIT = "dataquest.commit"
ATTEMPTS = 8
BACKOFF = 0.05


def replace_part(  # noqa: PLR0913 - the table, its part and its rows, then keyword-only commit metadata
    lake: Lake,
    name: str,
    survey: str | None,
    frame: pl.DataFrame,
    *,
    summary: dict[str, str],
    table_properties: dict[str, str] | None = None,
) -> int | None:
    """Replace ``survey``'s rows of table ``name`` (all rows when ``survey`` is None) by ``frame``, in one commit.

    Returns the new snapshot id (None when nothing was written: an empty frame over an empty part).
    """
    summary = {**summary, COMMIT: uuid.uuid4().hex}  # the snapshots of one commit (a delete, an append) share it
    where: BooleanExpression | str = f"survey = '{survey}'" if survey else AlwaysTrue()  # survey: [a-z0-9]+
    for attempt in range(1, ATTEMPTS + 1):
        table = lake.table(name)
        rows = _arrow(frame, table.schema().as_arrow())
        try:
            with warnings.catch_warnings(), table.transaction() as tx:
                warnings.filterwarnings("ignore", "Delete operation did not match any records")
                tx.delete(where, snapshot_properties=summary)
                if rows.num_rows:
                    _append(tx, rows, survey, summary)
                if table_properties:
                    tx.set_properties(table_properties)
        except CommitFailedException as exc:
            log.event(
                logger,
                "commit conflict: retrying",
                level=logging.INFO,
                table=name,
                attempt=attempt,
                error=str(exc)[:200],
            )
            time.sleep(BACKOFF * attempt * (1 + random.random()))  # noqa: S311 - jitter, not a secret
            continue
        current = table.current_snapshot()
        return current.snapshot_id if current else None
    raise StorageError(f"table {name}: {ATTEMPTS} commits lost to concurrent writers; run the update again")


def _append(tx: Transaction, rows: pa.Table, survey: str | None, summary: dict[str, str]) -> None:
    """Append ``rows`` (all of one survey's partition, or of an unpartitioned table) as new data files.

    pyiceberg's own partitioned write groups and filters the whole table by partition first (two copies of
    it: 10 s and gigabytes at 100x pr); the rows here are known to be one partition, so its key is given.
    """
    from pyiceberg.io.pyarrow import bin_pack_arrow_table, write_file  # noqa: PLC0415
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey  # noqa: PLC0415
    from pyiceberg.table import TableProperties, WriteTask  # noqa: PLC0415
    from pyiceberg.utils.properties import property_as_int  # noqa: PLC0415

    meta = tx.table_metadata
    spec, schema = meta.spec(), meta.schema()
    key = None
    if not spec.is_unpartitioned():
        values = [PartitionFieldValue(field=f, value=survey) for f in spec.fields]
        key = PartitionKey(field_values=values, partition_spec=spec, schema=schema)
    size = property_as_int(
        meta.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    with tx._append_snapshot_producer(summary) as append:  # the step overwrite() takes, minus the grouping
        count = itertools.count(0)
        tasks = (
            WriteTask(
                write_uuid=append.commit_uuid,
                task_id=next(count),
                record_batches=batches,
                partition_key=key,
                schema=schema,
            )
            for batches in bin_pack_arrow_table(rows, size or TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
        )
        for data_file in write_file(io=tx._table.io, table_metadata=meta, tasks=tasks):
            append.append_data_file(data_file)


def _arrow(frame: pl.DataFrame, target: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table with exactly the table's columns and types."""
    if not frame.height:
        return target.empty_table()
    columns = [pl.col(f.name) if f.name in frame.columns else pl.lit(None).alias(f.name) for f in target]
    return frame.select(columns).to_arrow().cast(target)
