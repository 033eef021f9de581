"""``dataquest report``: the Part 3 report with polars, from S3 or from two local files.

polars is imported inside the command only, so that ``dataquest --help`` and the ingest path never import it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from dataquest.cli.common import CommandResult, warn
from dataquest.config import LATEST_REPORT_PREFIX, Settings
from dataquest.errors import ConfigurationError
from dataquest.report.options import DEFAULTS, PERIODS, ReportOptions

if TYPE_CHECKING:
    from dataquest.report.document import Report


def _check_year(flag: str, year: int) -> None:
    from dataquest.population import MAX_YEAR, MIN_YEAR

    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ConfigurationError(f"{flag} {year} is not a plausible year: give one in {MIN_YEAR}..{MAX_YEAR}")


def cmd_report(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.report import builder as report

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
    computed = _compute(args, settings, options, notes)
    if not computed.series_population.height:
        warn(
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
        return CommandResult(document={}, json_text=computed.to_json(pretty=False).decode())
    return CommandResult(document={}, text="\n".join([report.render_text(computed), "", *notes]).rstrip())


def _compute(args: argparse.Namespace, settings: Settings, options: ReportOptions, notes: list[str]) -> Report:
    """The report from the two local files, or from S3 (written there unless ``--no-upload``)."""
    from dataquest.report import builder as report

    if args.data_file or args.population_file:
        if not (args.data_file and args.population_file):
            raise ConfigurationError("give both --data-file and --population-file (or neither, to read from S3)")
        return report.report_from_files(args.data_file, args.population_file, options)
    from dataquest.app import App  # boto3 only for S3: the local report never imports it

    bucket = settings.require_bucket()
    with App(settings) as app:
        result = report.run_report(app.s3, bucket, options, force=args.force, upload=not args.no_upload)
    if result.skipped:
        notes.append(f"report for these inputs already at s3://{bucket}/{result.prefix} (use --force to redo)")
    elif result.keys:
        notes.append(f"written to s3://{bucket}/{result.prefix} and s3://{bucket}/{LATEST_REPORT_PREFIX}")
    return result.report


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="compute the report with polars and write it to S3")
    p.add_argument("--periods", choices=PERIODS, default=DEFAULTS.periods, help="best-year basis")
    p.add_argument("--data-file", default=None, metavar="F", help="read pr.data.0.Current from a local file")
    p.add_argument("--population-file", default=None, metavar="F", help="read the population JSON from a local file")
    p.add_argument("--series-id", default=DEFAULTS.series_id, help="series for the population join")
    p.add_argument("--period", default=DEFAULTS.period, help="period for the population join")
    p.add_argument(
        "--start-year", type=int, default=DEFAULTS.start_year, help="first year of the population statistics"
    )
    p.add_argument("--end-year", type=int, default=DEFAULTS.end_year, help="last year of the population statistics")
    p.add_argument("--out", default=None, metavar="DIR", help="also write the report files to DIR")
    p.add_argument("--no-upload", action="store_true", help="do not write the report to S3")
    p.add_argument("--force", action="store_true", help="compute even if the report for these inputs exists")
    p.set_defaults(func=cmd_report)
