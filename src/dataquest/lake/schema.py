"""The lake's tables: their Iceberg schemas and partitioning, by name.

Silver: ``observations`` (partitioned by survey; ``value`` the string BLS published), ``series``, ``footnotes``
(both by survey) and ``population`` (the DataUSA rows). Gold: the report's three results, ``population_stats``,
``best_years`` and ``series_population``, and ``expectations`` (the last update's verdicts per survey).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.locations import SimpleLocationProvider
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DoubleType, IntegerType, LongType, NestedField, StringType


class GzipMetadataLocations(SimpleLocationProvider):
    """Pyiceberg's default locations, but each table version's metadata file gzipped (``*.gz.metadata.json``).

    A metadata file repeats the table's whole snapshot history (each summary carries its sources' lineage) and
    every survey's lineage property, so it grows with each commit: 71 kB for ``observations`` after 26 commits,
    of a 100 kB survey's update. Gzipped it is a small fraction of that. Readers pick the codec from the name:
    pyiceberg (and so polars), Java Iceberg (Athena, Glue), DuckDB's ``iceberg_scan``.
    """

    def new_table_metadata_file_location(self, new_version: int = 0) -> str:
        plain = super().new_table_metadata_file_location(new_version)
        return plain.removesuffix(".metadata.json") + ".gz.metadata.json"


LOCATIONS = {"write.py-location-provider.impl": f"{__name__}.{GzipMetadataLocations.__qualname__}"}
"""Every table's location provider, set at its creation and by each commit (tables made before it existed)."""


@dataclass(frozen=True)
class TableSpec:
    schema: Schema
    partition: PartitionSpec
    layer: str
    properties: dict[str, str] = field(default_factory=lambda: dict(LOCATIONS))


def _schema(*fields: tuple[str, object]) -> Schema:
    return Schema(
        *(NestedField(i, name, kind, required=False) for i, (name, kind) in enumerate(fields, start=1))  # type: ignore[arg-type]
    )


def _by_survey(schema: Schema) -> PartitionSpec:
    field_id = schema.find_field("survey").field_id
    return PartitionSpec(
        PartitionField(source_id=field_id, field_id=1000, transform=IdentityTransform(), name="survey")
    )


S, INT, L, D = StringType(), IntegerType(), LongType(), DoubleType()
_OBS = _schema(
    ("survey", S),
    ("series_id", S),
    ("year", INT),
    ("period", S),
    ("value", S),
    ("footnote_codes", S),
    ("source_file", S),
    ("source_version", S),
)
_SERIES = _schema(("survey", S), ("series_id", S), ("title", S), ("title_source", S), ("codes", S), ("unresolved", INT))
_NOTES = _schema(("survey", S), ("footnote_code", S), ("footnote_text", S))
_EXPECT = _schema(("survey", S), ("rule", S), ("status", S), ("message", S), ("checked_at", S))

TABLES: dict[str, TableSpec] = {
    # Rows are written sorted by series id: small row groups let a one-series query skip the others by statistics.
    "observations": TableSpec(
        _OBS, _by_survey(_OBS), "silver", {**LOCATIONS, "write.parquet.row-group-limit": "131072"}
    ),
    "series": TableSpec(_SERIES, _by_survey(_SERIES), "silver"),
    "footnotes": TableSpec(_NOTES, _by_survey(_NOTES), "silver"),
    "population": TableSpec(
        _schema(("year", INT), ("population", D), ("source_key", S), ("source_version", S)),
        UNPARTITIONED_PARTITION_SPEC,
        "silver",
    ),
    "population_stats": TableSpec(
        _schema(("start_year", INT), ("end_year", INT), ("years", L), ("mean", D), ("std", D)),
        UNPARTITIONED_PARTITION_SPEC,
        "gold",
    ),
    "best_years": TableSpec(
        _schema(("series_id", S), ("title", S), ("year", INT), ("value", D), ("basis", S), ("periods", S)),
        UNPARTITIONED_PARTITION_SPEC,
        "gold",
    ),
    "series_population": TableSpec(
        _schema(("series_id", S), ("title", S), ("year", INT), ("period", S), ("value", D), ("population", D)),
        UNPARTITIONED_PARTITION_SPEC,
        "gold",
    ),
    "expectations": TableSpec(_EXPECT, _by_survey(_EXPECT), "gold"),
}
SILVER = tuple(n for n, t in TABLES.items() if t.layer == "silver")
GOLD = tuple(n for n, t in TABLES.items() if t.layer == "gold")
