"""``dataquest query``, ``build-lake`` and ``revisions``: the lake from the command line.

The tables are the bucket's (Glue + ``s3://<bucket>/lake/``) when ``--bucket``/``DQ_BUCKET`` is set and no
``--lake`` folder is given, else the local lake folder (``--lake``, ``DQ_LAKE_DIR``, default ``./lake``).
pyiceberg and polars are imported inside the commands only.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataquest.cli.common import CommandResult
from dataquest.config import Settings
from dataquest.errors import ConfigurationError

if TYPE_CHECKING:
    from dataquest.lake.catalog import Lake


def _time(flag: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{flag} {raw!r} is not an ISO 8601 time; give e.g. 2026-12-06T09:30:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lake(args: argparse.Namespace, settings: Settings) -> Lake:
    from dataquest.lake.catalog import bucket_lake, local_lake

    if args.lake is None and settings.bucket:
        return bucket_lake(settings.bucket, settings)
    return local_lake(args.lake or settings.lake_dir)


def cmd_query(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.lake.query import run_query, scan_limit

    as_of = _time("--as-of", args.as_of)
    answer = run_query(_lake(args, settings), args.sql, as_of=as_of, limit=scan_limit(settings))
    if args.csv and not args.json:
        return CommandResult(document=answer.document(), text=answer.frame.write_csv().rstrip("\n"))
    import polars as pl

    with pl.Config(tbl_rows=50, tbl_cols=-1, fmt_str_lengths=80, tbl_hide_dataframe_shape=True):
        return CommandResult(document=answer.document(), text=str(answer.frame))


def cmd_build_lake(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.lake import gold
    from dataquest.lake.silver import update_survey
    from dataquest.lake.sources import FolderSurvey

    if not args.data_dir.is_dir():
        raise ConfigurationError(f"--data-dir {args.data_dir}: not a folder; give the folder of a survey's files")
    lake = _lake(args, settings)
    surveys = args.surveys or [_survey_of(args.data_dir)]
    updates = [update_survey(lake, FolderSurvey(s, args.data_dir)) for s in surveys]
    gold_doc: dict[str, Any] = {"status": "skipped"}
    if args.population_file:
        try:
            body = args.population_file.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"--population-file {args.population_file}: cannot read it: {exc}") from exc
        gold.update_population(lake, body, str(args.population_file), None)
        gold_doc = gold.refresh_gold(lake).__dict__
    document = {"lake": lake.where, "surveys": [u.__dict__ | {"ok": u.ok} for u in updates], "gold": gold_doc}
    failed = [f for u in updates for f in u.failures]
    lines = [f"{u.survey}: {u.status}, {u.rows} rows, {u.series} series" for u in updates]
    return CommandResult(
        document=document,
        text="\n".join([*lines, f"lake: {lake.where}"]),
        ok=not failed,
        error="; ".join(failed[:3]) or None,
    )


def cmd_revisions(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.lake.query import revisions

    since = _time("--since", args.since) or datetime.fromtimestamp(0, UTC)
    until = _time("--until", args.until) or datetime.now(UTC)
    found = revisions(_lake(args, settings), args.series_id, since, until)
    lines = [f"{r['committed_at']} {r['year']} {r['period']}: {r['before']} -> {r['after']}" for r in found]
    return CommandResult(
        document={"series_id": args.series_id, "revisions": found}, text="\n".join(lines) or "no revisions"
    )


def _survey_of(folder: Path) -> str:
    names = {p.name.split(".", 1)[0] for p in folder.glob("*.data.*")}
    if len(names) != 1:
        raise ConfigurationError(
            f"--data-dir {folder}: cannot tell the survey from its files ({sorted(names)}); give --survey"
        )
    return names.pop()


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    lake = argparse.ArgumentParser(add_help=False)
    lake.add_argument(
        "--lake",
        default=None,
        help="local lake folder (default: the bucket's tables when DQ_BUCKET is set, else $DQ_LAKE_DIR or ./lake)",
    )
    q = sub.add_parser("query", parents=[common, lake], help="SQL over the lake's silver and gold tables")
    q.add_argument("sql", help="e.g. \"SELECT * FROM best_years WHERE periods = 'quarters' LIMIT 5\"")
    q.add_argument("--csv", action="store_true", help="print CSV (with --json: the JSON document)")
    q.add_argument(
        "--as-of", default=None, metavar="TIME", help="answer from the tables as they stood at TIME (ISO 8601)"
    )
    q.set_defaults(func=cmd_query)
    b = sub.add_parser("build-lake", parents=[common, lake], help="build silver (and gold) from a local survey folder")
    b.add_argument("--data-dir", type=Path, required=True, help="the folder of a survey's files, as BLS serves them")
    b.add_argument("--survey", action="append", dest="surveys", default=None, help="survey (default: from the files)")
    b.add_argument("--population-file", type=Path, default=None, help="a DataUSA response: also builds gold")
    b.set_defaults(func=cmd_build_lake)
    r = sub.add_parser(
        "revisions", parents=[common, lake], help="the values of a series that changed between two times"
    )
    r.add_argument("series_id")
    r.add_argument("--since", default=None, metavar="TIME", help="ISO 8601 (default: the beginning)")
    r.add_argument("--until", default=None, metavar="TIME", help="ISO 8601 (default: now)")
    r.set_defaults(func=cmd_revisions)
