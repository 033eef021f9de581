"""The report: the analysis of the two inputs, as a JSON document, two CSVs, a Markdown page and an HTML page.

:func:`run_report` is what the report Lambda and ``dataquest report`` call: it HEADs both inputs in S3,
derives the report's folder from their versions (``reports/<bls-version>_<population-version>/``; the S3
VersionId where the bucket is versioned, else the ETag), and returns at once when that folder's
``report.json`` exists (duplicate SQS notifications cost one HEAD each). Otherwise it reads exactly the
versions it HEADed, and the series titles from the mapping files next to the data file (:mod:`dataquest.titles`;
ids only, and the pages say so, when they are not there), computes, logs the three results, and writes the
report files to the folder and to ``reports/latest/``.

:func:`build_report` is the pure core (frames in, document out); :func:`report_from_files` and
:func:`write_local` serve ``dataquest report --data-file F --population-file F [--out DIR]`` and ``dataquest run``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from dataquest import analysis, log, titles
from dataquest.config import BLS_DATA_KEY, LATEST_REPORT_PREFIX, POPULATION_KEY, REPORT_FILES, REPORTS_PREFIX
from dataquest.datafile import BlsSource
from dataquest.errors import InputMissingError, StorageError, ValidationError
from dataquest.population import MAX_POPULATION_BYTES, parse_population
from dataquest.report_html import render_html
from dataquest.titles import MISSING_NOTE as TITLES_MISSING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest import storage

logger = log.get(__name__)

_CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
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
class Report:
    """The report: population statistics, the two result frames, and the inputs they came from.

    The frames' columns are the document's row fields, in order; the renderers are generic over them, so a
    column added to a frame reaches every file. :meth:`to_json` writes the rows with polars' own JSON writer
    (no Python loop over rows); :meth:`to_document` is the same document as Python objects.
    """

    population_stats: dict[str, Any]
    best_years: pl.DataFrame
    series_population: pl.DataFrame
    inputs: dict[str, dict[str, str]]
    population: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Every population row read (``year``, ``population``): the page's population chart."""

    def to_json(self, *, pretty: bool = True) -> bytes:
        """The report document as JSON: one row per line when ``pretty``, else on one line."""
        head = json.dumps({"population_stats": self.population_stats}, indent=2 if pretty else None)
        tail = json.dumps({"inputs": self.inputs}, indent=2 if pretty else None)
        sep, indent = (",\n", "\n  ") if pretty else (", ", "")
        rows = [
            f'{indent}"{name}": {_json_rows(frame, pretty)}'
            for name, frame in (
                ("best_years", self.best_years),
                ("series_population", self.series_population),
                ("population", self.population),
            )
        ]
        body = sep.join([head[1:-1].rstrip(), *rows, tail[1:-1].rstrip()])
        return ("{" + body + ("\n}\n" if pretty else "}")).encode()

    @cached_property
    def document(self) -> dict[str, Any]:
        """The report document as Python objects (what ``report.json`` holds)."""
        return dict(json.loads(self.to_json(pretty=False)))

    def to_document(self) -> dict[str, Any]:
        return self.document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Report:
        """A report read back from its ``report.json`` (a skipped run's answer)."""
        return cls(
            population_stats=document["population_stats"],
            best_years=_frame(document["best_years"]),
            series_population=_frame(document["series_population"]),
            inputs=document["inputs"],
            population=_frame(document.get("population", [])),
        )


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _json_rows(frame: pl.DataFrame, pretty: bool) -> str:
    if frame.height == 0:
        return "[]"
    # JSON strings never hold a raw newline, so the newlines of NDJSON separate rows.
    lines = frame.write_ndjson().rstrip("\n")
    if pretty:
        return "[\n    " + lines.replace("\n", ",\n    ") + "\n  ]"
    return "[" + lines.replace("\n", ", ") + "]"


@dataclass(frozen=True)
class ReportResult:
    """What :func:`run_report` did: the report, the folder, the keys written, and whether it skipped."""

    report: Report
    prefix: str
    keys: tuple[str, ...] = field(default_factory=tuple)
    skipped: bool = False

    @property
    def document(self) -> dict[str, Any]:
        return self.report.document


