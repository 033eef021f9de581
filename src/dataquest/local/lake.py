"""The lake step of ``dataquest run``: silver and gold built from the run's bucket into the laptop's lake, and one
sample query answered from it.

In AWS the lake function keeps the bucket's tables in Glue current from ``bls/`` notifications. The embedded run's
emulator is gone when the run ends, so here the same updates (:func:`dataquest.lake.silver.update_survey` over the
mirror, the population, :func:`dataquest.lake.gold.refresh_gold`) write the local lake (``DQ_LAKE_DIR``, default
``./lake``), where ``dataquest query`` finds them afterwards. A survey that fails is that survey's error; the run's
other results stand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataquest import log, storage
from dataquest.config import POPULATION_KEY
from dataquest.documents import ItemError
from dataquest.errors import error_line

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)


@dataclass
class LakeRun:
    """What the lake step did: where the lake is, each survey's status, the sample query and its rows."""

    where: str
    surveys: dict[str, str] = field(default_factory=dict)
    query: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


def build_lake(s3: S3Client, bucket: str, surveys: list[str], lake_dir: Path | None = None) -> LakeRun:
    """Silver for each of ``surveys`` from ``s3://bucket/bls/``, the population and gold, then the sample query, in
    the lake at ``lake_dir`` (default: ``DQ_LAKE_DIR``, else ``./lake``). Without the population in the bucket,
    silver only."""
    try:
        from dataquest.lake import gold  # noqa: PLC0415 - pyiceberg only where the lake is built
        from dataquest.lake.catalog import local_lake, local_root  # noqa: PLC0415
        from dataquest.lake.query import SAMPLE_QUERY, run_query  # noqa: PLC0415
        from dataquest.lake.silver import update_survey  # noqa: PLC0415
        from dataquest.lake.sources import S3Survey  # noqa: PLC0415
    except ImportError as exc:  # the lake extra is not installed: the run's other results stand
        error = f"the lake needs the 'lake' extra ({exc.name} is missing): pip install 'dataquest[lake]'"
        return LakeRun(where=str(lake_dir or "lake"), errors=[ItemError(key="lake/", error=error)])
    lake = local_lake(lake_dir or local_root())
    run = LakeRun(where=str(lake.where), query=SAMPLE_QUERY)
    for survey in surveys:
        try:
            update = update_survey(lake, S3Survey(survey, s3, bucket))
        except Exception as exc:  # noqa: BLE001 - one survey's failure is its own; the others' tables stand
            run.errors.append(ItemError(key=f"lake/{survey}", error=error_line(exc)))
            continue
        run.surveys[survey] = update.status
        run.errors += [ItemError(key=f"lake/{survey}", error=f) for f in update.failures]
    try:
        found = storage.get_bytes(s3, bucket, POPULATION_KEY)
        if found is None:  # the ingest's own error says why; gold waits for the population, as the report does
            return run
        gold.update_population(lake, found[0], POPULATION_KEY, found[1].version_id or found[1].etag)
        result = gold.refresh_gold(lake)
        run.errors += [ItemError(key="lake/gold", error=f) for f in result.failures]
        run.rows = run_query(lake, SAMPLE_QUERY).rows
    except Exception as exc:  # noqa: BLE001 - gold or the query failed: said, and the run's report stands
        run.errors.append(ItemError(key="lake/gold", error=error_line(exc)))
    log.event(logger, "lake built", where=run.where, surveys=run.surveys, rows=len(run.rows))
    return run
