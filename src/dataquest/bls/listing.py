"""Discovery: parse BLS directory listings (IIS format) and walk a survey folder's tree.

BLS serves ``/pub/time.series/<survey>/`` as an IIS directory listing: one ``<pre>`` block, a
``[To Parent Directory]`` link, then one entry per file or folder::

      9/4/2025  7:30 AM      1564284 <A HREF="/pub/time.series/pr/pr.data.0.Current">pr.data.0.Current</A><br>
      9/4/2025  7:30 AM        &lt;dir&gt; <A HREF="/pub/time.series/pr/sub/">sub</A><br>

:func:`parse_listing` turns one page into :class:`Entry` values and refuses a page that is not such a listing
(no ``<pre>`` block, cut before ``</pre>``, an anchor it cannot read): a page it refuses never causes a delete.
:func:`walk` lists a survey folder and its sub-folders iteratively and keeps only the links that stay inside
the survey folder on the same host: the parent link, other hosts, ``..``, query strings, an encoded separator
(``%2F``, ``%5C``: a name, not a folder) and names that would make odd S3 keys are ignored (and logged), never
followed. The same rules hold for every redirect hop (:func:`within`). A sub-folder whose listing fails is
recorded in :attr:`Tree.folders` with its error, and the walk goes on: the plan deletes nothing under it.
The link rules themselves live in :mod:`dataquest.bls.links`.

**The root listing rule** (``--survey all``, :func:`discover_surveys`): the surveys are the *folder* entries of
the root listing (``DQ_BLS_BASE_URL``) whose link is one folder right below the root and whose name matches the
survey-name rule (``layout.json``'s ``survey_name_regex``, lowercase letters and digits), except the folders
named in ``config.NON_SURVEY_FOLDERS`` (``compressed``: archives of the surveys, not a survey). Everything else
is skipped and logged at DEBUG: files (``overview.txt``), the parent link, links outside the root, other names.
A root page that is not a BLS listing, or lists no survey folder, is a :class:`ListingError` naming the URL, and
the run mirrors and deletes nothing.
"""

from __future__ import annotations

import html
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from urllib.parse import quote, urljoin

from dataquest import log
from dataquest.bls.links import relative, within
from dataquest.config import ALL_SURVEYS, DEFAULT_MAX_SURVEYS, NON_SURVEY_FOLDERS, is_survey_name
from dataquest.errors import ListingError, SourceError
from dataquest.http.client import BLS, RedirectPolicy, Source

logger = log.get(__name__)

MAX_LISTING_BYTES = 8 * 1024 * 1024
MAX_FOLDERS = 1000
MAX_SURVEYS = DEFAULT_MAX_SURVEYS  # --survey all: the root's survey folders taken at most (BLS lists about 70)

