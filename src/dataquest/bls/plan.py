"""Planning: what to upload, skip and delete for one survey, and why, as plain data.

The plan compares the listing (the source of truth for what exists) with what each S3 object recorded at its
last upload: the source's size and listing timestamp in its metadata, and a SHA-256 (in metadata for a
single-part upload, in the ``sha256`` tag for a multipart one). Nothing is downloaded to decide. The plan is
what ``--dry-run`` prints and what the executor in :mod:`dataquest.bls.sync` carries out.

Listing clocks move: BLS lists local time, so a daylight-saving change (or a server moving time zone) shifts
every listed time by whole hours. A file of the same size whose listed time moved by a whole number of hours
(less than a day) is a ``check`` action: the executor asks the source for its ``Last-Modified`` (a HEAD) and
:func:`confirm` turns it into an upload or a skip. The upload records ``Last-Modified`` (``source-last-modified``);
for an object uploaded before that was recorded, the source's ``Last-Modified`` is compared with the object's
own S3 ``LastModified``: a source last modified before our copy was written is unchanged. A confirmed skip leaves
the object's bytes and metadata as they are (a copy to rewrite the metadata would make a new version and notify
the report); the sync tags it with the listed timestamp it confirmed (``source-timestamp-confirmed``), so the
next runs skip it without asking the source again, until the file changes.

Deletes are guarded, per folder and for the whole survey (the deletes held back are ``keep`` actions and the
plan's ``problems`` say why; they are reported as errors):

- nothing is deleted under a folder whose listing failed (an error, a refused redirect, garbage);
- nothing is deleted under a folder whose listing is empty, or lists fewer than half of the objects the mirror
  holds for it (its files and those of its sub-folders no longer listed), unless ``max_delete`` was given;
- a survey's listing that would remove more than half of its mirror removes nothing unless ``max_delete`` was
  given; and ``max_delete`` caps the deletes of one survey in one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from dataquest import log
from dataquest.bls.listing import Folder, SourceFile
from dataquest.bls.mirror import MirrorObject
from dataquest.config import BLS_PREFIX, META_LAST_MODIFIED, META_SIZE, META_TIMESTAMP, META_URL
from dataquest.documents import INTERNAL

ActionKind = Literal["upload", "skip", "check", "delete", "keep"]

MAX_CLOCK_SHIFT = timedelta(hours=23)  # a time zone move or a DST change; a day later is a new release


@dataclass(frozen=True)
class Action:
    """One step of a plan: ``upload``, ``skip``, ``check``, ``delete``, or ``keep`` (a delete held back by a guard).

    Serialised (:func:`dataquest.documents.to_document`) as the plan's entry: ``{"survey", "action", "path",
    "key", "reason", "size"}``; the listed file it came from stays internal."""

    survey: str
    action: ActionKind
    path: str
    key: str
    reason: str
    size: int
    source: SourceFile | None = field(default=None, compare=False, metadata=INTERNAL)


@dataclass(frozen=True)
class Plan:
    survey: str
    prefix: str
    actions: tuple[Action, ...]
    problems: tuple[str, ...] = ()

    def of(self, kind: ActionKind) -> list[Action]:
        """The actions of one kind, in plan order: ``plan.of("upload")``."""
        return [a for a in self.actions if a.action == kind]


def mirror_prefix(survey: str) -> str:
    return f"{BLS_PREFIX}{survey}/"


def source_metadata(source: SourceFile) -> dict[str, str]:
    """What an upload records about its source (S3 user metadata, ASCII; the URL redacted)."""
    url = log.redact(source.url).encode("ascii", "backslashreplace").decode("ascii")
    return {META_SIZE: str(source.size), META_TIMESTAMP: source.timestamp, META_URL: url}


def clock_shift(listed: str, recorded: str) -> int | None:
    """Hours the listed time moved from the recorded one when that is a whole number of hours under a day
    (a clock change, not a new release); else ``None``."""
    try:
        delta = datetime.strptime(listed, "%Y-%m-%dT%H:%M") - datetime.strptime(recorded, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    if not delta or delta % timedelta(hours=1) or abs(delta) > MAX_CLOCK_SHIFT:
        return None
    return int(delta / timedelta(hours=1))


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Last-Modified``) as an aware UTC datetime, ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def confirm(action: Action, obj: MirrorObject | None, last_modified: str | None) -> Action:
    """A ``check`` action made an upload or a skip from the source's ``Last-Modified`` (from a HEAD)."""
    if action.action != "check":
        return action
    seen = http_date(last_modified)
    if seen is None or obj is None:
        return replace(action, action="upload", reason=f"{action.reason}; the source sends no Last-Modified to confirm")
    recorded_raw = (obj.metadata or {}).get(META_LAST_MODIFIED)
    recorded = http_date(recorded_raw)
    if recorded is not None:
        if seen == recorded:
            return replace(action, action="skip", reason=f"{action.reason}; Last-Modified {last_modified} as recorded")
        return replace(
            action, action="upload", reason=f"{action.reason}; Last-Modified {last_modified}, recorded {recorded_raw}"
        )
    if obj.last_modified is not None and seen <= obj.last_modified:
        return replace(
            action,
            action="skip",
            reason=f"{action.reason}; Last-Modified {last_modified} is before the mirror's copy was written "
            f"({obj.last_modified.isoformat()})",
        )
    return replace(action, action="upload", reason=f"{action.reason}; Last-Modified {last_modified} is newer")


