"""Updating one survey's part of the silver tables from its files, checked, in one commit per table.

:func:`update_survey` lists the survey's files and compares them (ETag, or SHA-256 for a folder) with the
lineage the ``observations`` table recorded at the last update (the table property ``dataquest.lineage.<s>``):

- the same files: nothing is read and nothing committed (``unchanged``);
- no files at all where there were: the survey's rows are taken out (``removed``);
- otherwise every file is read, the survey's series, footnotes and observations are rebuilt and the
  expectations checked; a failure (bad file, unknown layout, a rule) leaves the survey's previous state current
  (``failed``, with one line per reason); else ``series`` and ``footnotes``, then ``observations`` with the new
  lineage are replaced for that survey alone (``updated``). A deleted data file's rows go with the rebuild.

``observations`` is committed last and carries the lineage, so a run cut short between two commits is redone
in full by the next one.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from pyiceberg.io.pyarrow import schema_to_pyarrow

from dataquest import log
from dataquest.errors import DataQuestError
from dataquest.lake import expectations, parse, stream
from dataquest.lake.catalog import Lake
from dataquest.lake.commit import replace_part, replace_with_files
from dataquest.lake.series import build_series, footnotes
from dataquest.lake.sources import Files, SourceFile, Survey, classify

logger = log.get(__name__)

LINEAGE = "dataquest.lineage."
Lineage = dict[str, dict[str, str | None]]


@dataclass
class SurveyUpdate:
    """What an update did to one survey (the ``build-lake`` / lake handler document's ``surveys`` rows)."""

    survey: str
    status: str
    rows: int = 0
    series: int = 0
    unresolved: int = 0
    failures: list[str] = field(default_factory=list)
    sources: dict[str, dict[str, str | None]] = field(default_factory=dict)
    snapshot_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def recorded_lineage(lake: Lake, survey: str) -> dict[str, dict[str, str | None]]:
    raw = lake.table("observations").properties.get(f"{LINEAGE}{survey}")
    return json.loads(raw) if raw else {}


def update_survey(lake: Lake, source: Survey) -> SurveyUpdate:
    """Bring ``source.name``'s part of silver up to date with its files; see the module's docstring."""
    try:
        update = _update(lake, source)
    except DataQuestError as exc:
        update = SurveyUpdate(survey=source.name, status="failed", failures=[str(exc)])
    if not update.ok:
        _record_expectations(lake, update)
    log.event(
        logger,
        "survey update",
        survey=update.survey,
        status=update.status,
        rows=update.rows,
        failures=update.failures[:5],
    )
    return update


def _update(lake: Lake, source: Survey) -> SurveyUpdate:
    survey = source.name
    listed = source.list()
    previous = recorded_lineage(lake, survey)
    if not listed:
        if not previous:
            return SurveyUpdate(survey, "failed", failures=[f"{survey}: no files of this survey; nothing to build"])
        return _remove(lake, survey)
    files = classify(survey, list(listed))
    if not files.data:
        return SurveyUpdate(survey, "failed", failures=[f"{survey}: no data files ({survey}.data.*) among its files"])
    if not files.series:
        return SurveyUpdate(survey, "failed", failures=[f"{survey}: no series file ({survey}.series)"])
    wanted = [*files.data, files.series, *files.mappings, *(n for n in (files.footnote, files.period) if n)]
    if {n: listed[n].identity for n in wanted} == {n: (previous.get(n) or {}).get("identity") for n in previous}:
        return SurveyUpdate(survey, "unchanged", sources=previous)
    with ExitStack() as stack:
        fetched: dict[str, tuple[Path, SourceFile]] = {n: stack.enter_context(source.fetch(listed[n])) for n in wanted}
        return _rebuild(lake, survey, previous, fetched, files)


def _rebuild(
    lake: Lake, survey: str, previous: Lineage, fetched: dict[str, tuple[Path, SourceFile]], files: Files
) -> SurveyUpdate:
    data = files.data
    tables = {n: parse.read_table(p, n) for n, (p, _) in fetched.items() if n not in data}
    series = build_series(survey, tables[files.series or ""], tables, files.series or "")
    notes = footnotes(survey, tables.get(files.footnote or ""), files.footnote or "")
    periods = expectations.known_periods(tables.get(files.period or ""))
    sources = {n: f.lineage() for n, (_, f) in fetched.items()}
    update = SurveyUpdate(
        survey,
        "updated",
        series=series.height,
        unresolved=int(series.get_column("unresolved").sum()),
        sources=sources,
    )
    with tempfile.TemporaryDirectory(prefix="dataquest-silver-") as tmp:
        written = stream.write_observations(
            [parse.DataFile(fetched[n][0], n, fetched[n][1].version) for n in data],
            survey,
            Path(tmp),
            schema_to_pyarrow(lake.table("observations").schema()),
            series_ids=series.get_column("series_id"),
            periods=periods,
        )
        update.rows = written.rows
        if written.failures:
            update.status, update.failures = "failed", written.failures
            return update
        summary = {"dataquest.survey": survey, "dataquest.sources": json.dumps(sources, sort_keys=True)}
        before = classify(survey, list(previous))
        if _changed(previous, fetched, (before.series, *before.mappings), (files.series, *files.mappings)):
            replace_part(lake, "series", survey, series, summary=summary)
        if _changed(previous, fetched, (before.footnote,), (files.footnote,)):
            replace_part(lake, "footnotes", survey, notes, summary=summary)
        update.snapshot_id = replace_with_files(
            lake,
            "observations",
            survey,
            written.paths,
            summary=summary,
            table_properties={f"{LINEAGE}{survey}": json.dumps(sources, sort_keys=True)},
        )
    _record_expectations(lake, update)
    return update


def _changed(
    previous: Lineage,
    fetched: dict[str, tuple[Path, SourceFile]],
    before: tuple[str | None, ...],
    now: tuple[str | None, ...],
) -> bool:
    """Whether a table's input files (``now``) differ from those of the last update (``before``, in ``previous``).

    Unchanged inputs give the rows that table already holds, so its commit is skipped: a changed data file then
    rewrites only the observations. A run cut short before observations' commit left ``previous`` as it was, so
    a table committed from changed inputs is committed again by the next run.
    """
    old = {n: (previous.get(n) or {}).get("identity") for n in before if n}
    return not previous or old != {n: fetched[n][1].identity for n in now if n}


def _remove(lake: Lake, survey: str) -> SurveyUpdate:
    summary = {"dataquest.survey": survey, "dataquest.sources": "{}"}
    for name in ("series", "footnotes"):
        replace_part(lake, name, survey, pl.DataFrame(), summary=summary)
    snapshot = replace_part(
        lake, "observations", survey, pl.DataFrame(), summary=summary, table_properties={f"{LINEAGE}{survey}": "{}"}
    )
    return SurveyUpdate(survey, "removed", snapshot_id=snapshot)


def _record_expectations(lake: Lake, update: SurveyUpdate) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    messages = update.failures or [f"{update.survey}: every expectation held ({update.rows} rows)"]
    frame = pl.DataFrame(
        {
            "survey": [update.survey] * len(messages),
            "rule": [_rule(m) for m in messages],
            "status": ["failed" if update.failures else "passed"] * len(messages),
            "message": messages,
            "checked_at": [now] * len(messages),
        }
    )
    replace_part(lake, "expectations", update.survey, frame, summary={"dataquest.survey": update.survey})


def _rule(message: str) -> str:
    marker = "expectation "
    return message.split(marker, 1)[1].split(" ", 1)[0] if marker in message else "readable"
