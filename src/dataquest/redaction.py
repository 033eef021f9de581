"""Credentials a configured URL may carry, hidden before any text leaves the process.

A leaf module (only the standard library), so that :mod:`dataquest.errors` can redact every message without
importing :mod:`dataquest.log`, which itself raises those errors. Read it as :func:`dataquest.log.redact`.
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