def decide(source: SourceFile, obj: MirrorObject | None) -> tuple[ActionKind, str]:
    """Upload, skip or check one listed file, and why (``keep``: its object could not be read; that file's
    error, reported by the sync)."""
    if obj is None:
        return "upload", "new: not in the mirror"
    if obj.error is not None:
        return "keep", f"what the mirror's object recorded could not be read ({obj.error}); left as it is this run"
    if obj.size != source.size:
        return "upload", f"size changed: the listing says {source.size} bytes, the mirror holds {obj.size}"
    meta = obj.metadata or {}
    recorded_size, recorded_ts = meta.get(META_SIZE), meta.get(META_TIMESTAMP)
    if recorded_size is None or recorded_ts is None:
        return "upload", "the mirror's object records no source size/timestamp (not written by this sync)"
    if recorded_size != str(source.size):
        return "upload", f"size changed: the listing says {source.size} bytes, the last upload recorded {recorded_size}"
    if recorded_ts != source.timestamp:
        shift = clock_shift(source.timestamp, recorded_ts)
        if shift is not None and obj.sha256:
            return "check", (
                f"same size, listed time moved by {shift:+d} h from the recorded {recorded_ts} (a clock change?)"
            )
        relation = "newer than" if source.timestamp > recorded_ts else "different from"
        return "upload", f"listing timestamp {source.timestamp} is {relation} the recorded {recorded_ts}"
    if not obj.sha256:
        return "upload", "no SHA-256 recorded: the last upload did not finish"
    return "skip", f"unchanged: {source.size} bytes, listed {source.timestamp}"


def _owner(path: str, folders: Iterable[Folder]) -> Folder | None:
    """The deepest folder whose listing answers for ``path`` (its own folder, or the nearest listed ancestor)."""
    best: Folder | None = None
    for folder in folders:
        if path.startswith(folder.path) and (best is None or len(folder.path) > len(best.path)):
            best = folder
    return best


