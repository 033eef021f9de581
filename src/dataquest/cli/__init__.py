"""The ``dataquest`` command line: parse, build settings and clients, call one core function, print.

Every command prints exactly one JSON document on stdout with ``--json`` (logs go to stderr), exits 0 on
success, and on failure exits non-zero with a one-line error on stderr (and, with ``--json``, a document
carrying an ``error`` field). The commands live by group: :mod:`~dataquest.cli.data` (sync-bls,
fetch-population, ingest, verify), :mod:`~dataquest.cli.report`, :mod:`~dataquest.cli.ops` (run, relay,
promote). Imports of the heavier modules happen inside the commands, so that ``dataquest --help`` and the
ingest path never import polars.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from dataquest import __version__, log
from dataquest.cli import data, lake, ops, report
from dataquest.cli.common import Command, CommandResult, one_line, settings_from
from dataquest.errors import ConfigurationError, DataQuestError, Interrupted

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CommandResult", "build_parser", "main"]

logger = log.get(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}

# The optional dependencies a command may lack, and the extra that installs each.
EXTRAS = {"polars": "report", "moto": "embedded", "awslambdaric": "lambda", "pyiceberg": "lake", "pyarrow": "lake"}

_one_line = one_line  # the name the tests know


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout (logs go to stderr)")
    common.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")
    common.add_argument("--bucket", default=None, help="the data bucket (default: $DQ_BUCKET)")

    # The survey folders and how to reach BLS: sync-bls, ingest and verify (whose --repair fetches) read them alike.
    bls_source = argparse.ArgumentParser(add_help=False)
    bls_source.add_argument(
        "--survey",
        action="append",
        dest="surveys",
        default=None,
        metavar="S",
        help="survey folder (repeatable; default: $DQ_BLS_SURVEYS or 'pr'); 'all' alone: every survey folder of the "
        "root listing (verify: of the bucket)",
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
    data.add_commands(sub, common, bls_source)
    report.add_commands(sub, common)
    ops.add_commands(sub, common)
    lake.add_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dataquest.signals import interruptible

    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        log.setup(args.log_level)
        settings = settings_from(args)
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
        return _missing_module(args, exc)
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


def _missing_module(args: argparse.Namespace, exc: ModuleNotFoundError) -> int:
    extra = EXTRAS.get((exc.name or "").split(".")[0])
    if extra is None:
        return _unexpected(args, exc)
    message = (
        f"`dataquest {args.command}` needs {exc.name}, which this installation lacks: "
        f"pip install 'dataquest[{extra}]' (or 'dataquest[all]')"
    )
    return _fail(args, message, EXIT_USAGE, {})


def _unexpected(args: argparse.Namespace, exc: BaseException) -> int:
    logger.debug("unexpected error", exc_info=exc)
    message = (
        f"unexpected {type(exc).__name__}: {exc or '(no message)'}; this is a bug in dataquest: "
        "rerun with --log-level DEBUG for the traceback, and report it"
    )
    return _fail(args, message, EXIT_FAILED, {})


def _fail(args: argparse.Namespace, message: str, code: int, document: dict[str, Any]) -> int:
    if args.json:
        print(log.redact(json.dumps({**document, "error": one_line(message)}, default=str)))
    print(f"dataquest {args.command}: error: {one_line(message)}", file=sys.stderr)
    return code
