"""The commands that move data: ``sync-bls``, ``fetch-population``, ``ingest`` (both, as the Lambda runs them)
and ``verify``. Each builds one :class:`~dataquest.app.App` and lets it close what it opened (the App is
imported in the command: boto3 and httpx load only for a command that uses them)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dataquest.cli.common import CommandResult, add_contact, add_population_url
from dataquest.config import (
    DEFAULT_MAX_SURVEYS,
    DEFAULT_REQUEST_INTERVAL,
    DEFAULT_TRANSFER_STREAMS,
    MAX_MAX_SURVEYS,
    MAX_REQUEST_INTERVAL,
    MAX_TRANSFER_STREAMS,
    Settings,
    parse_count,
    parse_seconds,
)
from dataquest.documents import first_error, to_document
from dataquest.errors import ConfigurationError

if TYPE_CHECKING:
    from dataquest.bls.summary import SyncSummary
    from dataquest.bls.verify import VerifySummary


def cmd_sync_bls(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.app import App
    from dataquest.bls.sync import sync_surveys

    settings = settings.with_overrides(max_surveys=args.max_surveys)
    settings.require_bucket()
    with App(settings) as app:
        summary = sync_surveys(
            settings,
            app.bls_fetcher,  # no contact: a clear error before any request
            app.s3,
            dry_run=args.dry_run,
            max_delete=args.max_delete,
            progress=sys.stderr.isatty(),
        )
    error = first_error(summary.errors) if summary.errors else None
    return CommandResult(document=to_document(summary), text=_sync_text(summary), ok=summary.ok, error=error)


def _sync_text(summary: SyncSummary) -> str:
    if summary.dry_run:
        counts = (
            f"would upload {summary.uploaded}, skip {summary.skipped}, delete {summary.deleted}, "
            f"would download {summary.bytes_downloaded} bytes (nothing changed, {summary.duration_ms} ms)"
        )
    else:
        counts = (
            f"uploaded {summary.uploaded}, skipped {summary.skipped}, deleted {summary.deleted}, "
            f"{summary.bytes_downloaded} bytes downloaded in {summary.duration_ms} ms"
        )
    lines = [f"{','.join(summary.surveys)}: {summary.files_seen} files seen, {counts}"]
    if summary.dry_run:
        lines[:0] = [f"{a.action:6} {a.key}  ({a.reason})" for a in summary.plan]
    return "\n".join(lines)


def cmd_fetch_population(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.app import App
    from dataquest.population import fetch_population

    bucket = settings.require_bucket()
    with App(settings) as app:
        result = fetch_population(app.fetcher, app.s3, bucket, settings.population_url)
    state = "stored" if result.written else "unchanged, nothing written"
    text = f"population: s3://{bucket}/{result.key} {state} ({result.rows} rows, sha256 {result.sha256})"
    return CommandResult(document=to_document(result), text=text)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.app import App
    from dataquest.ingest import IngestFailedError, run_ingest
    from dataquest.population import PopulationResult

    settings.require_bucket()
    error = None
    with App(settings, metrics_stream=sys.stderr) as app:  # stdout is the document's
        try:
            summary = run_ingest(app)
        except IngestFailedError as exc:
            summary, error = exc.summary, str(exc)
    pop = summary.population
    state = ("written" if pop.written else "unchanged") if isinstance(pop, PopulationResult) else "failed"
    text = (
        f"{','.join(summary.surveys)}: {summary.files_seen} files seen, uploaded {summary.uploaded}, "
        f"skipped {summary.skipped}, deleted {summary.deleted}, {summary.bytes_downloaded} bytes downloaded "
        f"in {summary.duration_ms} ms; population {state}"
    )
    return CommandResult(document=to_document(summary), text=text, ok=summary.ok, error=error)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.app import App
    from dataquest.bls.verify import verify

    settings.require_bucket()
    with App(settings) as app:
        fetcher = app.bls_fetcher if args.repair else None  # repair reaches BLS
        summary = verify(settings, app.s3, repair=args.repair, fetcher=fetcher)
    error = None
    if not summary.ok:
        wrong = len(summary.mismatched) + len(summary.unrecorded)
        error = (
            first_error(summary.errors)
            if summary.errors
            else f"{wrong} object(s) do not match what was recorded; run `dataquest verify --repair` to fetch them"
        )
    return CommandResult(document=to_document(summary), text=_verify_text(summary), ok=summary.ok, error=error)


def _verify_text(summary: VerifySummary) -> str:
    lines = [
        f"{','.join(summary.surveys) or 'no survey'}: {summary.checked} objects checked, "
        f"{len(summary.mismatched)} mismatched, {len(summary.unrecorded)} without a recorded sha256, "
        f"{len(summary.repaired)} repaired, {len(summary.errors)} error(s)"
    ]
    lines += [f"mismatch   {d.key}  (recorded {d.recorded}, read {d.actual})" for d in summary.mismatched]
    lines += [f"unrecorded {d.key}" for d in summary.unrecorded]
    lines += [f"repaired   {key}" for key in summary.repaired]
    return "\n".join(lines)


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    bls_source: argparse.ArgumentParser,
) -> None:
    p = sub.add_parser(
        "sync-bls", parents=[common, bls_source], help="mirror BLS survey folders into S3 and keep them in sync"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan (upload/skip/delete and why), change nothing")
    p.add_argument(
        "--max-delete",
        type=int,
        default=None,
        metavar="N",
        help="delete at most N objects per survey this run (default: no cap beyond the empty-listing guard)",
    )
    p.add_argument(
        "--streams",
        type=_streams,
        default=None,
        metavar="N",
        help=f"file transfers streaming at once (default: $DQ_TRANSFER_STREAMS or {DEFAULT_TRANSFER_STREAMS})",
    )
    p.add_argument(
        "--request-interval",
        type=_interval,
        default=None,
        metavar="SECONDS",
        help="seconds between two request starts to BLS, every stream together "
        f"(default: $DQ_REQUEST_INTERVAL or {DEFAULT_REQUEST_INTERVAL})",
    )
    p.add_argument(
        "--max-surveys",
        type=_max_surveys,
        default=None,
        metavar="N",
        help=f"with --survey all, refuse a root listing more survey folders than N "
        f"(default: $DQ_MAX_SURVEYS or {DEFAULT_MAX_SURVEYS})",
    )
    p.set_defaults(func=cmd_sync_bls)

    p = sub.add_parser("fetch-population", parents=[common], help="store the DataUSA US population JSON in S3")
    add_contact(p)
    add_population_url(p)
    p.set_defaults(func=cmd_fetch_population)

    p = sub.add_parser(
        "ingest", parents=[common, bls_source], help="what the ingest Lambda runs: sync every survey, then population"
    )
    add_population_url(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "verify", parents=[common, bls_source], help="re-hash the mirror against each object's recorded SHA-256"
    )
    p.add_argument("--repair", action="store_true", help="fetch mismatched and unrecorded objects again from BLS")
    p.set_defaults(func=cmd_verify)


def _streams(raw: str) -> int:
    try:
        return parse_count(raw, DEFAULT_TRANSFER_STREAMS, MAX_TRANSFER_STREAMS, "--streams")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _max_surveys(raw: str) -> int:
    try:
        return parse_count(raw, DEFAULT_MAX_SURVEYS, MAX_MAX_SURVEYS, "--max-surveys")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _interval(raw: str) -> float:
    try:
        return parse_seconds(raw, DEFAULT_REQUEST_INTERVAL, "--request-interval", maximum=MAX_REQUEST_INTERVAL)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
