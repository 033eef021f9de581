"""The link rules of the listings: where a listing's links, and every redirect hop, may lead.

:func:`relative` resolves a link against the folder it was listed in and keeps it only as a path below the
survey folder (or the root, for :func:`dataquest.bls.listing.discover_surveys`), on the same scheme and host: the
parent link, other hosts, ``..``, query strings, an encoded separator (``%2F``, ``%5C``: a name, not a folder)
and names that would make odd S3 keys are refused, with the reason. :func:`within` applies the same rules to each
redirect hop of a request. :func:`survey_url` is the one place a survey's folder URL is made.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from dataquest.config import is_survey_name
from dataquest.errors import ValidationError
from dataquest.http.client import RedirectPolicy

MAX_KEY_BYTES = 900  # S3 allows 1024 bytes; leave room for the "bls/<survey>/" prefix

_BAD_NAME_RE = re.compile(r"[\x00-\x1f\x7f\\]")


def survey_url(base_url: str, survey: str) -> str:
    """The folder URL of ``survey`` under the root ``base_url`` (which ends in ``/``). A name that breaks the
    survey-name rule (a settings value, a message's field, a bucket prefix) is a :class:`ValidationError`:
    no URL is made from it, so nothing is requested or written on its account."""
    if not is_survey_name(survey):
        shown = survey[:40].encode("unicode_escape").decode("ascii")
        raise ValidationError(f"{shown!r} is not a survey name (lowercase letters and digits, 1 to 32)")
    return f"{base_url}{survey}/"


def relative(href: str, folder_url: str, survey_url: str) -> tuple[str | None, str]:
    """``href`` resolved against ``folder_url`` as a path under ``survey_url``, or ``None`` and why not."""
    if "?" in href or "#" in href:
        return None, "has a query string or fragment"
    try:
        target, survey = urlsplit(urljoin(folder_url, href)), urlsplit(survey_url)
        same = (target.scheme, target.hostname, target.port) == (survey.scheme, survey.hostname, survey.port)
    except ValueError:  # urllib refuses it: "Invalid IPv6 URL", a port that is not a number
        return None, "is not a valid URL"
    if not same:
        return None, "points to another host or scheme"
    raw_path = target.path
    if not raw_path.startswith(survey.path):
        return None, "leaves the survey folder"
    # Decode segment by segment: an encoded '/' or '\\' (%2F, %5C) is part of a name, and no name may hold one.
    try:
        segments = [unquote(seg, errors="strict") for seg in raw_path[len(survey.path) :].split("/")]
    except UnicodeDecodeError:
        return None, "is not UTF-8 once its %-escapes are decoded"
    if any("/" in seg or "\\" in seg for seg in segments):
        return None, "encodes a '/' or '\\' in a name (%2F, %5C)"
    rel = "/".join(segments)
    parts = rel.rstrip("/").split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        return None, "leaves the survey folder or has an empty, '.' or '..' segment"
    if _BAD_NAME_RE.search(rel):
        return None, "has control characters or a backslash in its name"
    if len(rel.encode()) > MAX_KEY_BYTES:
        return None, f"its name is longer than {MAX_KEY_BYTES} bytes"
    return rel, ""


def within(survey_url: str) -> RedirectPolicy:
    """The redirect policy of a survey: every hop obeys the listing's rules (same scheme and host as the base
    URL, inside the survey folder, no query, no encoded separator)."""
    if not survey_url.endswith("/"):
        survey_url += "/"

    def policy(first_url: str, next_url: str) -> str | None:
        if next_url == survey_url:
            return None
        rel, why = relative(next_url, survey_url, survey_url)
        return None if rel is not None else why

    return policy
