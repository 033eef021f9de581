"""Text made safe to leave the process: credentials a configured URL may carry hidden (:func:`redact`), and text
from outside (a response body, a file's bytes) escaped and trimmed for a one-line message (:func:`printable`).

A leaf module (only the standard library), so that :mod:`dataquest.errors` can use both on every message without
importing :mod:`dataquest.log`, which itself raises those errors.
"""

from __future__ import annotations

import re

# A URL in any text: scheme://, then up to a blank, a quote or an angle bracket (JSON, log lines, messages).
_URL_RE = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]*")
# ?name=value where the name says it is a secret, outside a URL too (a message quoting a query): the value is replaced.
_SECRET_QUERY_RE = re.compile(
    r"(?P<name>[?&;][^=&#\s\"'<>]*?(?:key|token|secret|passw(?:or)?d|pwd|auth|sig|credential|session)"
    r"[^=&#\s\"'<>]*=)[^&#;\s\"'<>]+",
    re.IGNORECASE,
)
# The query parameters whose values are known to be harmless (the DataUSA API's): every other value is hidden.
HARMLESS_QUERY_NAMES = frozenset(
    {"cube", "drilldowns", "measures", "locale", "year", "limit", "sort", "order", "parents", "sparse", "properties"}
)
_QUERY_ITEM_RE = re.compile(r"(?P<sep>^|[&;])(?P<item>[^&;]*)")
REDACTED = "***"


def redact(text: str) -> str:
    """``text`` with what a URL may carry hidden: its userinfo whole (``https://u:p@ss@host/`` ->
    ``https://***@host/``: up to the authority's last ``@``, as a URL parser reads it) and every query value but
    those of :data:`HARMLESS_QUERY_NAMES` (``?cube=c&jwt=s`` -> ``?cube=c&jwt=***``): a list of secret names
    always misses one. Idempotent; works on a URL, a message or a serialised JSON document alike."""
    if "://" in text:
        text = _URL_RE.sub(_redact_url, text)
    if "=" in text:
        text = _SECRET_QUERY_RE.sub(rf"\g<name>{REDACTED}", text)
    return text


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = f"{REDACTED}@{authority.rpartition('@')[2]}"
    rest, hash_mark, fragment = tail.partition("#")
    before, mark, query = rest.partition("?")
    if mark:
        rest = f"{before}?{_QUERY_ITEM_RE.sub(_redact_item, query)}"
    if "=" in fragment:  # #access_token=...: an OAuth implicit grant puts its token in the fragment
        fragment = _QUERY_ITEM_RE.sub(_redact_item, fragment)
    return f"{scheme}://{authority}{rest}{hash_mark}{fragment}"


def _redact_item(match: re.Match[str]) -> str:
    item = match.group("item")
    name, equals, value = item.partition("=")
    if not item or (equals and (name.lower() in HARMLESS_QUERY_NAMES or value == REDACTED)) or item == REDACTED:
        return match.group(0)
    return f"{match.group('sep')}{name}={REDACTED}" if equals else f"{match.group('sep')}{REDACTED}"


def printable(data: bytes | str, limit: int = 120) -> str:
    """``data`` (a response body, a file's first bytes) fit for a one-line message: undecodable bytes and
    control characters escaped (``\\x00``), cut to ``limit`` characters with ``...``, and quoted."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    cut = len(text) > limit
    text = text[:limit]
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return f"'{escaped}{'...' if cut else ''}'"
