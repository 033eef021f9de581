"""The report: the analysis of the two inputs, as a JSON document, two CSVs and a Markdown page.

:func:`run_report` is what the report Lambda and ``dataquest report`` call: it HEADs both inputs in S3,
derives the report's folder from their versions (``reports/<bls-version>_<population-version>/``; the S3
VersionId where the bucket is versioned, else the ETag), and returns at once when that folder's
``report.json`` exists (duplicate SQS notifications cost one HEAD each). Otherwise it reads exactly the
versions it HEADed, computes, logs the three results, and writes the four files to the folder and to
``reports/latest/``.

:func:`build_report` is the pure core (frames in, document out); :func:`report_from_files` and
:func:`write_local` serve ``dataquest report --data-file F --population-file F [--out DIR]`` and ``dataquest run``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from botocore.exceptions import BotoCoreError, ClientError

from dataquest import analysis, log, storage
from dataquest.config import BLS_DATA_KEY, LATEST_REPORT_PREFIX, POPULATION_KEY, REPORT_FILES, REPORTS_PREFIX
from dataquest.errors import InputMissingError, StorageError
from dataquest.population import parse_population

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = log.get(__name__)

_CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class ReportOptions:
    """What the report computes; the defaults are the contract's."""

    periods: Literal["quarters", "all"] = "quarters"
    series_id: str = "PRS30006032"
    period: str = "Q01"
    start_year: int = 2013
    end_year: int = 2018


@dataclass(frozen=True)
class ReportResult:
    """What :func:`run_report` did: the document, the folder, the keys written, and whether it skipped."""

    document: dict[str, Any]
    prefix: str
    keys: tuple[str, ...] = field(default_factory=tuple)
    skipped: bool = False


# --- the pure core -------------------------------------------------------------------------------------------
def build_report(
    data: analysis.BlsSource | pl.LazyFrame,
    population: pl.DataFrame | pl.LazyFrame,
    options: ReportOptions,
    inputs: dict[str, dict[str, str]],
    *,
    source: str | None = None,
) -> dict[str, Any]:
    """The report document from the BLS data (a file, bytes or a frame) and the population frame."""
    results = analysis.compute(
        data,
        population,
        periods=options.periods,
        series_id=options.series_id,
        period=options.period,
        start_year=options.start_year,
        end_year=options.end_year,
        source=source,
    )
    stats = results.population_stats
    return {
        "population_stats": {
            "start_year": stats["start_year"],
            "end_year": stats["end_year"],
            "years": stats["years"],
            "mean": stats["mean"],
            "std": stats["std"],
        },
        "best_years": [
            {"series_id": s, "year": y, "value": _number(v), "basis": b}
            for s, y, v, b in results.best_years.select("series_id", "year", "value", "basis").iter_rows()
        ],
        "series_population": [
            {"series_id": s, "year": y, "period": p, "value": _number(v), "population": _population(pop)}
            for s, y, p, v, pop in results.series_population.select(
                "series_id", "year", "period", "value", "population"
            ).iter_rows()
        ],
        "inputs": inputs,
    }


def _number(value: Decimal | None) -> float | None:
    # float(Decimal) is correctly rounded: Decimal("20.500000000000") -> 20.5, never 20.500000000000004.
    return None if value is None else float(value)


def _population(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def report_from_files(data_file: str | Path, population_file: str | Path, options: ReportOptions) -> dict[str, Any]:
    """The report document from local files; ``inputs`` names each file and its SHA-256."""
    data_path, pop_path = Path(data_file), Path(population_file)
    for path, what in ((data_path, "--data-file"), (pop_path, "--population-file")):
        if not path.is_file():
            raise StorageError(f"{what} {path}: no such file", key=str(path))
    pop_bytes = pop_path.read_bytes()
    population = analysis.population_frame(parse_population(pop_bytes, source=str(pop_path)))
    inputs = {
        "bls": {"key": str(data_path), "version": _file_sha256(data_path)},
        "population": {"key": str(pop_path), "version": hashlib.sha256(pop_bytes).hexdigest()},
    }
    return build_report(data_path, population, options, inputs, source=str(data_path))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the four files ------------------------------------------------------------------------------------------
def render_files(document: dict[str, Any]) -> dict[str, bytes]:
    """The report's files, by name, in writing order (``report.json`` last)."""
    files = {
        "best_years.csv": _csv(["series_id", "year", "value", "basis"], document["best_years"]),
        "series_population.csv": _csv(
            ["series_id", "year", "period", "value", "population"], document["series_population"]
        ),
        "report.md": render_markdown(document).encode(),
        "report.json": (json.dumps(document, indent=2) + "\n").encode(),
    }
    return {name: files[name] for name in REPORT_FILES}


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row[c] is None else row[c] for c in columns})
    return out.getvalue().encode()


