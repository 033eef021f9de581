"""The sources dataquest reads over HTTP (BLS, the population API), and how their error answers become errors.

A :class:`Source` names what to do on a 403, a 404 or no answer, so that every
:class:`~dataquest.errors.SourceError` says which source failed and which setting to check;
:func:`raise_for_status` turns an answer that is not 2xx into one, quoting the start of its body (escaped,
trimmed) and saying when it was retried.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from dataquest.errors import ForbiddenError, SourceError
from dataquest.redaction import printable

RETRY_STATUSES = frozenset({408, 429, *range(500, 600)})
ERROR_BODY_PREVIEW = 120  # characters of an error response's body quoted in its message


@dataclass(frozen=True)
class Source:
    """Which source a request is for, so that its errors name the right cause and the right setting."""

    name: str
    on_403: str
    on_404: str
    on_unreachable: str


GENERIC = Source(
    name="the source",
    on_403="the server refuses the request; check the URL and whether it needs access rights",
    on_404="check the URL",
    on_unreachable="check the URL and the network, then run again",
)
BLS = Source(
    name="BLS",
    on_403="BLS refuses requests without a contact address in the User-Agent; set DQ_CONTACT to a real e-mail "
    "address you read",
    on_404="check the survey name (--survey, DQ_BLS_SURVEYS) and DQ_BLS_BASE_URL",
    on_unreachable="check DQ_BLS_BASE_URL and the network, then run again",
)
POPULATION = Source(
    name="the population API",
    on_403="the population API refuses the request; check DQ_POPULATION_URL (its host, and any key it needs)",
    on_404="the population API has no such resource; check DQ_POPULATION_URL",
    on_unreachable="check DQ_POPULATION_URL and the network, then run again",
)


def _body_preview(response: httpx.Response) -> str:
    """The first bytes of an error response's body, escaped and trimmed for a message ('' when unreadable)."""
    if response.request.method == "HEAD":
        return ""
    try:
        data = b""
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= ERROR_BODY_PREVIEW * 4:
                break
    except (httpx.HTTPError, RuntimeError):
        return ""
    data = data.strip()
    return f" ({printable(data, ERROR_BODY_PREVIEW)})" if data else ""


def raise_for_status(response: httpx.Response, url: str, *, source: Source = GENERIC, method: str = "GET") -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    said = f"{method} {url} answered {status} {response.reason_phrase}"
    if status == 403:
        raise ForbiddenError(f"{said}: {source.on_403}", url=url, status=status)
    if status == 404:
        raise SourceError(f"{said}: {source.on_404}", url=url, status=status)
    retried = " after retries; try again later" if status in RETRY_STATUSES else ""
    raise SourceError(f"{said}{_body_preview(response)}{retried}", url=url, status=status)
