"""Planning: what to upload, skip and delete for one survey, and why, as plain data.

The plan compares the listing (the source of truth for what exists) with what each S3 object recorded at its
last upload: the source's size and listing timestamp in its metadata, and a SHA-256 (in metadata for a
single-part upload, in the ``sha256`` tag for a multipart one). Nothing is downloaded to decide. The plan is
what ``--dry-run`` prints and what the executor in :mod:`dataquest.bls.sync` carries out.

Deletes are guarded: a listing that would remove more than half of the mirror removes nothing unless
``max_delete`` was given explicitly, and ``max_delete`` caps the deletes of one survey in one run; the deletes
held back are ``keep`` actions and the plan's ``problems`` say why (they are reported as errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dataquest.bls.listing import SourceFile
from dataquest.config import BLS_PREFIX

ActionKind = Literal["upload", "skip", "delete", "keep"]

META_SIZE = "source-size"
META_TIMESTAMP = "source-timestamp"
META_URL = "source-url"
META_SHA256 = "sha256"
TAG_SHA256 = "sha256"


@dataclass(frozen=True)
class MirrorObject:
    """An object under ``bls/<survey>/`` as S3 lists it, with what its last upload recorded (if read)."""

    key: str
    size: int
    metadata: Mapping[str, str] | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Action:
    """One step of a plan: ``upload``, ``skip``, ``delete``, or ``keep`` (a delete held back by a guard)."""

    kind: ActionKind
    path: str
    key: str
    reason: str
    size: int | None = None
    source: SourceFile | None = field(default=None, compare=False)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"action": self.kind, "path": self.path, "key": self.key, "reason": self.reason}
        if self.size is not None:
            doc["size"] = self.size
        return doc


@dataclass(frozen=True)
class Plan:
    survey: str
    prefix: str
    actions: tuple[Action, ...]
    problems: tuple[str, ...] = ()

    def of(self, kind: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    @property
    def uploads(self) -> list[Action]:
        return self.of("upload")

    @property
    def skips(self) -> list[Action]:
        return self.of("skip")

    @property
    def deletes(self) -> list[Action]:
        return self.of("delete")

    def to_document(self) -> list[dict[str, Any]]:
        return [{"survey": self.survey, **a.to_document()} for a in self.actions]


def mirror_prefix(survey: str) -> str:
    return f"{BLS_PREFIX}{survey}/"


def source_metadata(source: SourceFile) -> dict[str, str]:
    """What an upload records about its source (S3 user metadata, ASCII)."""
    return {META_SIZE: str(source.size), META_TIMESTAMP: source.timestamp, META_URL: source.url}


def needs_details(source: SourceFile, object_size: int) -> bool:
    """Whether deciding on ``source`` needs the object's metadata (a HEAD): only when the sizes agree."""
    return object_size == source.size


def decide(source: SourceFile, obj: MirrorObject | None) -> tuple[ActionKind, str]:
    """Upload or skip one listed file, and why."""
    if obj is None:
        return "upload", "new: not in the mirror"
    if obj.size != source.size:
        return "upload", f"size changed: the listing says {source.size} bytes, the mirror holds {obj.size}"
    meta = obj.metadata or {}
    recorded_size, recorded_ts = meta.get(META_SIZE), meta.get(META_TIMESTAMP)
    if recorded_size is None or recorded_ts is None:
        return "upload", "the mirror's object records no source size/timestamp (not written by this sync)"
    if recorded_size != str(source.size):
        return "upload", f"size changed: the listing says {source.size} bytes, the last upload recorded {recorded_size}"
    if recorded_ts != source.timestamp:
        relation = "newer than" if source.timestamp > recorded_ts else "different from"
        return "upload", f"listing timestamp {source.timestamp} is {relation} the recorded {recorded_ts}"
    if not obj.sha256:
        return "upload", "no SHA-256 recorded: the last upload did not finish"
    return "skip", f"unchanged: {source.size} bytes, listed {source.timestamp}"


def make_plan(
    survey: str,
    files: Iterable[SourceFile],
    mirror: Mapping[str, MirrorObject],
    *,
    max_delete: int | None = None,
) -> Plan:
    """The plan for ``survey``: ``mirror`` maps S3 keys under ``bls/<survey>/`` to what S3 holds there."""
    prefix = mirror_prefix(survey)
    actions: list[Action] = []
    listed: set[str] = set()
    for source in files:
        key = prefix + source.path
        listed.add(key)
        kind, reason = decide(source, mirror.get(key))
        actions.append(Action(kind, source.path, key, reason, source.size, source))

    gone = sorted(k for k in mirror if k.startswith(prefix) and k not in listed)
    problems: list[str] = []
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
            actions.append(Action("delete", path, key, "gone from the source listing", size))
        else:
            actions.append(Action("keep", path, key, "gone from the source listing; delete held back", size))
    return Plan(survey=survey, prefix=prefix, actions=tuple(actions), problems=tuple(problems))
