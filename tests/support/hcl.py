"""Terraform files read with python-hcl2 (a full HCL2 grammar), not regexes, for the repo tests.

The shapes (as tests/repo/test_terraform_static.py reads them): a file is a dict of block kinds, each a list of
one-entry dicts keyed by label (a resource's by type, then name); a nested block is a list of dicts; a string
literal is its text; any other expression is ``"${...}"`` text, a bool or number as itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def load(path: Path) -> dict[str, Any]:
    """The parsed file."""
    document: dict[str, Any] = hcl2.loads(path.read_text(), serialization_options=HCL)
    return document


def blocks(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The top-level `kind "label" { ... }` blocks (variable, output, module) by label."""
    return {label: body for entry in document.get(kind, []) for label, body in entry.items()}


def resource(document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The body of `resource "kind" "name"`."""
    found: dict[str, Any] = next(
        named[name]
        for entry in document.get("resource", [])
        for k, named in entry.items()
        if k == kind and name in named
    )
    return found


def locals_of(document: dict[str, Any]) -> dict[str, Any]:
    """Every `locals { ... }` entry of the file."""
    return {name: value for block in document.get("locals", []) for name, value in block.items()}


def values(node: Any, key: str) -> Iterator[Any]:
    """Every value set for ``key`` anywhere under ``node`` (nested and dynamic blocks included)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from values(item, key)


def strings(node: Any) -> Iterator[str]:
    """Every string under ``node``: keys and values, literals and ``${...}`` expressions' text."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
