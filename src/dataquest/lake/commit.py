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
import shutil
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import Table, Transaction

from dataquest import log
from dataquest.errors import StorageError
from dataquest.lake.catalog import Lake
from dataquest.lake.schema import TABLES

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.partitioning import PartitionKey
    from pyiceberg.table.metadata import TableMetadata

logger = log.get(__name__)

COMMIT = "dataquest.commit"
ATTEMPTS = 8
BACKOFF = 0.05
COPY_CHUNK = 8 << 20


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

    def add(tx: Transaction, summary: dict[str, str]) -> None:
        rows = _arrow(frame, tx.table_metadata.schema().as_arrow())
        if rows.num_rows:
            _append(tx, rows, survey, summary)

    return _commit(lake, name, survey, add, summary=summary, table_properties=table_properties)


def replace_with_files(  # noqa: PLR0913 - the table, its part and its files, then keyword-only commit metadata
    lake: Lake,
    name: str,
    survey: str,
    paths: list[Path],
    *,
    summary: dict[str, str],
    table_properties: dict[str, str] | None = None,
) -> int | None:
    """Replace ``survey``'s rows of table ``name`` by the Parquet files ``paths`` (the table's schema, field ids).

    The files are copied into the table's data location as they are (no rewrite) and registered in one commit
    with the delete of the part's previous files. Should the commit fail, the copies are deleted again.
    """
    table = lake.table(name)
    copied = [_copy_in(table, survey, path) for path in paths]
    try:

        def add(tx: Transaction, summary: dict[str, str]) -> None:
            meta = tx.table_metadata
            with tx._append_snapshot_producer(summary) as append:
                for (location, size), path in zip(copied, paths, strict=True):
                    append.append_data_file(_data_file(meta, path, location, size))

        return _commit(lake, name, survey, add, summary=summary, table_properties=table_properties)
    except BaseException:
        for location, _ in copied:
            table.io.delete(location)
        raise


def _copy_in(table: Table, survey: str, path: Path) -> tuple[str, int]:
    """Copy ``path`` into ``table``'s data location for ``survey``'s partition; its location and size."""
    from pyiceberg.table.locations import load_location_provider  # noqa: PLC0415

    provider = load_location_provider(table.location(), table.properties)
    location = provider.new_data_location(f"{uuid.uuid4()}.parquet", partition_key=_key(table.metadata, survey))
    with path.open("rb") as src, table.io.new_output(location).create(overwrite=True) as out:
        shutil.copyfileobj(src, out, COPY_CHUNK)
    return location, path.stat().st_size


def _data_file(meta: TableMetadata, path: Path, location: str, size: int) -> DataFile:
    """The manifest entry of a copied data file, its statistics read from the local copy's footer."""
    from pyiceberg.io.pyarrow import (  # noqa: PLC0415
        compute_statistics_plan,
        data_file_statistics_from_parquet_metadata,
        parquet_path_to_id_mapping,
    )
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat  # noqa: PLC0415

    schema = meta.schema()
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=pq.read_metadata(path),
        stats_columns=compute_statistics_plan(schema, meta.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=location,
        file_format=FileFormat.PARQUET,
        partition=stats.partition(meta.spec(), schema),
        file_size_in_bytes=size,
        sort_order_id=None,
        spec_id=meta.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **stats.to_serialized_dict(),
    )


def _commit(  # noqa: PLR0913 - the table, its part, what to add, then keyword-only commit metadata
    lake: Lake,
    name: str,
    survey: str | None,
    add: Callable[[Transaction, dict[str, str]], None],
    *,
    summary: dict[str, str],
    table_properties: dict[str, str] | None = None,
) -> int | None:
    """Delete ``survey``'s part (or every row), ``add`` the new rows and set ``table_properties``: one commit."""
    summary = {**summary, COMMIT: uuid.uuid4().hex}  # the snapshots of one commit (a delete, an append) share it
    where: BooleanExpression | str = f"survey = '{survey}'" if survey else AlwaysTrue()  # survey: [a-z0-9]+
    for attempt in range(1, ATTEMPTS + 1):
        table = lake.table(name)
        try:
            with warnings.catch_warnings(), table.transaction() as tx:
                warnings.filterwarnings("ignore", "Delete operation did not match any records")
                tx.delete(where, snapshot_properties=summary)
                add(tx, summary)
                properties = {**_missing(table, TABLES[name].properties), **(table_properties or {})}
                if properties:
                    tx.set_properties(properties)
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


def _missing(table: Table, wanted: dict[str, str]) -> dict[str, str]:
    """The properties of ``wanted`` (the table's spec) that ``table`` lacks: a table made before they were set."""
    return {k: v for k, v in wanted.items() if table.properties.get(k) != v}


def _key(meta: TableMetadata, survey: str | None) -> PartitionKey | None:
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey  # noqa: PLC0415

    spec, schema = meta.spec(), meta.schema()
    if spec.is_unpartitioned():
        return None
    values = [PartitionFieldValue(field=f, value=survey) for f in spec.fields]
    return PartitionKey(field_values=values, partition_spec=spec, schema=schema)


def _append(tx: Transaction, rows: pa.Table, survey: str | None, summary: dict[str, str]) -> None:
    """Append ``rows`` (all of one survey's partition, or of an unpartitioned table) as new data files.

    pyiceberg's own partitioned write groups and filters the whole table by partition first (two copies of
    it: 10 s and gigabytes at 100x pr); the rows here are known to be one partition, so its key is given.
    """
    from pyiceberg.io.pyarrow import bin_pack_arrow_table, write_file  # noqa: PLC0415
    from pyiceberg.table import TableProperties, WriteTask  # noqa: PLC0415
    from pyiceberg.utils.properties import property_as_int  # noqa: PLC0415

    meta = tx.table_metadata
    schema, key = meta.schema(), _key(meta, survey)
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
