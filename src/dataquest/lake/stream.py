"""Silver's observations, streamed: each data file read in blocks, checked and written as one Parquet data file.

A data file is read block by block (:data:`BLOCK` bytes of TSV at a time, pyarrow's streaming CSV reader), each
block trimmed as :func:`dataquest.lake.parse.trimmed` says, the rows an earlier file already carries dropped
(the precedence of :func:`dataquest.lake.parse.observations`), the expectations counted, and the block appended
to the file's Parquet file (the table's Arrow schema, field ids included, so that Iceberg can register it as it
is). Memory stays a few blocks whatever the file's size; the whole file is never one table.

``unique-keys`` needs no set of every key where the file is in BLS order: every series' rows together, its
``(year, period)`` ascending. Then a repeated key is the row just before it, and one pass counts them; the
series at the start of each run are kept to prove that no series comes back later. A file not in that order is
counted exactly by a hash of every key over its Parquet file (more memory, still correct).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from polars.io.plugins import register_io_source

from dataquest.errors import ValidationError, first_line
from dataquest.lake import expectations, parse

BLOCK = 1 << 20
"""Bytes of TSV per block (about 25,000 rows of ``pr``): the unit of memory of a build. At 100x ``pr`` a 1 MB
block peaked at 255 MB against 285 MB for 4 MB blocks, for the same CPU time (14.1 s against 14.2 s)."""
PARSERS = 1
"""Blocks parsed ahead, each by a thread of its own (polars parses without the GIL). Two showed no gain beyond
the shared 2-core machine's noise (alternating build runs at load 2.7-3.4: 10.5, 7.4, 9.3 s with one against
10.2, 9.3, 7.2 s with two) and cost 5-9 MB of peak, where the build's margin on its memory target is thin."""
ROW_GROUP = 131_072
OUTPUT = parse.OBSERVATION_COLUMNS
KNOWN = "series-known"
KEY_TYPES = (pl.String, pl.Int32, pl.String)