def write_local(document: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the four files to ``out_dir`` (created if needed); the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in render_files(document).items():
        path = out / name
        path.write_bytes(body)
        written.append(path)
    return written


def render_markdown(document: dict[str, Any]) -> str:
    """``report.md``: the three results as Markdown tables."""
    s = document["population_stats"]
    sp = document["series_population"]
    series = sp[0]["series_id"] if sp else "the series"
    lines = [
        "# dataquest report",
        "",
        f"## US population, {s['start_year']}..{s['end_year']}",
        "",
        "| years | mean | standard deviation (sample) |",
        "|---:|---:|---:|",
        f"| {s['years']} | {_fmt(s['mean'])} | {_fmt(s['std'])} |",
        "",
        "## Best year per series",
        "",
        "| series_id | year | value | basis |",
        "|---|---:|---:|---|",
        *(f"| {r['series_id']} | {r['year']} | {_fmt(r['value'])} | {r['basis']} |" for r in document["best_years"]),
        "",
        f"## {series} with population",
        "",
        "| series_id | year | period | value | population |",
        "|---|---:|---|---:|---:|",
        *(
            f"| {r['series_id']} | {r['year']} | {r['period']} | {_fmt(r['value'])} | {_fmt(r['population'])} |"
            for r in sp
        ),
        "",
        "## Inputs",
        "",
        *(f"- {name}: `{i['key']}` version `{i['version']}`" for name, i in document["inputs"].items()),
        "",
    ]
    return "\n".join(lines)


def render_text(document: dict[str, Any]) -> str:
    """The report as readable tables for a terminal."""
    s = document["population_stats"]
    lines = [
        f"US population {s['start_year']}..{s['end_year']} ({s['years']} years): "
        f"mean {_fmt(s['mean'])}, standard deviation {_fmt(s['std'])} (sample)",
        "",
        f"Best year per series ({len(document['best_years'])} series):",
        f"  {'series_id':<14}{'year':>6}{'value':>14}  basis",
        *(f"  {r['series_id']:<14}{r['year']:>6}{_fmt(r['value']):>14}  {r['basis']}" for r in document["best_years"]),
        "",
        "Series with population:",
        f"  {'series_id':<14}{'year':>6}{'period':>8}{'value':>10}{'population':>14}",
        *(
            f"  {r['series_id']:<14}{r['year']:>6}{r['period']:>8}{_fmt(r['value']):>10}{_fmt(r['population']):>14}"
            for r in document["series_population"]
        ),
    ]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{value:.1f}"
    return str(value)


# --- S3 ------------------------------------------------------------------------------------------------------
def report_prefix(bls_version: str, population_version: str, options: ReportOptions) -> str:
    """``reports/<bls-version>_<population-version>/``; other options than the defaults add a short digest."""
    name = f"{_safe(bls_version)}_{_safe(population_version)}"
    if options != ReportOptions():
        digest = hashlib.sha256(json.dumps(asdict(options), sort_keys=True).encode()).hexdigest()[:12]
        name += f"_{digest}"
    return f"{REPORTS_PREFIX}{name}/"


def _safe(version: str) -> str:
    return _UNSAFE.sub("-", version)


def run_report(
    s3: S3Client,
    bucket: str,
    options: ReportOptions = ReportOptions(),
    *,
    force: bool = False,
    upload: bool = True,
) -> ReportResult:
    """Compute the report for the inputs now in ``bucket`` unless it exists (see the module's docstring).

    ``force`` computes and writes even if the folder's ``report.json`` exists; ``upload=False`` computes and
    writes nothing (``dataquest report --no-upload``).
    """
    bls = _head_input(s3, bucket, BLS_DATA_KEY, "dataquest sync-bls")
    pop = _head_input(s3, bucket, POPULATION_KEY, "dataquest fetch-population")
    bls_version, pop_version = _version(bls), _version(pop)
    prefix = report_prefix(bls_version, pop_version, options)
    if upload and not force:
        existing = storage.get_bytes(s3, bucket, f"{prefix}report.json")
        if existing is not None:
            log.event(logger, "report exists", prefix=prefix, bls_version=bls_version, population_version=pop_version)
            return ReportResult(document=json.loads(existing[0]), prefix=prefix, keys=(), skipped=True)

    inputs = {
        "bls": {"key": BLS_DATA_KEY, "version": bls_version},
        "population": {"key": POPULATION_KEY, "version": pop_version},
    }
    pop_bytes = _read_pinned(s3, bucket, pop)
    population = analysis.population_frame(parse_population(pop_bytes, source=f"s3://{bucket}/{POPULATION_KEY}"))
    with tempfile.NamedTemporaryFile(prefix="dataquest-bls-", suffix=".tsv") as tmp:
        _download_pinned(s3, bucket, bls, tmp)
        tmp.flush()
        document = build_report(Path(tmp.name), population, options, inputs, source=f"s3://{bucket}/{BLS_DATA_KEY}")
    _log_results(document)
    if not upload:
        return ReportResult(document=document, prefix=prefix, keys=(), skipped=False)

    keys = _put_files(s3, bucket, prefix, document)
    # reports/latest/ only when the inputs are still the ones computed on: a newer notification is on its way
    # otherwise, and an older report must not overwrite its result.
    if _still_current(s3, bucket, bls_version, pop_version):
        keys += _put_files(s3, bucket, LATEST_REPORT_PREFIX, document)
    else:
        log.event(logger, "inputs changed while computing: reports/latest/ left to the newer report", prefix=prefix)
    log.event(logger, "report written", prefix=prefix, keys=len(keys))
    return ReportResult(document=document, prefix=prefix, keys=tuple(keys), skipped=False)


def _head_input(s3: S3Client, bucket: str, key: str, command: str) -> storage.ObjectInfo:
    info = storage.head(s3, bucket, key)
    if info is None:
        raise InputMissingError(
            f"s3://{bucket}/{key} does not exist: the report needs it; run `{command}` first", key=key
        )
    return info


def _version(info: storage.ObjectInfo) -> str:
    return info.version_id or info.etag


def _pin(info: storage.ObjectInfo) -> dict[str, str]:
    """GET arguments that read exactly the version HEADed (and fail if it has been replaced)."""
    return {"VersionId": info.version_id} if info.version_id else {"IfMatch": f'"{info.etag}"'}


def _read_pinned(s3: S3Client, bucket: str, info: storage.ObjectInfo) -> bytes:
    buffer = io.BytesIO()
    _download_pinned(s3, bucket, info, buffer)
    return buffer.getvalue()


def _download_pinned(s3: S3Client, bucket: str, info: storage.ObjectInfo, out: Any) -> None:
    # To a temporary file, streamed, so that polars scans it in bounded memory (Lambda's /tmp holds it).
    try:
        resp = s3.get_object(Bucket=bucket, Key=info.key, **_pin(info))  # type: ignore[arg-type]
        for chunk in resp["Body"].iter_chunks(chunk_size=1 << 20):
            out.write(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise _read_error(bucket, info.key, exc) from exc


def _read_error(bucket: str, key: str, exc: BaseException) -> StorageError:
    if isinstance(exc, ClientError) and storage.error_code(exc) in ("PreconditionFailed", "412"):
        return StorageError(
            f"GET s3://{bucket}/{key}: the object changed while the report was reading it; "
            "the new version's notification brings its own report (retry to compute it now)",
            key=key,
        )
    return StorageError(f"GET s3://{bucket}/{key} failed: {storage.describe(exc)}", key=key)


def _still_current(s3: S3Client, bucket: str, bls_version: str, pop_version: str) -> bool:
    bls, pop = storage.head(s3, bucket, BLS_DATA_KEY), storage.head(s3, bucket, POPULATION_KEY)
    return bls is not None and pop is not None and (_version(bls), _version(pop)) == (bls_version, pop_version)


def _put_files(s3: S3Client, bucket: str, prefix: str, document: dict[str, Any]) -> list[str]:
    keys = []
    for name, body in render_files(document).items():
        key = f"{prefix}{name}"
        storage.put_bytes(s3, bucket, key, body, content_type=_CONTENT_TYPES[Path(name).suffix])
        keys.append(key)
    return keys


def _log_results(document: dict[str, Any]) -> None:
    log.event(logger, "population stats", **document["population_stats"])
    log.event(logger, "best years", rows=len(document["best_years"]), best_years=document["best_years"])
    log.event(
        logger,
        "series population",
        rows=len(document["series_population"]),
        series_population=document["series_population"],
    )