# --- the pure core -------------------------------------------------------------------------------------------
def build_report(
    data: BlsSource | pl.LazyFrame,
    population: pl.DataFrame | pl.LazyFrame,
    options: ReportOptions,
    inputs: dict[str, dict[str, str]],
    *,
    source: str | None = None,
    series_titles: pl.DataFrame | None = None,
) -> Report:
    """The report from the BLS data (a file, bytes or a frame) and the population frame.

    With ``series_titles`` (:mod:`dataquest.titles`), ``best_years`` and ``series_population`` have a ``title``
    column after ``series_id`` (null for a series the mapping does not know); without, they have none.
    """
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
    joined = titles.with_titles(results.series_population, series_titles)
    read = population.lazy().select("year", "population").sort("year").collect()
    return Report(
        population_stats={k: stats[k] for k in ("start_year", "end_year", "years", "mean", "std")},
        best_years=titles.with_titles(results.best_years, series_titles),
        series_population=joined.with_columns(_whole_population(joined)),
        inputs=inputs,
        population=read.with_columns(_whole_population(read)),
    )


def _whole_population(frame: pl.DataFrame) -> pl.Expr:
    """``population`` as integers where every value is whole (the API's floats are counts of people)."""
    population = pl.col("population")
    whole = frame.select(((population.round() == population) | population.is_null()).all()).item()
    return population.cast(pl.Int64) if whole else population


def report_from_files(data_file: str | Path, population_file: str | Path, options: ReportOptions) -> Report:
    """The report from local files; ``inputs`` names each file and its SHA-256.

    The series titles come from the mapping files in the data file's folder when all five are there.
    """
    data_path, pop_path = Path(data_file), Path(population_file)
    for path, what in ((data_path, "--data-file"), (pop_path, "--population-file")):
        _check_local_file(path, what)
    if pop_path.stat().st_size > MAX_POPULATION_BYTES:
        raise ValidationError(
            f"--population-file {pop_path}: {pop_path.stat().st_size} bytes, over the {MAX_POPULATION_BYTES}-byte "
            "cap of a population payload; give the DataUSA population JSON"
        )
    try:
        pop_bytes = pop_path.read_bytes()
    except OSError as exc:
        raise StorageError(f"--population-file {pop_path}: cannot be read ({exc.strerror})", key=str(pop_path)) from exc
    population = analysis.population_frame(parse_population(pop_bytes, source=str(pop_path)))
    # The data file's SHA-256 on a thread while polars reads it (hashlib releases the GIL): the file is read
    # from the page cache twice, but the hash no longer adds its time to the report's.
    digest: list[str] = []
    hasher = threading.Thread(target=_hash_into, args=(data_path, digest), name="dq-sha256")
    hasher.start()
    try:
        series_titles = titles.load(lambda: titles.titles_from_folder(data_path.parent), str(data_path.parent))
        computed = build_report(data_path, population, options, {}, source=str(data_path), series_titles=series_titles)
    finally:
        hasher.join()
    if not digest:
        raise StorageError(f"--data-file {data_path}: could not be read to hash it", key=str(data_path))
    inputs = {
        "bls": {"key": str(data_path), "version": digest[0]},
        "population": {"key": str(pop_path), "version": hashlib.sha256(pop_bytes).hexdigest()},
    }
    return Report(
        computed.population_stats, computed.best_years, computed.series_population, inputs, computed.population
    )


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
        log.event(logger, "hashing the data file failed", level=30, path=str(path), error=str(exc))