@dataclass
class Tally:
    """The expectations over one data file's kept rows, counted block by block."""

    name: str
    rules: dict[str, pl.Expr]
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: int = 0
    repeats: int = 0
    disorder: int = 0
    starts: list[pl.Series] = field(default_factory=list)
    last: tuple[Any, ...] | None = None

    def add(self, block: pl.DataFrame) -> None:
        """Count ``block``'s rows, the rules' failures and its order against the row before: one pass."""
        self.rows += block.height
        checks = [expr.sum().alias(name) for name, expr in self.rules.items() if name != KNOWN]
        counted = block.select(*checks, *self._order()).row(0, named=True)
        self.repeats += counted.pop("__repeat")
        self.disorder += counted.pop("__below")
        # Copies, not slices: a slice of a block's strings would keep the whole block's buffers alive.
        self.starts.append(pl.Series("series_id", counted.pop("__starts"), pl.String))
        for name, count in counted.items():
            if count:
                self.counts[name] = self.counts.get(name, 0) + count
                if name not in self.examples:
                    self.examples[name] = block.filter(self.rules[name]).row(0, named=True)
        self.last = block.select(parse.KEYS).tail(1).rows()[0]

    def _order(self) -> list[pl.Expr]:
        """Rows equal to (``repeats``) or below (``disorder``) the row before them in the same series, and the
        series that start a run; the row before a block's first is the previous block's last (``last``)."""
        last = self.last or (None, None, None)
        prev = [
            pl.col(c).shift(1, fill_value=pl.lit(v, dtype))
            for c, v, dtype in zip(parse.KEYS, last, KEY_TYPES, strict=True)
        ]
        same = (pl.col("series_id") == prev[0]).fill_null(False)
        year_eq = (pl.col("year") == prev[1]).fill_null(False)
        below = (pl.col("year") < prev[1]) | (year_eq & (pl.col("period") < prev[2]))
        return [
            (same & year_eq & (pl.col("period") == prev[2])).fill_null(False).sum().alias("__repeat"),
            (same & below).fill_null(False).sum().alias("__below"),
            pl.col("series_id").filter(~same).implode().alias("__starts"),
        ]

    def failures(self, written: Path | None) -> tuple[list[str], list[str]]:
        """The rules' failure lines (one per rule, with a count and an example) and the ``unique-keys`` one."""
        self._unknown(written)
        rules = []
        for name in self.rules:
            if self.counts.get(name):
                example = self.examples[name]
                shown = " ".join(f"{k}={example[k]!r}" for k in ("series_id", "year", "period", "value"))
                rules.append(f"{self.name}: expectation {name} failed: {self.counts[name]} row(s), e.g. {shown}")
        repeats = self._repeats(written)
        unique = (
            [
                f"{self.name}: expectation unique-keys failed: {repeats} row(s) repeat a (series_id, year, period) "
                "of the same file"
            ]
            if repeats
            else []
        )
        return rules, unique

    def _starts(self) -> pl.Series:
        return pl.concat(self.starts) if self.starts else pl.Series("series_id", [], pl.String)

    def _unknown(self, written: Path | None) -> None:
        """``series-known`` once per file, not per block: every series of the file starts a run, so the run starts
        say whether any is unknown; only then are its rows counted, over the written file."""
        if written is None or KNOWN not in self.rules:
            return
        if not pl.DataFrame({"series_id": self._starts()}).select(self.rules[KNOWN].any()).item():
            return
        rows = pl.scan_parquet(written).filter(self.rules[KNOWN])
        self.counts[KNOWN] = int(rows.select(pl.len()).collect().item())
        self.examples[KNOWN] = rows.head(1).collect().row(0, named=True)

    def _repeats(self, written: Path | None) -> int:
        starts = self._starts()
        if not self.disorder and starts.n_unique() == starts.len():
            return self.repeats
        if written is None:
            return 0
        keyed = pl.scan_parquet(written).select(pl.struct(list(parse.KEYS)).hash(seed=0).alias("key"))
        return int(keyed.select(pl.len() - pl.col("key").n_unique()).collect(engine="streaming").item())


@dataclass
class Written:
    """What :func:`write_observations` wrote: one Parquet file per data file with rows, and the verdicts."""

    paths: list[Path]
    rows: int
    failures: list[str]


def write_observations(  # noqa: PLR0913 - the files, where, then what the expectations check against
    files: Sequence[parse.DataFile],
    survey: str,
    folder: Path,
    schema: pa.Schema,
    *,
    series_ids: pl.Series,
    periods: frozenset[str] | None = None,
) -> Written:
    """Stream ``files`` (precedence order) into ``folder/<n>.parquet`` with ``schema``; see the module's docstring."""
    if not files:
        raise ValidationError(f"{survey}: no data files ({survey}.data.*); nothing to build the survey from")
    if tuple(schema.names) != OUTPUT:
        raise ValidationError(f"observations: the table's columns {schema.names} are not the build's {list(OUTPUT)}")
    rules = expectations.rules(periods or expectations.BLS_PERIODS, datetime.now(UTC).year + 1, series_ids)
    rule_lines: list[str] = []
    unique_lines: list[str] = []
    paths: list[Path] = []
    rows = 0
    seen: list[pl.DataFrame] = []
    for index, file in enumerate(files):
        tally = Tally(file.name, rules)
        path = folder / f"{index}.parquet"
        earlier = pl.concat(seen) if seen else None
        keys = _write_file(file, survey, path, schema, tally=tally, earlier=earlier, keep_keys=index < len(files) - 1)
        if keys is not None:
            seen.append(keys)
        if tally.rows:
            paths.append(path)
        lines = tally.failures(path if tally.rows else None)
        rule_lines += lines[0]
        unique_lines += lines[1]
        rows += tally.rows
    return Written(paths=paths, rows=rows, failures=rule_lines + unique_lines)