@dataclass(frozen=True)
class _Guards:
    """The folder-by-folder delete guards of one survey's plan."""

    prefix: str
    mirror: Mapping[str, MirrorObject]
    files: list[SourceFile]
    folders: tuple[Folder, ...]

    def hold(self, gone: list[str], *, max_delete: int | None) -> tuple[dict[str, str], list[str]]:
        """The gone keys each folder's guard holds back (key -> reason), and the problems to report (a failed
        folder's error is the walk's to report; the keys under it are held back without a second one)."""
        held: dict[str, str] = {}
        for folder in (f for f in self.folders if f.error is not None):
            for key in (k for k in gone if k[len(self.prefix) :].startswith(folder.path)):
                held[key] = f"not seen: the listing of {folder.url} failed; delete held back"
        if max_delete is not None or not self.folders:
            return held, []
        return held, self._hold_shrunk(set(gone), held)

    def _hold_shrunk(self, gone: set[str], held: dict[str, str]) -> list[str]:
        """Hold back (in ``held``) what a listing that lost more than half of its folder's objects would delete."""
        listed = [f for f in self.folders if f.error is None]
        groups: dict[str, list[str]] = {}
        for key in self.mirror:
            owner = _owner(key[len(self.prefix) :], listed)
            if key.startswith(self.prefix) and key not in held and owner is not None:
                groups.setdefault(owner.path, []).append(key)
        by_path = {f.path: f for f in listed}
        problems: list[str] = []
        for path, keys in sorted(groups.items()):
            folder = by_path[path]
            lost = [k for k in keys if k in gone]
            seen = sum(1 for f in self.files if (owner := _owner(f.path, listed)) is not None and owner.path == path)
            if not lost or seen * 2 >= len(keys):
                continue
            what = "is empty" if folder.entries == 0 else f"lists {seen} of the mirror's {len(keys)} objects there"
            for key in lost:
                held[key] = f"gone from the listing of {folder.url}, which {what}: delete held back"
            problems.append(
                f"{self.prefix}{path}: the listing of {folder.url} {what}; it lacks {len(lost)} of them (more than "
                f"half); refusing to delete them in case the listing is incomplete; if BLS really removed them, run "
                f"again with --max-delete {len(lost)}"
            )
        return problems


def make_plan(
    survey: str,
    files: Iterable[SourceFile],
    mirror: Mapping[str, MirrorObject],
    *,
    max_delete: int | None = None,
    folders: tuple[Folder, ...] = (),
) -> Plan:
    """The plan for ``survey``: ``mirror`` maps S3 keys under ``bls/<survey>/`` to what S3 holds there;
    ``folders`` (the walk's) guard the deletes folder by folder."""
    prefix = mirror_prefix(survey)
    actions: list[Action] = []
    listed: set[str] = set()
    sources = list(files)
    for source in sources:
        key = prefix + source.path
        listed.add(key)
        kind, reason = decide(source, mirror.get(key))
        actions.append(Action(survey, kind, source.path, key, reason, source.size, source))

    everything_gone = sorted(k for k in mirror if k.startswith(prefix) and k not in listed)
    held, problems = _Guards(prefix, mirror, sources, folders).hold(everything_gone, max_delete=max_delete)
    gone = [k for k in everything_gone if k not in held]
    allowed = len(gone)
    if max_delete is None and gone and len(gone) * 2 > len(mirror):
        allowed = 0
        problems.append(
            f"{prefix}: the listing lacks {len(gone)} of the mirror's {len(mirror)} objects (more than half); "
            f"refusing to delete them in case the listing is incomplete; if BLS really removed them, run again "
            f"with --max-delete {len(gone)}"
        )
    elif max_delete is not None and len(gone) > max_delete:
        allowed = max(max_delete, 0)
        problems.append(
            f"{prefix}: {len(gone)} objects are gone from the listing but --max-delete is {max_delete}; "
            f"deleted {allowed}, kept {len(gone) - allowed}; run again (or raise --max-delete) to finish"
        )
    for i, key in enumerate(gone):
        size = mirror[key].size
        path = key[len(prefix) :]
        if i < allowed:
            actions.append(Action(survey, "delete", path, key, "gone from the source listing", size))
        else:
            actions.append(Action(survey, "keep", path, key, "gone from the source listing; delete held back", size))
    for key, why in sorted(held.items()):
        actions.append(Action(survey, "keep", key[len(prefix) :], key, why, mirror[key].size))
    return Plan(survey=survey, prefix=prefix, actions=tuple(actions), problems=tuple(problems))
