"""The ``dataquest`` command line: parse, build settings and clients, call one core function, print.

Every command prints exactly one JSON document on stdout with ``--json`` (logs go to stderr), exits 0 on
success, and on failure exits non-zero with a one-line error on stderr (and, with ``--json``, a document
carrying an ``error`` field). Imports of the heavier modules happen inside the commands, so that
``dataquest --help`` and the ingest path never import polars.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dataquest import __version__, log
from dataquest.config import LATEST_REPORT_PREFIX, Settings
from dataquest.documents import first_error, to_document
from dataquest.errors import ConfigurationError, DataQuestError, Interrupted
from dataquest.report_options import DEFAULTS as REPORT_DEFAULTS
from dataquest.report_options import PERIODS

logger = log.get(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}

# The optional dependencies a command may lack, and the extra that installs each.
EXTRAS = {"polars": "report", "moto": "embedded", "awslambdaric": "lambda"}


@dataclass
class Outcome:
    """What a command hands back: the JSON document, the text for a terminal, and whether it succeeded."""

    document: dict[str, Any]
    text: str = ""
    ok: bool = True
    error: str | None = field(default=None)
    json_text: str | None = None
    """The document already serialised on one line (a large report, written by polars), printed as it is."""


Command = Callable[[argparse.Namespace, Settings], Outcome]


def _cmd_sync_bls(args: argparse.Namespace, settings: Settings) -> Outcome:
    from dataquest import httpclient, storage
    from dataquest.bls.sync import sync_surveys

    settings.require_bucket()
    user_agent = settings.user_agent()  # no contact: a clear error before any request
    with httpclient.build_client(user_agent) as client:
        fetcher = httpclient.Fetcher(client, min_interval=settings.request_interval)
        summary = sync_surveys(
            settings,
            fetcher,
            storage.s3_client(settings),
            dry_run=args.dry_run,
            max_delete=args.max_delete,
            progress=sys.stderr.isatty(),
        )
    doc = to_document(summary)
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
    error = first_error(summary.errors) if summary.errors else None
    return Outcome(document=doc, text="\n".join(lines), ok=summary.ok, error=error)


def _cmd_fetch_population(args: argparse.Namespace, settings: Settings) -> Outcome:
    from dataquest import __version__ as version
    from dataquest import httpclient, storage
    from dataquest.population import fetch_population

    bucket = settings.require_bucket()
    # DataUSA does not ask for a contact; it is sent when there is one.
    user_agent = settings.user_agent() if settings.contact else f"dataquest/{version}"
    with httpclient.build_client(user_agent) as client:
        fetcher = httpclient.Fetcher(client, min_interval=settings.request_interval)
        result = fetch_population(fetcher, storage.s3_client(settings), bucket, settings.population_url)
    state = "stored" if result.written else "unchanged, nothing written"
    text = f"population: s3://{bucket}/{result.key} {state} ({result.rows} rows, sha256 {result.sha256})"
    return Outcome(document=result.to_document(), text=text)


def _check_year(flag: str, year: int) -> None:
    from dataquest.population import MAX_YEAR, MIN_YEAR

    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ConfigurationError(f"{flag} {year} is not a plausible year: give one in {MIN_YEAR}..{MAX_YEAR}")


def _cmd_report(args: argparse.Namespace, settings: Settings) -> Outcome:
    from dataquest import report
    from dataquest.report_options import ReportOptions

    options = ReportOptions(
        periods=args.periods,
        series_id=args.series_id,
        period=args.period,
        start_year=args.start_year,
        end_year=args.end_year,
    )
    _check_year("--start-year", args.start_year)
    _check_year("--end-year", args.end_year)
    if args.start_year > args.end_year:
        raise ConfigurationError(f"--start-year {args.start_year} is after --end-year {args.end_year}")
    notes: list[str] = []
    if args.data_file or args.population_file:
        if not (args.data_file and args.population_file):
            raise ConfigurationError("give both --data-file and --population-file (or neither, to read from S3)")
        computed = report.report_from_files(args.data_file, args.population_file, options)
    else:
        from dataquest import storage  # boto3 only for S3: the local report never imports it

        bucket = settings.require_bucket()
        result = report.run_report(
            storage.s3_client(settings), bucket, options, force=args.force, upload=not args.no_upload
        )
        computed = result.report
        if result.skipped:
            notes.append(f"report for these inputs already at s3://{bucket}/{result.prefix} (use --force to redo)")
        elif result.keys:
            notes.append(f"written to s3://{bucket}/{result.prefix} and s3://{bucket}/{LATEST_REPORT_PREFIX}")
    if not computed.series_population.height:
        _warn(
            args,
            f"--series-id {args.series_id} with --period {args.period} matched no row of "
            f"{computed.inputs.bls.key}: series_population is empty (check the series id and period)",
        )
    if args.out:
        try:
            paths = report.write_local(computed, args.out)
        except OSError as exc:
            raise ConfigurationError(f"--out {args.out}: cannot write the report files there: {exc}") from exc
        notes.append(f"written to {args.out}/: " + ", ".join(p.name for p in paths))
    if args.json:  # the document as polars writes it: no Python objects per row, no text tables
        return Outcome(document={}, json_text=computed.to_json(pretty=False).decode())
    return Outcome(document={}, text="\n".join([report.render_text(computed), "", *notes]).rstrip())


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> Outcome:
    from contextlib import ExitStack

    from dataquest import httpclient, storage
    from dataquest.verify import verify

    settings.require_bucket()
    with ExitStack() as stack:
        fetcher = None
        if args.repair:
            client = stack.enter_context(httpclient.build_client(settings.user_agent()))  # repair reaches BLS
            fetcher = httpclient.Fetcher(client, min_interval=settings.request_interval)
        summary = verify(settings, storage.s3_client(settings), repair=args.repair, fetcher=fetcher)
    lines = [
        f"{','.join(summary.surveys) or 'no survey'}: {summary.checked} objects checked, "
        f"{len(summary.mismatched)} mismatched, {len(summary.unrecorded)} without a recorded sha256, "
        f"{len(summary.repaired)} repaired, {len(summary.errors)} error(s)"
    ]
    lines += [f"mismatch   {d['key']}  (recorded {d['recorded']}, read {d['actual']})" for d in summary.mismatched]
    lines += [f"unrecorded {d['key']}" for d in summary.unrecorded]
    lines += [f"repaired   {key}" for key in summary.repaired]
    error = None
    if not summary.ok:
        if summary.errors:
            first = summary.errors[0]
            error = f"{len(summary.errors)} error(s); first: {first['key']}: {first['error']}"
        else:
            wrong = len(summary.mismatched) + len(summary.unrecorded)
            error = f"{wrong} object(s) do not match what was recorded; run `dataquest verify --repair` to fetch them"
    return Outcome(document=summary.to_document(), text="\n".join(lines), ok=summary.ok, error=error)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> Outcome:
    from pathlib import Path

    from dataquest import embedded

    result = embedded.run(settings, Path(args.out))
    first = result.errors[0] if result.errors else {}
    error = f"{len(result.errors)} error(s); first: {first.get('key') or first.get('path')}: {first.get('error')}"
    return Outcome(document=result.to_document(), text=result.describe(), ok=result.ok, error=error)


def _cmd_promote(args: argparse.Namespace, settings: Settings) -> Outcome:
    import boto3

    from dataquest.promote import promote

    ecr = boto3.client("ecr", region_name=settings.aws_region)
    result = promote(ecr, args.repository, args.from_tag, args.to_tag, architecture=args.architecture)
    verb = "promoted" if result.changed else "unchanged:"
    return Outcome(
        result.to_document(),
        text=f"{verb} {result.repository}:{result.to_tag} -> {result.digest} (from {result.from_tag})",
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout (logs go to stderr)")
    common.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    common.add_argument("--bucket", default=None, help="the data bucket (default: $DQ_BUCKET)")

    # The survey folders and how to reach BLS: sync-bls and verify (whose --repair fetches) read them alike.
    bls_source = argparse.ArgumentParser(add_help=False)
    bls_source.add_argument(
        "--survey",
        action="append",
        dest="surveys",
        default=None,
        metavar="S",
        help="survey folder (repeatable; default: $DQ_BLS_SURVEYS or 'pr'; verify: 'all' for every one in the bucket)",
    )
    bls_source.add_argument("--contact", default=None, help="contact e-mail for the User-Agent (default: $DQ_CONTACT)")
    bls_source.add_argument(
        "--bls-base-url", default=None, help="root of the survey folders (default: $DQ_BLS_BASE_URL)"
    )

    parser = argparse.ArgumentParser(
        prog="dataquest",
        description="Mirror BLS time.series to S3, store US population from DataUSA, report on both with polars.",
    )
    parser.add_argument("--version", action="version", version=f"dataquest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.set_defaults(func=_cmd_sync_bls)

    p = sub.add_parser("fetch-population", parents=[common], help="store the DataUSA US population JSON in S3")
    p.add_argument("--population-url", default=None, help="the API URL (default: $DQ_POPULATION_URL)")
    p.set_defaults(func=_cmd_fetch_population)

    p = sub.add_parser("report", parents=[common], help="compute the report with polars and write it to S3")
    p.add_argument("--periods", choices=PERIODS, default=REPORT_DEFAULTS.periods, help="best-year basis")
    p.add_argument("--data-file", default=None, metavar="F", help="read pr.data.0.Current from a local file")
    p.add_argument("--population-file", default=None, metavar="F", help="read the population JSON from a local file")
    p.add_argument("--series-id", default=REPORT_DEFAULTS.series_id, help="series for the population join")
    p.add_argument("--period", default=REPORT_DEFAULTS.period, help="period for the population join")
    p.add_argument(
        "--start-year", type=int, default=REPORT_DEFAULTS.start_year, help="first year of the population statistics"
    )
    p.add_argument(
        "--end-year", type=int, default=REPORT_DEFAULTS.end_year, help="last year of the population statistics"
    )
    p.add_argument("--out", default=None, metavar="DIR", help="also write the report files to DIR")
    p.add_argument("--no-upload", action="store_true", help="do not write the report to S3")
    p.add_argument("--force", action="store_true", help="compute even if the report for these inputs exists")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "verify", parents=[common, bls_source], help="re-hash the mirror against each object's recorded SHA-256"
    )
    p.add_argument("--repair", action="store_true", help="fetch mismatched and unrecorded objects again from BLS")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("run", parents=[common], help="the whole pipeline on an embedded S3/SQS emulator")
    p.add_argument("--out", default="out", metavar="DIR", help="where the report files go (default: ./out)")
    p.add_argument("--contact", default=None, help="contact e-mail for the User-Agent (default: $DQ_CONTACT)")
    p.add_argument("--bls-base-url", default=None, help="root of the survey folders (default: $DQ_BLS_BASE_URL)")
    p.add_argument("--population-url", default=None, help="the API URL (default: $DQ_POPULATION_URL)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("promote", parents=[common], help="put a release tag on an image by digest (no rebuild)")
    p.add_argument("--repository", required=True, metavar="R", help="the ECR repository name")
    p.add_argument("--from", dest="from_tag", required=True, metavar="TAG", help="the tag to promote")
    p.add_argument("--to", dest="to_tag", required=True, metavar="TAG", help="the tag to put on the same digest")
    p.add_argument(
        "--architecture",
        choices=("x86_64", "arm64"),
        default="x86_64",
        help="the function's CPU type (Terraform's architecture): an image built for another is refused",
    )
    p.set_defaults(func=_cmd_promote)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        bucket=getattr(args, "bucket", None),
        contact=getattr(args, "contact", None),
        bls_base_url=getattr(args, "bls_base_url", None),
        surveys=getattr(args, "surveys", None),
        population_url=getattr(args, "population_url", None),
    )


def _one_line(text: str, limit: int = 2000) -> str:
    """One line for stderr: blanks folded, control characters escaped, length capped, credentials redacted."""
    return log.redact(log.printable(" ".join(text.split()), limit - 3)[1:-1])


def _warn(args: argparse.Namespace, message: str) -> None:
    log.event(logger, "warning", level=30, command=args.command, warning=message)
    print(f"dataquest {args.command}: warning: {_one_line(message)}", file=sys.stderr)


def _missing_extra(exc: ModuleNotFoundError) -> str | None:
    root = (exc.name or "").split(".")[0]
    return EXTRAS.get(root)


def main(argv: Sequence[str] | None = None) -> int:
    from dataquest.signals import interruptible

    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        log.setup(args.log_level)
        settings = _settings(args)
        with interruptible():
            outcome = func(args, settings)
    except ConfigurationError as exc:
        return _fail(args, str(exc), EXIT_USAGE, {})
    except DataQuestError as exc:
        return _fail(args, str(exc), EXIT_FAILED, {})
    except Interrupted as exc:
        where = "; in-flight uploads were aborted, the lease released and the trail written" if exc.document else ""
        message = f"interrupted by {exc.signal_name}{where}; run again to finish"
        return _fail(args, message, EXIT_INTERRUPTED.get(exc.signal_name, EXIT_FAILED), dict(exc.document or {}))
    except ModuleNotFoundError as exc:
        extra = _missing_extra(exc)
        if extra is None:
            return _unexpected(args, exc)
        message = (
            f"`dataquest {args.command}` needs {exc.name}, which this installation lacks: "
            f"pip install 'dataquest[{extra}]' (or 'dataquest[all]')"
        )
        return _fail(args, message, EXIT_USAGE, {})
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, the traceback in the debug log
        return _unexpected(args, exc)
    if not outcome.ok:
        return _fail(args, outcome.error or "the command reported errors", EXIT_FAILED, outcome.document)
    if args.json:
        text = outcome.json_text if outcome.json_text is not None else json.dumps(outcome.document, default=str)
        print(log.redact(text))
    elif outcome.text:
        print(log.redact(outcome.text))
    return EXIT_OK


def _unexpected(args: argparse.Namespace, exc: BaseException) -> int:
    logger.debug("unexpected error", exc_info=exc)
    message = (
        f"unexpected {type(exc).__name__}: {exc or '(no message)'}; this is a bug in dataquest: "
        "rerun with --log-level DEBUG for the traceback, and report it"
    )
    return _fail(args, message, EXIT_FAILED, {})


def _fail(args: argparse.Namespace, message: str, code: int, document: dict[str, Any]) -> int:
    if args.json:
        print(log.redact(json.dumps({**document, "error": _one_line(message)}, default=str)))
    print(f"dataquest {args.command}: error: {_one_line(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
