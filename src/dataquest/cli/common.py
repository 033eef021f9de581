"""What every command shares: the :class:`CommandResult` a command hands back, the settings from the flags, one-line
text."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dataquest import log
from dataquest.config import Settings
from dataquest.redaction import printable

logger = log.get("dataquest.cli")


@dataclass
class CommandResult:
    """What a command hands back: the JSON document, the text for a terminal, and whether it succeeded."""

    document: dict[str, Any]
    text: str = ""
    ok: bool = True
    error: str | None = field(default=None)
    json_text: str | None = None
    """The document already serialised on one line (a large report, written by polars), printed as it is."""


Command = Callable[[argparse.Namespace, Settings], CommandResult]


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the flags the command was given in their place."""
    return Settings.from_env().with_overrides(
        bucket=getattr(args, "bucket", None),
        contact=getattr(args, "contact", None),
        bls_base_url=getattr(args, "bls_base_url", None),
        surveys=getattr(args, "surveys", None),
        population_url=getattr(args, "population_url", None),
        transfer_streams=getattr(args, "streams", None),
        request_interval=getattr(args, "request_interval", None),
    )


def one_line(text: str, limit: int = 2000) -> str:
    """One line for stderr: blanks folded, control characters escaped, length capped, credentials redacted."""
    return log.redact(printable(" ".join(text.split()), limit - 3)[1:-1])


def warn(args: argparse.Namespace, message: str) -> None:
    log.event(logger, "warning", level=logging.WARNING, command=args.command, warning=message)
    print(f"dataquest {args.command}: warning: {one_line(message)}", file=sys.stderr)


def add_contact(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contact", default=None, help="contact e-mail for the User-Agent (default: $DQ_CONTACT)")


def add_population_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--population-url", default=None, help="the API URL (default: $DQ_POPULATION_URL)")


def add_bls_base_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bls-base-url", default=None, help="root of the survey folders (default: $DQ_BLS_BASE_URL)")