def _write_file(  # noqa: PLR0913 - one file's stream: its source, target, tally and the earlier files' keys
    file: parse.DataFile,
    survey: str,
    path: Path,
    schema: pa.Schema,
    *,
    tally: Tally,
    earlier: pl.DataFrame | None,
    keep_keys: bool,
) -> pl.DataFrame | None:
    """Write ``file``'s kept rows to ``path`` (no file without rows); its keys when a later file needs them.

    The blocks are checked here and handed to polars' streaming Parquet sink (its own threads encode and compress
    while the next block is parsed); an error inside the stream is raised as it was, after the sink stops.
    """
    keys: list[pl.DataFrame] | None = [] if keep_keys else None
    errors: list[Exception] = []

    def kept(*_: object) -> Iterator[pl.DataFrame]:
        try:
            yield from _kept(file, survey, tally, earlier, keys)
        except Exception as exc:  # noqa: BLE001 - kept, and raised below once the sink has stopped
            errors.append(exc)

    source = register_io_source(kept, schema=pl.Schema(pl.DataFrame(schema.empty_table()).schema))
    try:
        source.sink_parquet(path, arrow_schema=schema, row_group_size=ROW_GROUP, compression="zstd", statistics=True)
    except pl.exceptions.PolarsError as exc:
        if not errors:
            raise ValidationError(f"{file.name}: cannot write its rows: {first_line(exc)}") from exc
    if errors:
        raise errors[0]
    if not tally.rows:
        path.unlink(missing_ok=True)
    return pl.concat(keys) if keys else None


def _kept(
    file: parse.DataFile, survey: str, tally: Tally, earlier: pl.DataFrame | None, keys: list[pl.DataFrame] | None
) -> Iterator[pl.DataFrame]:
    """``file``'s blocks less the keys of ``earlier`` files, each counted by ``tally`` (its keys into ``keys``)."""
    for read in _ahead(_blocks(file, survey)):
        block = read
        if earlier is not None and earlier.height:
            block = read.join(earlier, on=list(parse.KEYS), how="anti", nulls_equal=True, maintain_order="left")
        if block.height:
            tally.add(block)
            if keys is not None:
                keys.append(block.select(parse.KEYS))
            yield block.select(OUTPUT)


def _ahead(blocks: Iterator[Callable[[], pl.DataFrame]]) -> Iterator[pl.DataFrame]:
    """``blocks`` parsed :data:`PARSERS` at a time by other threads (polars parses without the GIL) while this
    one checks and writes the one before; in order, and at most ``PARSERS`` blocks ahead."""
    with ThreadPoolExecutor(PARSERS, thread_name_prefix="silver-read") as pool:
        pending: deque[Future[pl.DataFrame]] = deque()
        for block in blocks:
            pending.append(pool.submit(block))
            if len(pending) > PARSERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _blocks(file: parse.DataFile, survey: str) -> Iterator[Callable[[], pl.DataFrame]]:
    """``file``'s rows, about :data:`BLOCK` bytes at a time (whole lines), each to be parsed and trimmed
    (:func:`parse.trimmed`) by calling it."""
    parse.check_text(file.path, file.name)
    names = parse.header(file.path, file.name)
    columns = [n or f"__blank{i}" for i, n in enumerate(names)]
    wanted = [n for n in columns if n in parse.DATA_COLUMNS]
    with file.path.open("rb") as f:
        f.readline()
        rest = b""
        while chunk := f.read(BLOCK):
            end = chunk.rfind(b"\n") + 1
            lines, rest = (rest + chunk[:end], chunk[end:]) if end else (b"", rest + chunk)
            if lines:
                yield partial(_parse, lines, columns, wanted, survey, file)
        if rest.strip():
            yield partial(_parse, rest, columns, wanted, survey, file)


def _parse(lines: bytes, columns: list[str], wanted: list[str], survey: str, file: parse.DataFile) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            lines,
            has_header=False,
            new_columns=columns,
            separator="\t",
            quote_char=None,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
        return parse.trimmed(frame.lazy(), wanted, survey, file).collect()
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(f"{file.name}: cannot read its rows: {first_line(exc)}") from exc
