"""The sync's summary: the counts of a run, the contract's ``sync-bls --json`` document."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from dataquest.documents import INTERNAL, OMIT_EMPTY, ItemError

if TYPE_CHECKING:
    from dataquest.bls.plan import Action


@dataclass(frozen=True)
class Planned:
    """A survey's uploads handed to the transfer queue: the summary's ``planned`` entry."""

    files: int
    bytes: int


@dataclass
class SyncSummary:
    """The counts of a run; :func:`dataquest.documents.to_document` of it is the contract's ``sync-bls --json``
    document (``dry_run`` and ``plan`` only in a dry run)."""

    surveys: list[str] = field(default_factory=list)
    files_seen: int = 0
    uploaded: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    duration_ms: int = 0
    errors: list[ItemError] = field(default_factory=list)
    dry_run: bool = field(default=False, metadata=OMIT_EMPTY)
    plan: list[Action] = field(default_factory=list, metadata=OMIT_EMPTY)
    planned: dict[str, Planned] = field(default_factory=dict, metadata=OMIT_EMPTY)
    trail_key: str | None = field(default=None, metadata=INTERNAL)

    @property
    def ok(self) -> bool:
        return not self.errors


SUMMARY_KEYS = tuple(f.name for f in fields(SyncSummary) if not f.metadata)
"""The contract's keys of the ``sync-bls --json`` document, in order (``dry_run`` and ``plan`` only in a dry run)."""