_PRE_RE = re.compile(r"<pre>(.*?)(</pre>|$)", re.IGNORECASE | re.DOTALL)
_ANCHOR_RE = re.compile(r"<a\s", re.IGNORECASE)
_ENTRY_RE = re.compile(
    r"(?P<date>\d{1,2}/\d{1,2}/\d{4})\s+(?P<time>\d{1,2}:\d{2}\s*[AP]M)\s+"
    r"(?P<size>\d+|&lt;dir&gt;)\s+"
    r"<a\s+href=\"(?P<href>[^\"]*)\"\s*>(?P<text>.*?)</a>",
    re.IGNORECASE | re.DOTALL,
)
_PARENT_RE = re.compile(r"<a\s+href=\"[^\"]*\"\s*>\s*\[To Parent Directory\]\s*</a>", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One line of a listing: a file (with its size) or a folder (``size`` is ``None``)."""

    href: str
    name: str
    kind: Literal["file", "dir"]
    size: int | None
    modified: datetime


@dataclass(frozen=True)
class SourceFile:
    """A file found under a survey folder: its path below the folder, URL, size and listing timestamp."""

    path: str
    url: str
    size: int
    modified: datetime

    @property
    def timestamp(self) -> str:
        """The listing timestamp as recorded in S3 metadata (BLS lists minutes, local time, no zone)."""
        return self.modified.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Ignored:
    """A link the walk did not follow, and why."""

    href: str
    reason: str


@dataclass(frozen=True)
class Folder:
    """A folder the walk listed: its path below the survey folder (``""`` for the survey folder, ``"sub/"``),
    how many entries its listing had, or why it could not be listed (then nothing under it is deleted)."""

    path: str
    url: str
    entries: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Tree:
    """What :func:`walk` found: files sorted by path, the folders listed and the links it ignored."""

    files: tuple[SourceFile, ...]
    folders: tuple[Folder, ...]
    ignored: tuple[Ignored, ...]
    listing_bytes: int

    @property
    def failed(self) -> tuple[Folder, ...]:
        return tuple(f for f in self.folders if f.error is not None)


class ListingSource(Protocol):
    """What :func:`walk` needs from the HTTP side (``dataquest.http.client.Fetcher`` is one)."""

    def get_text(
        self, url: str, *, max_bytes: int | None = ..., source: Source = ..., allow: RedirectPolicy = ...
    ) -> str: ...


def parse_listing(page: str, url: str) -> list[Entry]:
    """The entries of one IIS listing page; :class:`ListingError` when the page is not one."""
    match = _PRE_RE.search(page)
    if match is None:
        raise ListingError(
            f"GET {url}: the page is not a BLS directory listing (no <pre> block); nothing is deleted on its account",
            url=url,
        )
    body, closing = match.group(1), match.group(2)
    if not closing:
        raise ListingError(
            f"GET {url}: the listing is cut before </pre> (truncated response); nothing is deleted on its "
            "account; run again",
            url=url,
        )
    body_wo_parent = _PARENT_RE.sub("", body)
    has_parent = len(body_wo_parent) != len(body)
    entries: list[Entry] = []
    for m in _ENTRY_RE.finditer(body_wo_parent):
        try:
            modified = datetime.strptime(f"{m['date']} {m['time'].replace(' ', '')}", "%m/%d/%Y %I:%M%p")
        except ValueError as exc:
            raise ListingError(
                f"GET {url}: unreadable timestamp {m['date']} {m['time']!r} in the listing", url=url
            ) from exc
        raw_size = m["size"]
        is_dir = raw_size.lower() == "&lt;dir&gt;"
        entries.append(
            Entry(
                href=html.unescape(m["href"]),
                name=html.unescape(m["text"]).strip(),
                kind="dir" if is_dir else "file",
                size=None if is_dir else int(raw_size),
                modified=modified,
            )
        )
    anchors = len(_ANCHOR_RE.findall(body_wo_parent))
    if anchors != len(entries):
        raise ListingError(
            f"GET {url}: {anchors - len(entries)} of {anchors} links in the listing are not in the IIS format "
            "(date, time, size or <dir>, link); refusing to act on a listing read in part",
            url=url,
        )
    if not entries and not has_parent:
        raise ListingError(
            f"GET {url}: the listing has neither entries nor a parent link: not a BLS directory listing", url=url
        )
    return entries


def walk(source: ListingSource, survey_url: str) -> Tree:
    """List ``survey_url`` and every sub-folder under it (breadth first, no recursion).

    The survey folder's own listing must be a non-empty BLS listing (else :class:`ListingError`: the survey
    fails whole, nothing is deleted). A sub-folder's listing that fails (an error status, a refused redirect,
    garbage) is recorded as that :class:`Folder`'s ``error`` and the walk goes on with the others.
    """
    walker = _Walker(source, survey_url if survey_url.endswith("/") else survey_url + "/")
    return walker.run()


def discover_surveys(source: ListingSource, base_url: str, limit: int = MAX_SURVEYS) -> tuple[str, ...]:
    """The survey folders of the root listing at ``base_url``, sorted, by the root listing rule (module docstring).

    Raises :class:`ListingError` naming the URL when the page is not a BLS listing, has no survey folder, or has
    more than ``limit`` (``DQ_MAX_SURVEYS``, ``--max-surveys``): a root of thousands of folders would take the
    run (and BLS) hours; nothing is read or written then.
    """
    root = base_url if base_url.endswith("/") else base_url + "/"
    page = source.get_text(root, max_bytes=MAX_LISTING_BYTES, source=BLS, allow=within(root))
    found: set[str] = set()
    for entry in parse_listing(page, root):
        rel, why = relative(entry.href, root, root)
        name = (rel or "").rstrip("/")
        if rel is None:
            pass
        elif entry.kind != "dir":
            why = "a file, not a folder"
        elif "/" in name or not is_survey_name(name) or name == ALL_SURVEYS:
            why = "not a survey folder name (the survey-name rule)"
        elif name in NON_SURVEY_FOLDERS:
            why = "a folder that holds no survey"
        else:
            found.add(name)
            continue
        log.event(logger, "root entry skipped", level=logging.DEBUG, url=root, href=entry.href, reason=why)
    if not found:
        raise ListingError(
            f"GET {root}: the root listing has no survey folder (lowercase letters and digits, not "
            f"{', '.join(sorted(NON_SURVEY_FOLDERS))}); nothing is mirrored or deleted (check DQ_BLS_BASE_URL)",
            url=root,
        )
    if len(found) > limit:
        raise ListingError(
            f"GET {root}: the root lists {len(found)} survey folders, more than the cap of {limit}; nothing is "
            "mirrored or deleted: check DQ_BLS_BASE_URL, or raise the cap (--max-surveys N, DQ_MAX_SURVEYS)",
            url=root,
        )
    log.event(logger, "surveys discovered", url=root, surveys=len(found))
    return tuple(sorted(found))


@dataclass
class _Walker:
    """One walk's queue and findings."""

    source: ListingSource
    survey_url: str
    files: dict[str, SourceFile] = field(default_factory=dict)
    folders: list[Folder] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    queue: deque[tuple[str, str]] = field(default_factory=deque)  # (URL, path below the survey folder)
    total: int = 0

    def run(self) -> Tree:
        self.seen.add(self.survey_url)
        self.queue.append((self.survey_url, ""))
        while self.queue:
            folder_url, path = self.queue.popleft()
            if len(self.folders) >= MAX_FOLDERS:
                raise ListingError(
                    f"{self.survey_url}: more than {MAX_FOLDERS} folders; refusing to walk further "
                    "(a loop in the listings?)",
                    url=self.survey_url,
                )
            entries = self.read_folder(folder_url, path)
            for entry in entries or ():
                self.take(entry, folder_url)
        return Tree(
            files=tuple(self.files[p] for p in sorted(self.files)),
            folders=tuple(self.folders),
            ignored=tuple(self.ignored),
            listing_bytes=self.total,
        )

    def read_folder(self, folder_url: str, path: str) -> list[Entry] | None:
        """The folder's entries; ``None`` when a sub-folder's listing failed (recorded as its error)."""
        survey = folder_url == self.survey_url
        try:
            page = self.source.get_text(
                folder_url, max_bytes=MAX_LISTING_BYTES, source=BLS, allow=within(self.survey_url)
            )
            self.total += len(page.encode())
            entries = parse_listing(page, folder_url)
        except SourceError as exc:
            if survey:
                raise
            self.folders.append(Folder(path, folder_url, error=str(exc)))
            log.event(logger, "listing failed", level=logging.ERROR, url=folder_url, error=str(exc))
            return None
        if survey and not entries:
            raise ListingError(
                f"GET {self.survey_url}: the survey's listing is empty; nothing is deleted on its account "
                "(check the survey name and the base URL, then run again)",
                url=self.survey_url,
            )
        self.folders.append(Folder(path, folder_url, entries=len(entries)))
        return entries

    def take(self, entry: Entry, folder_url: str) -> None:
        """A listed file is kept, a sub-folder queued once; a link outside the survey folder ignored (and logged)."""
        rel, why = relative(entry.href, folder_url, self.survey_url)
        if rel is None:
            self.ignored.append(Ignored(entry.href, why))
            log.event(logger, "listing link ignored", url=folder_url, href=entry.href, reason=why)
            return
        url = urljoin(self.survey_url, quote(rel, safe="/"))
        if entry.kind == "dir":
            sub = url if url.endswith("/") else url + "/"
            if sub not in self.seen:
                self.seen.add(sub)
                self.queue.append((sub, rel if rel.endswith("/") else rel + "/"))
        elif rel.endswith("/"):
            self.ignored.append(Ignored(entry.href, "a file entry whose link ends with '/'"))
        elif entry.size is not None:
            self.files[rel] = SourceFile(path=rel, url=url, size=entry.size, modified=entry.modified)
