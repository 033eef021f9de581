"""The second engine: DuckDB over the lake's Iceberg tables, its extensions loaded from their PyPI wheels.

``duckdb-extension-avro`` and ``-iceberg`` ship the extension binaries inside the wheel, so nothing is downloaded
at run time (DuckDB's own ``INSTALL`` would fetch them). Each lake table becomes a view over ``iceberg_scan`` of
its current metadata file, so the named queries' SQL runs unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EXTENSIONS = ("avro", "iceberg")


def extension_path(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"duckdb-extension-{name} is not installed: make install-dev")
    found = sorted(Path(spec.submodule_search_locations[0]).glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-{name} ships no {name}.duckdb_extension")
    return found[-1]


def connect() -> Any:
    import duckdb

    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    for name in EXTENSIONS:
        con.execute(f"LOAD '{extension_path(name)}'")
    return con


def over_lake(lake: Any, tables: tuple[str, ...] = ("observations", "series", "population")) -> Any:
    """A DuckDB connection where each of ``tables`` is a view over the lake table's current snapshot."""
    con = connect()
    for name in tables:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM iceberg_scan('{lake.table(name).metadata_location}')")  # noqa: S608 - our own table names and paths
    return con
