"""Text made safe to leave the process: credentials a configured URL may carry hidden (:func:`redact`), and text
from outside (a response body, a file's bytes) escaped and trimmed for a one-line message (:func:`printable`).

A leaf module (only the standard library), so that :mod:`dataquest.errors` can use both on every message without
importing :mod:`dataquest.log`, which itself raises those errors.
"""

from __future__ import annotations

import re

# scheme://userinfo@ : the userinfo (user, password or token) is replaced whole.
_USERINFO_RE = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s@\"'<>]+@")
# ?name=value where the name says it is a secret (key, token, signature, password, ...): the value is replaced.
_SECRET_QUERY_RE = re.compile(
    r"(?P<name>[?&;][^=&#\s\"'<>]*?(?:key|token|secret|passw(?:or)?d|pwd|auth|sig|credential|session)"
    r"[^=&#\s\"'<>]*=)[^&#;\s\"'<>]+",
    re.IGNORECASE,
)
REDACTED = "***"


def redact(text: str) -> str:
    """``text`` with URL credentials hidden: ``https://u:p@host/`` -> ``https://***@host/``, ``?api_key=s`` ->
    ``?api_key=***``. Idempotent; works on a URL, a message or a serialised JSON document alike."""
    if "@" in text:
        text = _USERINFO_RE.sub(rf"\g<scheme>{REDACTED}@", text)
    if "=" in text:
        text = _SECRET_QUERY_RE.sub(rf"\g<name>{REDACTED}", text)
    return text


def printable(data: bytes | str, limit: int = 120) -> str:
    """``data`` (a response body, a file's first bytes) fit for a one-line message: undecodable bytes and
    control characters escaped (``\\x00``), cut to ``limit`` characters with ``...``, and quoted."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    cut = len(text) > limit
    text = text[:limit]
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return f"'{escaped}{'...' if cut else ''}'"
