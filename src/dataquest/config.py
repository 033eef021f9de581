"""Settings: built once from the environment, and every name the package and Terraform share.

Every setting is read here (``DQ_LOG_LEVEL`` too, by :func:`log_level`, which :func:`dataquest.log.setup` asks
when no ``--log-level`` flag wins over it; the lake's ``DQ_LAKE_DIR``, ``DQ_LAKE_DATABASE``, ``DQ_QUERY_SCAN_LIMIT``).
Three other places touch ``os.environ``, none to read a setting: :func:`dataquest.log.in_lambda` asks whether the
process runs in Lambda, and the package's ``__init__`` and :mod:`dataquest.lake.catalog` give polars defaults
(``_RJEM_MALLOC_CONF``, ``POLARS_ICEBERG_PLANNER``) before polars reads them. AWS credentials are botocore's.

An empty (or blank) variable means the same for every setting: unset, so its default (or, for a required one such
as ``DQ_BUCKET``, missing). Counts are plain ASCII digits; seconds have an upper bound (``MAX_REQUEST_INTERVAL``,
``MAX_LEASE_TTL``); URLs are http(s) with a host; ``DQ_CONTACT`` is an ASCII e-mail address (:func:`check_contact`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from dataquest import __version__
from dataquest.errors import ConfigurationError

DEFAULT_BLS_BASE_URL = "https://download.bls.gov/pub/time.series/"
DEFAULT_SURVEYS: tuple[str, ...] = ("pr",)
DEFAULT_POPULATION_URL = (
    "https://honolulu-api.datausa.io/tesseract/data.jsonrecords"
    "?cube=acs_yg_total_population_1&drilldowns=Year%2CNation&locale=en&measures=Population"
)
# The S3 layout names Terraform uses too (its modules read the same file with jsondecode(file(...))).
LAYOUT: dict[str, Any] = json.loads(resources.files("dataquest").joinpath("layout.json").read_text("utf-8"))
POPULATION_KEY: str = LAYOUT["report_inputs"]["population"]
REPORTS_PREFIX: str = LAYOUT["prefixes"]["reports"]
LATEST_REPORT_PREFIX = f"{REPORTS_PREFIX}latest/"
# The files of a report folder, in writing order: report.json last, so that its presence means the folder is complete.
REPORT_FILES: tuple[str, ...] = ("best_years.csv", "series_population.csv", "report.md", "report.html", "report.json")
BLS_PREFIX: str = LAYOUT["prefixes"]["bls"]
# The mirrored file the report reads (its ObjectCreated notifies the report queue, as the population's does).
BLS_DATA_KEY: str = LAYOUT["report_inputs"]["bls_data"]
INGEST_LOG_PREFIX = f"{LAYOUT['prefixes']['logs']}ingest/"
LOCKS_PREFIX: str = LAYOUT["prefixes"]["locks"]
# Seconds between the starts of two requests to a source (BLS asks not to be hit several times a second).
DEFAULT_REQUEST_INTERVAL = 1.0
MAX_REQUEST_INTERVAL = 60.0  # past a minute between requests a sync of one survey takes days: a typo, refused
# Parts of a multipart upload in flight at once: memory is about (this + 2) x the 8 MiB part size.
DEFAULT_PARTS_IN_FLIGHT = 4
MAX_PARTS_IN_FLIGHT = 64
# Transfers streaming at once in one process (in AWS, the transfer mapping's maximum concurrency): BLS asks for few.
DEFAULT_TRANSFER_STREAMS = 2
MAX_TRANSFER_STREAMS = 16
# `--survey all`: at most this many survey folders of the root listing (DQ_MAX_SURVEYS, --max-surveys raise it).
DEFAULT_MAX_SURVEYS = 200
MAX_MAX_SURVEYS = 100_000
# `--survey all` / DQ_BLS_SURVEYS=all: every survey folder of the root listing (bls.listing.discover_surveys), alone.
ALL_SURVEYS = "all"
# Folders of the root listing that match the survey-name rule but hold no survey: skipped by `all`.
NON_SURVEY_FOLDERS: frozenset[str] = frozenset({"compressed"})
# Seconds a sync's lease lasts unless its heartbeat renews it: a killed run blocks the next one at most this long.
DEFAULT_LEASE_TTL = 60.0
MAX_LEASE_TTL = 3600.0  # a dead run blocks the next one at most an hour (the heartbeat's timer needs a sane value)
DEFAULT_LOG_LEVEL = "INFO"
FRESHNESS_HOURS = DEFAULT_FRESHNESS_HOURS, MAX_FRESHNESS_HOURS = 24, 168  # DQ_FRESHNESS_HOURS: default, maximum
# The lake: the laptop's folder (sqlite catalog, warehouse), the Glue database in AWS, `dataquest query`'s scan cap.
DEFAULT_LAKE_DIR, DEFAULT_LAKE_DATABASE = "lake", "dataquest"
QUERY_SCAN_LIMIT = DEFAULT_QUERY_SCAN_LIMIT, MAX_SCAN = 4 << 30, 1 << 50  # DQ_QUERY_SCAN_LIMIT: default, maximum
# The functions' CPU types (Terraform's `architecture`): `dataquest promote` refuses an image built for another.
LAMBDA_ARCHITECTURES: tuple[str, ...] = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "x86_64"
# The report function's timeout (Terraform's report_timeout) and its queue's visibility timeout: 6x, as Terraform's
# queue module sets it (AWS's advice for an SQS event source); the embedded run creates its queue so too.
REPORT_FUNCTION_TIMEOUT = 300
REPORT_QUEUE_VISIBILITY_TIMEOUT = 6 * REPORT_FUNCTION_TIMEOUT
# How long the planner leaves a multipart upload alone: a transfer resumed over several invocations keeps its
# upload open between them (a 7 GB file at 2 MiB/s takes about an hour); older ones are a dead transfer's.
RESUMABLE_UPLOAD_GRACE = timedelta(hours=12)
# The transfer function's timeout, its queue's visibility timeout (6x) and batch (one message: one time limit each).
TRANSFER_FUNCTION_TIMEOUT = 900
TRANSFER_QUEUE_VISIBILITY_TIMEOUT = 6 * TRANSFER_FUNCTION_TIMEOUT
TRANSFER_BATCH_SIZE = 1

_ENDPOINT_HINT = "unset it for AWS, or give e.g. http://localhost:4566"
_SURVEY_RE = re.compile(LAYOUT["survey_name_regex"])
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, from the environment (a CLI flag wins over its variable).

    ``bucket`` and ``contact`` may be ``None`` here: the commands that need them call
    :meth:`require_bucket` / :meth:`require_contact`, which fail naming the variable.
    """

    bucket: str | None = None
    contact: str | None = None
    bls_base_url: str = DEFAULT_BLS_BASE_URL
    surveys: tuple[str, ...] = DEFAULT_SURVEYS
    population_url: str = DEFAULT_POPULATION_URL
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    request_interval: float = DEFAULT_REQUEST_INTERVAL
    parts_in_flight: int = DEFAULT_PARTS_IN_FLIGHT
    transfer_streams: int = DEFAULT_TRANSFER_STREAMS
    lease_ttl: float = DEFAULT_LEASE_TTL
    transfer_queue_url: str | None = None  # set, the ingest job plans and sends the uploads to this queue (fan-out)
    max_surveys: int = DEFAULT_MAX_SURVEYS  # ``--survey all`` refuses a root listing more survey folders than this
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS  # a release's survey must change within this (ops.freshness)
    calendar_url: str | None = None  # DQ_BLS_CALENDAR_URL; None: BLS's own, for the default DQ_BLS_BASE_URL only
    lake_dir: str = DEFAULT_LAKE_DIR
    lake_database: str = DEFAULT_LAKE_DATABASE
    query_scan_limit: int = DEFAULT_QUERY_SCAN_LIMIT
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:  # an empty or blank variable is an unset one, for every setting
            value = env.get(name)
            return value if value is not None and value.strip() else None

        endpoint = get("AWS_ENDPOINT_URL")  # boto3's own variable: a typo is a configuration error, not a ValueError
        return cls(
            bucket=get("DQ_BUCKET"),
            contact=get("DQ_CONTACT"),
            bls_base_url=normalise_base_url(get("DQ_BLS_BASE_URL") or DEFAULT_BLS_BASE_URL, "DQ_BLS_BASE_URL"),
            surveys=parse_surveys(get("DQ_BLS_SURVEYS") or ",".join(DEFAULT_SURVEYS), "DQ_BLS_SURVEYS"),
            population_url=check_http_url(get("DQ_POPULATION_URL") or DEFAULT_POPULATION_URL, "DQ_POPULATION_URL"),
            aws_endpoint_url=check_http_url(endpoint, "AWS_ENDPOINT_URL", hint=_ENDPOINT_HINT) if endpoint else None,
            aws_region=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1",
            request_interval=parse_seconds(
                get("DQ_REQUEST_INTERVAL"),
                DEFAULT_REQUEST_INTERVAL,
                "DQ_REQUEST_INTERVAL",
                maximum=MAX_REQUEST_INTERVAL,
            ),
            parts_in_flight=parse_count(
                get("DQ_PARTS_IN_FLIGHT"), DEFAULT_PARTS_IN_FLIGHT, MAX_PARTS_IN_FLIGHT, "DQ_PARTS_IN_FLIGHT"
            ),
            transfer_streams=parse_count(
                get("DQ_TRANSFER_STREAMS"), DEFAULT_TRANSFER_STREAMS, MAX_TRANSFER_STREAMS, "DQ_TRANSFER_STREAMS"
            ),
            lease_ttl=parse_seconds(
                get("DQ_LEASE_TTL"), DEFAULT_LEASE_TTL, "DQ_LEASE_TTL", positive=True, maximum=MAX_LEASE_TTL
            ),
            transfer_queue_url=get("DQ_TRANSFER_QUEUE_URL"),
            max_surveys=parse_count(get("DQ_MAX_SURVEYS"), DEFAULT_MAX_SURVEYS, MAX_MAX_SURVEYS, "DQ_MAX_SURVEYS"),
            freshness_hours=parse_count(get("DQ_FRESHNESS_HOURS"), *FRESHNESS_HOURS, "DQ_FRESHNESS_HOURS"),
            calendar_url=check_http_url(c, "DQ_BLS_CALENDAR_URL") if (c := get("DQ_BLS_CALENDAR_URL")) else None,
            lake_dir=get("DQ_LAKE_DIR") or DEFAULT_LAKE_DIR,
            lake_database=get("DQ_LAKE_DATABASE") or DEFAULT_LAKE_DATABASE,
            query_scan_limit=parse_count(get("DQ_QUERY_SCAN_LIMIT"), *QUERY_SCAN_LIMIT, "DQ_QUERY_SCAN_LIMIT"),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced (``None`` values are ignored: the flag was not given)."""
        given = {k: v for k, v in changes.items() if v is not None}
        if "surveys" in given:
            given["surveys"] = parse_surveys(",".join(given["surveys"]), "--survey")
        if "bls_base_url" in given:
            given["bls_base_url"] = normalise_base_url(given["bls_base_url"], "--bls-base-url")
        return replace(self, **given)

    @property
    def all_surveys(self) -> bool:
        """Whether the surveys are ``all``: every survey folder of the root listing, found at the run's start."""
        return self.surveys == (ALL_SURVEYS,)

    def require_bucket(self) -> str:
        if not self.bucket:
            raise ConfigurationError("DQ_BUCKET is not set: export DQ_BUCKET=<your data bucket> (or pass --bucket)")
        return self.bucket

    def require_contact(self) -> str:
        if not self.contact:
            raise ConfigurationError(
                "DQ_CONTACT is not set: BLS answers 403 to requests without a contact address in the "
                "User-Agent; export DQ_CONTACT=you@example.org (or pass --contact)"
            )
        return check_contact(self.contact, "DQ_CONTACT")

    def user_agent(self, *, contact_required: bool = True) -> str:
        """The User-Agent: the tool and a way to reach its operator, as BLS asks (a malformed contact is always an
        error; a missing one only when ``contact_required``, else the tool's name alone)."""
        if self.contact is None and not contact_required:
            return f"dataquest/{__version__}"
        return f"dataquest/{__version__} (+{self.require_contact()})"


def check_contact(contact: str, source: str) -> str:
    """The one contact rule: an ASCII e-mail address (it travels in the User-Agent header, which is ASCII)."""
    if not contact.isascii() or not contact.isprintable():
        shown = contact[:80].encode("ascii", "backslashreplace").decode("ascii")
        raise ConfigurationError(
            f"{source}={shown!r} has characters that are not printable ASCII: the address goes in the User-Agent "
            "header, which is ASCII; give an ASCII address (an international domain in its xn-- form)"
        )
    if not _EMAIL_RE.match(contact):
        raise ConfigurationError(f"{source}={contact[:80]!r} is not an e-mail address: set it to one")
    return contact


def transfer_interval(settings: Settings) -> float:
    """Seconds between two request starts of one transfer container: ``DQ_REQUEST_INTERVAL`` times the maximum
    concurrency (``DQ_TRANSFER_STREAMS``), so that all together start at most one per ``DQ_REQUEST_INTERVAL``."""
    return settings.request_interval * settings.transfer_streams


def log_level(environ: Mapping[str, str] | None = None) -> int:
    """``DQ_LOG_LEVEL`` (default ``INFO``), read in any case by :func:`parse_level`."""
    env = os.environ if environ is None else environ
    return parse_level((env.get("DQ_LOG_LEVEL") or "").strip() or DEFAULT_LOG_LEVEL, "DQ_LOG_LEVEL")


_LEVELS: dict[str, int] = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}
_LEVELS |= {"WARN": logging.WARNING, "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}


def parse_level(raw: str | int, source: str) -> int:
    """A log level from a name in any case (``debug``, ``Info``) or a number 0..50; ``source`` names the setting."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if 0 <= raw <= logging.CRITICAL:
            return raw
    elif isinstance(raw, str):
        text = raw.strip()
        if text.upper() in _LEVELS:
            return _LEVELS[text.upper()]
        if text.isascii() and text.isdigit() and len(text) <= 2 and int(text) <= logging.CRITICAL:
            return int(text)
    shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + "..."
    raise ConfigurationError(f"{source}={shown} is not a log level: use DEBUG, INFO, WARNING or ERROR (any case)")


def parse_surveys(raw: str, source: str) -> tuple[str, ...]:
    surveys = tuple(s.strip().lower() for s in raw.split(",") if s.strip())
    if not surveys:
        raise ConfigurationError(f"{source} is empty: give at least one survey folder, e.g. 'pr'")
    for s in surveys:
        if not is_survey_name(s):
            raise ConfigurationError(
                f"{source}: {s!r} is not a survey folder name (lowercase letters and digits, e.g. 'pr', 'ce')"
            )
    unique = tuple(dict.fromkeys(surveys))
    if ALL_SURVEYS in unique and len(unique) > 1:
        others = ", ".join(s for s in unique if s != ALL_SURVEYS)
        raise ConfigurationError(
            f"{source}: '{ALL_SURVEYS}' stands alone (every survey folder of the root listing); it cannot be mixed "
            f"with names ({others}): give either '{ALL_SURVEYS}' or the names"
        )
    return unique


def is_survey_name(name: str) -> bool:
    """The one survey-name rule (``layout.json``'s ``survey_name_regex``): settings and root discovery use it."""
    return _SURVEY_RE.fullmatch(name) is not None  # not match: its "$" would let a trailing newline through


def parse_seconds(
    raw: str | None, default: float, source: str, *, positive: bool = False, maximum: float | None = None
) -> float:
    """A number of seconds: finite, zero or more (more than zero when ``positive``), at most ``maximum``."""
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{source}={raw[:40]!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        floor = "more than zero" if positive else "zero or more"
        raise ConfigurationError(f"{source}={raw[:40]!r} must be a finite number of seconds, {floor}")
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{source}={raw[:40]!r} is too long: give at most {maximum:g} seconds")
    return value


def parse_count(raw: str | None, default: int, maximum: int, source: str) -> int:
    """A whole number 1..``maximum`` written in plain ASCII digits (not ``1_0``, ``+3`` or another script's)."""
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= max(6, len(str(maximum)))):
        shown = raw[:40].encode("ascii", "backslashreplace").decode("ascii")
        raise ConfigurationError(f"{source}={shown!r} is not a whole number in plain digits (0-9): give 1 to {maximum}")
    value = int(text)
    if not 1 <= value <= maximum:
        raise ConfigurationError(f"{source}={raw!r} must be between 1 and {maximum}")
    return value


def check_http_url(url: str, source: str, *, hint: str = "give e.g. https://host/path/") -> str:
    """``url`` if it is an http(s) URL with a host (no blank in it), else a :class:`ConfigurationError`."""
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{source}={url[:80]!r} is not an http(s) URL: {hint}")
    try:
        host = urlsplit(url).hostname if urlsplit(url).port != -1 else None  # .port raises on "h:port"
    except ValueError:
        host = None
    if not host or any(c.isspace() for c in url):
        raise ConfigurationError(f"{source}={url[:80]!r} has no host (or a blank in it): {hint}")
    return url


def normalise_base_url(url: str, source: str) -> str:
    check_http_url(url, source)
    return url if url.endswith("/") else url + "/"


# --- S3 object metadata, tags and lock keys: each spelled once (the sync, verify, storage and the lease use them) ---
META_SIZE = "source-size"
META_TIMESTAMP = "source-timestamp"
META_URL = "source-url"
META_LAST_MODIFIED = "source-last-modified"
# The object's SHA-256: in user metadata for a one-request PUT, in a tag of this name for a multipart upload.
META_SHA256 = "sha256"
TAG_SHA256 = "sha256"
# A transfer resumed across invocations cannot save hashlib's state: it records the chained digest instead, the
# SHA-256 of the concatenated SHA-256 digests (32 bytes each) of its parts, and the part size (see bls/resume.py).
TAG_SHA256_PARTS = "sha256-parts"
TAG_PART_SIZE = "part-size"
# The listed timestamp a HEAD confirmed unchanged (a clock change): a tag, which writes no version, notifies nothing.
TAG_CONFIRMED_TIMESTAMP = "source-timestamp-confirmed"
SYNC_LEASE_PREFIX = f"{LOCKS_PREFIX}sync-bls/"
