"""The package's layout is its architecture: imports run one way, down the floors, with no circle.

Every ``import`` of ``src/dataquest`` counts, TYPE_CHECKING and function-level ones included (a type-only import
back up still couples a ground-floor module to a high one). Read from the source text with ``ast``: nothing is
imported here, so the check also holds modules whose extras (polars, moto) are not installed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "dataquest"

# Floors, lowest first: a module may import its own floor or any lower one, never a higher one. Within a floor the
# graph must still have no circle. The first matching prefix names a module's floor.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("dataquest.redaction", "dataquest.documents", "dataquest.errors", "dataquest.config")),
    ("ground services", ("dataquest.log", "dataquest.signals", "dataquest.storage", "dataquest.events")),
    ("http", ("dataquest.http",)),
    ("composition root", ("dataquest.app",)),
    ("sources", ("dataquest.population", "dataquest.bls")),
    ("products", ("dataquest.report", "dataquest.lake")),
    ("jobs", ("dataquest.ingest", "dataquest.ops")),
    ("edges", ("dataquest.handlers",)),
    ("local", ("dataquest.local",)),
    ("command line", ("dataquest.cli",)),
]
MAX_TOP_LEVEL = 12
MAX_PER_PACKAGE = 16
MAX_LINES = 330  # "about 300": a module past this has more than one job


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The dataquest modules ``path`` imports (``from a import b`` counts ``a.b`` where that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("dataquest") and target != name:
                yield target


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    edges: dict[str, set[str]] = {}
    for name, path in found.items():
        # `import dataquest` (the package's __init__: __version__) is the floor below everything; not an edge.
        edges[name] = {t for t in imported(path, name, known) if t in known and t != "dataquest"}
    return edges


def floor(name: str) -> int:
    for i, (_, prefixes) in enumerate(FLOORS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{name} is on no floor: add it to FLOORS where it belongs")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle() -> None:
    assert cycles(graph()) == []


def test_no_import_goes_up_a_floor() -> None:
    up = sorted(
        f"{a} ({FLOORS[floor(a)][0]}) imports {b} ({FLOORS[floor(b)][0]})"
        for a, targets in graph().items()
        if a != "dataquest"
        for b in targets
        if floor(b) > floor(a)
    )
    assert up == []


def test_every_module_is_on_a_floor() -> None:
    for name in modules():
        if name != "dataquest":
            floor(name)


def test_the_top_level_and_each_package_stay_small() -> None:
    counts: dict[Path, int] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            counts[path.parent] = counts.get(path.parent, 0) + 1
    assert counts[PACKAGE] <= MAX_TOP_LEVEL
    assert {str(d.relative_to(SRC)): n for d, n in counts.items() if n > MAX_PER_PACKAGE} == {}


def test_no_module_is_much_over_three_hundred_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_cycle_finder_finds_a_circle_and_only_a_circle(
    source: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(source) == expected
