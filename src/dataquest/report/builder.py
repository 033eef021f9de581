"""The report: the analysis of the two inputs, as a typed document (:mod:`dataquest.report.document`).

:func:`run_report` is what the report Lambda and ``dataquest report`` call: it HEADs both inputs in S3,
derives the report's folder from their versions (``reports/<bls-version>_<population-version>/``; the S3
VersionId where the bucket is versioned, else the ETag), and returns at once when that folder's
``report.json`` exists (duplicate SQS notifications cost one HEAD each). Otherwise it reads exactly the
versions it HEADed, and the series titles from the mapping files next to the data file (:mod:`dataquest.report.titles`;
ids only, and the pages say so, when they are not there), computes, logs the three results, and writes the
report files (:mod:`dataquest.report.render`) to the folder and to ``reports/latest/`` (:mod:`dataquest.report.s3`).

:func:`build_report` is the pure core (frames in, document out); :func:`report_from_files` and
:func:`write_local` serve ``dataquest report --data-file F --population-file F [--out DIR]`` and ``dataquest run``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from dataquest import log
from dataquest.config import BLS_DATA_KEY, LATEST_REPORT_PREFIX, POPULATION_KEY
from dataquest.documents import to_document
from dataquest.errors import StorageError, ValidationError
from dataquest.population import MAX_POPULATION_BYTES, parse_population
from dataquest.report import analysis, titles
from dataquest.report.datafile import BlsSource
from dataquest.report.document import InputVersion, Report, ReportInputs, ReportResult
from dataquest.report.options import DEFAULTS, ReportOptions
from dataquest.report.render import render_files, render_markdown, render_text, write_local

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest import storage

__all__ = [
    "BLS_DATA_KEY",
    "Report",
    "ReportOptions",
    "ReportResult",
    "build_report",
    "render_files",
    "render_markdown",
    "render_text",
    "report_from_files",
    "run_report",
    "write_local",
]

logger = log.get(__name__)


# --- the pure core -------------------------------------------------------------------------------------------
def build_report(
    data: BlsSource | pl.LazyFrame,
    population: pl.DataFrame | pl.LazyFrame,
    options: ReportOptions,
    *,
    source: str | None = None,
    series_titles: pl.DataFrame | None = None,
) -> Report:
    """The report from the BLS data (a file, bytes or a frame) and the population frame.

    With ``series_titles`` (:mod:`dataquest.report.titles`), ``best_years`` and ``series_population`` have a ``title``
    column after ``series_id`` (null for a series the mapping does not know); without, they have none.
    """
    results = analysis.compute(data, population, options, source=source)
    joined = titles.with_titles(results.series_population, series_titles)
    read = population.lazy().select("year", "population").sort("year").collect()
    return Report(
        population_stats=results.population_stats,
        best_years=titles.with_titles(results.best_years, series_titles),
        series_population=joined.with_columns(_whole_population(joined)),
        population=read.with_columns(_whole_population(read)),
    )


def _whole_population(frame: pl.DataFrame) -> pl.Expr:
    """``population`` as integers where every value is whole (the API's floats are counts of people)."""
    population = pl.col("population")
    whole = frame.select(((population.round() == population) | population.is_null()).all()).item()
    return population.cast(pl.Int64) if whole else population


# --- local files ---------------------------------------------------------------------------------------------
def report_from_files(data_file: str | Path, population_file: str | Path, options: ReportOptions) -> Report:
    """The report from local files; ``inputs`` names each file and its SHA-256.

    The series titles come from the mapping files in the data file's folder when all five are there.
    """
    data_path, pop_path = Path(data_file), Path(population_file)
    pop_bytes = _read_population_file(data_path, pop_path)
    population = analysis.population_frame(parse_population(pop_bytes, source=str(pop_path)))
    # The data file's SHA-256 on a thread while polars reads it (hashlib releases the GIL): the file is read
    # from the page cache twice, but the hash no longer adds its time to the report's.
    digest: list[str] = []
    hasher = threading.Thread(target=_hash_into, args=(data_path, digest), name="dq-sha256")
    hasher.start()
    try:
        series_titles = titles.load(lambda: titles.titles_from_folder(data_path.parent), str(data_path.parent))
        computed = build_report(data_path, population, options, source=str(data_path), series_titles=series_titles)
    finally:
        hasher.join()
    if not digest:
        raise StorageError(f"--data-file {data_path}: could not be read to hash it", key=str(data_path))
    inputs = ReportInputs(
        bls=InputVersion(key=str(data_path), version=digest[0]),
        population=InputVersion(key=str(pop_path), version=hashlib.sha256(pop_bytes).hexdigest()),
    )
    return dataclasses.replace(computed, inputs=inputs)


def _read_population_file(data_path: Path, pop_path: Path) -> bytes:
    """Both files checked (regular files that exist), and the population file's bytes (capped)."""
    for path, what in ((data_path, "--data-file"), (pop_path, "--population-file")):
        _check_local_file(path, what)
    if pop_path.stat().st_size > MAX_POPULATION_BYTES:
        raise ValidationError(
            f"--population-file {pop_path}: {pop_path.stat().st_size} bytes, over the {MAX_POPULATION_BYTES}-byte "
            "cap of a population payload; give the DataUSA population JSON"
        )
    try:
        return pop_path.read_bytes()
    except OSError as exc:
        raise StorageError(f"--population-file {pop_path}: cannot be read ({exc.strerror})", key=str(pop_path)) from exc


def _check_local_file(path: Path, what: str) -> None:
    """A regular file that exists, or one line saying what it is instead."""
    if path.is_dir():
        raise StorageError(f"{what} {path} is a directory, not a file: give the path of the file itself", key=str(path))
    if not path.exists():
        raise StorageError(f"{what} {path}: no such file", key=str(path))
    if not path.is_file():
        raise StorageError(f"{what} {path} is not a regular file (a device, a pipe?): give a file", key=str(path))


def _hash_into(path: Path, out: list[str]) -> None:
    """The thread's body: a file that cannot be read leaves ``out`` empty (the caller says so), no traceback."""
    try:
        out.append(_file_sha256(path))
    except ValidationError as exc:
        log.event(logger, "hashing the data file failed", level=logging.WARNING, path=str(path), error=str(exc))


def _file_sha256(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc


# --- S3 ------------------------------------------------------------------------------------------------------
def run_report(
    s3: S3Client,
    bucket: str,
    options: ReportOptions = DEFAULTS,
    *,
    force: bool = False,
    upload: bool = True,
) -> ReportResult:
    """Compute the report for the inputs now in ``bucket`` unless it exists (see the module's docstring).

    ``force`` computes and writes even if the folder's ``report.json`` exists; ``upload=False`` computes and
    writes nothing (``dataquest report --no-upload``).
    """
    from dataquest.report import s3 as remote  # noqa: PLC0415 - boto3 only where S3 is used

    bls = remote.head_input(s3, bucket, BLS_DATA_KEY, "dataquest sync-bls")
    pop = remote.head_input(s3, bucket, POPULATION_KEY, "dataquest fetch-population")
    inputs = ReportInputs(
        bls=InputVersion(key=BLS_DATA_KEY, version=remote.version(bls)),
        population=InputVersion(key=POPULATION_KEY, version=remote.version(pop)),
    )
    prefix = remote.report_prefix(inputs.bls.version, inputs.population.version, options)
    stored = remote.stored_report(s3, bucket, prefix) if upload and not force else None
    if stored is not None:
        bls_version, population_version = inputs.bls.version, inputs.population.version
        log.event(
            logger, "report exists", prefix=prefix, bls_version=bls_version, population_version=population_version
        )
        return ReportResult(report=stored, prefix=prefix, keys=(), skipped=True)
    computed = dataclasses.replace(_compute_from_s3(s3, bucket, bls, pop, options), inputs=inputs)
    _log_results(computed)
    if not upload:
        return ReportResult(report=computed, prefix=prefix, keys=(), skipped=False)
    keys = _upload(s3, bucket, prefix, computed)
    return ReportResult(report=computed, prefix=prefix, keys=tuple(keys), skipped=False)


def _compute_from_s3(
    s3: S3Client, bucket: str, bls: storage.ObjectInfo, pop: storage.ObjectInfo, options: ReportOptions
) -> Report:
    """The report from exactly the input versions HEADed; the BLS file streamed to a temporary file first."""
    from dataquest.report import s3 as remote  # noqa: PLC0415

    pop_bytes = remote.read_pinned(s3, bucket, pop)
    population = analysis.population_frame(parse_population(pop_bytes, source=f"s3://{bucket}/{POPULATION_KEY}"))
    with tempfile.NamedTemporaryFile(prefix="dataquest-bls-", suffix=".tsv") as tmp:
        remote.download_pinned(s3, bucket, bls, tmp)
        tmp.flush()
        return build_report(
            Path(tmp.name),
            population,
            options,
            source=f"s3://{bucket}/{BLS_DATA_KEY}",
            series_titles=remote.report_titles(s3, bucket),
        )


def _upload(s3: S3Client, bucket: str, prefix: str, computed: Report) -> list[str]:
    """The files to ``prefix``, then to ``reports/latest/`` when the inputs are still the ones computed on."""
    from dataquest.report import s3 as remote  # noqa: PLC0415

    keys = remote.put_files(s3, bucket, prefix, computed)
    # reports/latest/ only when the inputs are still the ones computed on: a newer notification is on its way
    # otherwise, and an older report must not overwrite its result.
    if remote.still_current(s3, bucket, computed.inputs.bls.version, computed.inputs.population.version):
        keys += remote.put_files(s3, bucket, LATEST_REPORT_PREFIX, computed)
    else:
        log.event(logger, "inputs changed while computing: reports/latest/ left to the newer report", prefix=prefix)
    log.event(logger, "report written", prefix=prefix, keys=len(keys))
    return keys


def _log_results(report: Report) -> None:
    best, joined = report.best_years.to_dicts(), report.series_population.to_dicts()
    log.event(logger, "population stats", **to_document(report.population_stats))
    log.event(logger, "best years", rows=len(best), best_years=best)
    log.event(logger, "series population", rows=len(joined), series_population=joined)
