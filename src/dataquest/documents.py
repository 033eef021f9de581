"""Typed documents: what crosses a boundary (a summary, a plan, a report) is a dataclass, serialised by one function.

A document class is a plain ``@dataclass``; :func:`to_document` turns it into the JSON-ready dict the contract
names, field by field in declaration order, so mypy checks every field and no class writes its own dict by hand.
Two field options shape the output, through ``dataclasses.field(metadata=...)``:

- :data:`OMIT_EMPTY`: the key is left out while the value is falsy (``dry_run`` and ``plan`` appear only in a
  dry run);
- :data:`INTERNAL`: the field is never serialised (a frame, a handle kept for the caller);
- :func:`renamed`: the key is another name than the field's (``from``, which Python cannot spell).

Errors are :class:`ItemError` rows, ``{"path" or "key", "error"}`` in the contract's words, and
:func:`first_error` is the one sentence that names the first of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

OMIT_EMPTY: Final[Mapping[str, bool]] = {"omit_empty": True}
"""Field metadata: leave the key out while the value is falsy."""

INTERNAL: Final[Mapping[str, bool]] = {"internal": True}
"""Field metadata: never serialise the field."""


def renamed(key: str) -> Mapping[str, str]:
    """Field metadata: serialise the field under ``key``."""
    return {"name": key}


def to_document(value: Any) -> Any:
    """The JSON-ready form of ``value``: dataclasses field by field, sequences as lists, mappings as dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        doc: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.metadata.get("internal"):
                continue
            item = getattr(value, f.name)
            if f.metadata.get("omit_empty") and not item:
                continue
            doc[f.metadata.get("name", f.name)] = to_document(item)
        return doc
    if isinstance(value, Mapping):
        return {str(k): to_document(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [to_document(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class ItemError:
    """One failed item: a source ``path`` (a URL or file) or an S3 ``key``, and what went wrong.

    Serialised as ``{"path": ..., "error": ...}`` or ``{"key": ..., "error": ...}``."""

    path: str | None = field(default=None, metadata=OMIT_EMPTY)
    key: str | None = field(default=None, metadata=OMIT_EMPTY)
    error: str

    @property
    def where(self) -> str:
        return self.path or self.key or "?"

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ItemError:
        return cls(error=str(doc.get("error", "?")), path=doc.get("path"), key=doc.get("key"))


def first_error(errors: Sequence[ItemError | Mapping[str, Any]]) -> str:
    """``"3 error(s); first: <where>: <error>"``: the one way a run names its failures in a single line."""
    if not errors:
        return "no errors"
    head = errors[0]
    first = head if isinstance(head, ItemError) else ItemError.from_document(head)
    return f"{len(errors)} error(s); first: {first.where}: {first.error}"