def _file_sha256(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc


# --- the report files -------------------------------------------------------------------------------------
def render_files(report: Report) -> dict[str, bytes]:
    """The report's files, by name, in writing order (``report.json`` last)."""
    files = {
        "best_years.csv": report.best_years.write_csv().encode(),
        "series_population.csv": report.series_population.write_csv().encode(),
        "report.md": render_markdown(report).encode(),
        "report.html": render_html(report.document).encode(),
        "report.json": report.to_json(),
    }
    return {name: files[name] for name in REPORT_FILES}


def write_local(report: Report, out_dir: str | Path) -> list[Path]:
    """Write the report files to ``out_dir`` (created if needed); the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in render_files(report).items():
        path = out / name
        path.write_bytes(body)
        written.append(path)
    return written


def render_markdown(report: Report) -> str:
    """``report.md``: the three results as Markdown tables."""
    s = report.population_stats
    sp = report.series_population
    series = sp.get_column("series_id")[0] if sp.height else "the series"
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
        _markdown_table(report.best_years),
        "",
        f"## {series} with population",
        "",
        _markdown_table(sp),
        "",
        *([] if has_titles(report) else [TITLES_MISSING, ""]),
        "## Inputs",
        "",
        *(f"- {name}: `{i['key']}` version `{i['version']}`" for name, i in report.inputs.items()),
        "",
    ]
    return "\n".join(lines)


def _cells(frame: pl.DataFrame) -> list[pl.Expr]:
    """Each column as display text: numbers as polars writes them, a null as ``-``."""
    return [pl.col(c).cast(pl.String).fill_null("-") for c in frame.columns]


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if frame.schema[c].is_numeric() else "---" for c in frame.columns) + "|"
    if frame.height == 0:
        return f"{header}\n{rule}"
    rows = frame.select(pl.concat_str(_cells(frame), separator=" | ").alias("row")).get_column("row")
    return f"{header}\n{rule}\n" + "\n".join(("| " + rows + " |").to_list())


# Minimum widths of the terminal tables; a number is right-aligned in its width, the first column left-aligned,
# any other column follows two blanks. A column these do not name gets the width its values need.
_TEXT_WIDTHS = {"series_id": 14, "year": 6, "period": 8, "value": 14, "population": 14}


def _text_table(frame: pl.DataFrame) -> list[str]:
    cols: list[pl.Expr] = []
    heads: list[str] = []
    for i, (name, cell) in enumerate(zip(frame.columns, _cells(frame), strict=True)):
        longest = int(frame.select(cell.str.len_chars().max()).item() or 0) if frame.height else 0
        if frame.schema[name].is_numeric():
            width = max(_TEXT_WIDTHS.get(name, 0), len(name) + 2, longest + 2)
            cols.append(cell.str.pad_start(width))
            heads.append(name.rjust(width))
        elif i == 0:
            width = max(_TEXT_WIDTHS.get(name, 0), len(name) + 2, longest + 2)
            cols.append(cell.str.pad_end(width))
            heads.append(name.ljust(width))
        elif i < len(frame.columns) - 1:
            # A text column between others (a series title): padded, so that the columns after it line up.
            width = max(len(name), longest)
            cols.append(pl.lit("  ") + cell.str.pad_end(width))
            heads.append("  " + name.ljust(width))
        else:
            cols.append(pl.lit("  ") + cell)
            heads.append("  " + name)
    head = "  " + "".join(heads).rstrip()
    if frame.height == 0:
        return [head]
    rows = frame.select(pl.concat_str(cols).alias("row")).get_column("row")
    return [head, *("  " + rows).to_list()]


def render_text(report: Report) -> str:
    """The report as readable tables for a terminal."""
    s = report.population_stats
    lines = [
        *([] if has_titles(report) else [TITLES_MISSING, ""]),
        f"US population {s['start_year']}..{s['end_year']} ({s['years']} years): "
        f"mean {_fmt(s['mean'])}, standard deviation {_fmt(s['std'])} (sample)",
        "",
        f"Best year per series ({report.best_years.height} series):",
        *_text_table(report.best_years),
        "",
        "Series with population:",
        *_text_table(report.series_population),
    ]
    return "\n".join(lines)


def has_titles(report: Report) -> bool:
    """Whether the report's rows carry series titles (the mapping files were at hand)."""
    return "title" in report.best_years.columns or "title" in report.series_population.columns


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
    from dataquest import storage  # noqa: PLC0415 - boto3 only where S3 is used: the local report never loads it

    bls = _head_input(s3, bucket, BLS_DATA_KEY, "dataquest sync-bls")
    pop = _head_input(s3, bucket, POPULATION_KEY, "dataquest fetch-population")
    bls_version, pop_version = _version(bls), _version(pop)
    prefix = report_prefix(bls_version, pop_version, options)
    if upload and not force:
        existing = storage.get_bytes(s3, bucket, f"{prefix}report.json")
        if existing is not None:
            log.event(logger, "report exists", prefix=prefix, bls_version=bls_version, population_version=pop_version)
            stored = Report.from_document(json.loads(existing[0]))
            return ReportResult(report=stored, prefix=prefix, keys=(), skipped=True)

    inputs = {
        "bls": {"key": BLS_DATA_KEY, "version": bls_version},
        "population": {"key": POPULATION_KEY, "version": pop_version},
    }
    pop_bytes = _read_pinned(s3, bucket, pop)
    population = analysis.population_frame(parse_population(pop_bytes, source=f"s3://{bucket}/{POPULATION_KEY}"))
    with tempfile.NamedTemporaryFile(prefix="dataquest-bls-", suffix=".tsv") as tmp:
        _download_pinned(s3, bucket, bls, tmp)
        tmp.flush()
        computed = build_report(
            Path(tmp.name),
            population,
            options,
            inputs,
            source=f"s3://{bucket}/{BLS_DATA_KEY}",
            series_titles=_titles_from_s3(s3, bucket),
        )
    _log_results(computed)
    if not upload:
        return ReportResult(report=computed, prefix=prefix, keys=(), skipped=False)

    keys = _put_files(s3, bucket, prefix, computed)
    # reports/latest/ only when the inputs are still the ones computed on: a newer notification is on its way
    # otherwise, and an older report must not overwrite its result.
    if _still_current(s3, bucket, bls_version, pop_version):
        keys += _put_files(s3, bucket, LATEST_REPORT_PREFIX, computed)
    else:
        log.event(logger, "inputs changed while computing: reports/latest/ left to the newer report", prefix=prefix)
    log.event(logger, "report written", prefix=prefix, keys=len(keys))
    return ReportResult(report=computed, prefix=prefix, keys=tuple(keys), skipped=False)


def _titles_from_s3(s3: S3Client, bucket: str) -> pl.DataFrame | None:
    folder = BLS_DATA_KEY.rsplit("/", 1)[0] + "/"
    return titles.load(lambda: titles.titles_from_s3(s3, bucket, folder), f"s3://{bucket}/{folder}")


def _head_input(s3: S3Client, bucket: str, key: str, command: str) -> storage.ObjectInfo:
    from dataquest import storage  # noqa: PLC0415

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
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        resp = s3.get_object(Bucket=bucket, Key=info.key, **_pin(info))  # type: ignore[arg-type]
        for chunk in resp["Body"].iter_chunks(chunk_size=1 << 20):
            out.write(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise _read_error(bucket, info.key, exc) from exc


def _read_error(bucket: str, key: str, exc: BaseException) -> StorageError:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from dataquest import storage  # noqa: PLC0415

    if isinstance(exc, ClientError) and storage.error_code(exc) in ("PreconditionFailed", "412"):
        return StorageError(
            f"GET s3://{bucket}/{key}: the object changed while the report was reading it; "
            "the new version's notification brings its own report (retry to compute it now)",
            key=key,
        )
    return StorageError(f"GET s3://{bucket}/{key} failed: {storage.describe(exc)}", key=key)


def _still_current(s3: S3Client, bucket: str, bls_version: str, pop_version: str) -> bool:
    from dataquest import storage  # noqa: PLC0415

    bls, pop = storage.head(s3, bucket, BLS_DATA_KEY), storage.head(s3, bucket, POPULATION_KEY)
    return bls is not None and pop is not None and (_version(bls), _version(pop)) == (bls_version, pop_version)


def _put_files(s3: S3Client, bucket: str, prefix: str, report: Report) -> list[str]:
    from dataquest import storage  # noqa: PLC0415

    keys = []
    for name, body in render_files(report).items():
        key = f"{prefix}{name}"
        storage.put_bytes(s3, bucket, key, body, content_type=_CONTENT_TYPES[Path(name).suffix])
        keys.append(key)
    return keys


def _log_results(report: Report) -> None:
    document = report.document
    log.event(logger, "population stats", **document["population_stats"])
    log.event(logger, "best years", rows=len(document["best_years"]), best_years=document["best_years"])
    log.event(
        logger,
        "series population",
        rows=len(document["series_population"]),
        series_population=document["series_population"],
    )
