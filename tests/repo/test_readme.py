"""The README and docs/ show what exists: every relative link resolves, every make target and ``dataquest``
command they show is real, every command of the CLI has its row in the README, and the README stays a map
(under 300 lines, every page of docs/ linked from it)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dataquest.cli import build_parser
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]

# Commands of the contract the README shows before their package lands: the lake's `dataquest query` (issue 23).
# Once the parser has one, test_pending_commands_are_not_yet_in_the_cli says to take it out of here.
PENDING_COMMANDS: set[str] = set()

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
MAKE_TARGET = re.compile(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", re.MULTILINE)
DATAQUEST_COMMAND = re.compile(r"(?:^|[\s/(])dataquest\s+([a-z][a-z-]*)")
MAKE_OPTIONS_WITH_ARGUMENT = {"-o", "-C", "-f", "-W", "-j"}
SHELL_SEPARATORS = {"&&", "||", ";", "|"}


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", text)


def code(text: str) -> list[str]:
    """Every line of a fenced block and every inline code span: where commands are shown."""
    fenced = [line for block in FENCE.findall(text) for line in block.splitlines()]
    return fenced + INLINE_CODE.findall(prose(text))


def make_targets_shown(fragment: str) -> list[str]:
    """The targets of each ``make ...`` in a code fragment: flags, VAR=value and what follows ``#`` left out."""
    targets: list[str] = []
    tokens = re.split(r"(?:^|\s)#", fragment)[0].split()  # a shell comment may name make too: not a command
    i = 0
    while i < len(tokens):
        if tokens[i] != "make":
            i += 1
            continue
        i += 1
        while i < len(tokens) and tokens[i] not in SHELL_SEPARATORS:
            token = tokens[i]
            if token in MAKE_OPTIONS_WITH_ARGUMENT:
                i += 1
            elif not token.startswith("-") and "=" not in token:
                targets.append(token)
            i += 1
    return targets


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+ (.+)$", prose(path.read_text()), re.MULTILINE)}


def cli_commands() -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices)


def makefile_targets() -> set[str]:
    return set(MAKE_TARGET.findall((ROOT / "Makefile").read_text()))


def broken_links(doc: Path) -> list[str]:
    """The relative links of a page whose file, or whose heading after ``#``, is not there."""
    broken = []
    for target in LINK.findall(prose(doc.read_text())):
        if re.match(r"[a-z][a-z+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = broken_links(doc)
    assert not broken, f"{doc.relative_to(ROOT)} links to what is not there: {broken}; fix the link or the heading"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_shown_exists(doc: Path) -> None:
    shown = {target for fragment in code(doc.read_text()) for target in make_targets_shown(fragment)}
    assert shown, f"{doc.relative_to(ROOT)} shows no make target: the parser of this test missed them"
    missing = shown - makefile_targets()
    assert not missing, f"{doc.relative_to(ROOT)} shows make targets the Makefile lacks: {sorted(missing)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dataquest_command_shown_exists(doc: Path) -> None:
    shown = {m for fragment in code(doc.read_text()) for m in DATAQUEST_COMMAND.findall(fragment)}
    unknown = shown - cli_commands() - PENDING_COMMANDS
    assert not unknown, f"{doc.relative_to(ROOT)} shows dataquest commands the CLI lacks: {sorted(unknown)}"


def test_the_readme_shows_every_command_and_the_two_first_commands() -> None:
    text = README.read_text()
    shown = {m for fragment in code(text) for m in DATAQUEST_COMMAND.findall(fragment)}
    missing = cli_commands() - shown
    assert not missing, f"README.md's command table lacks {sorted(missing)}: add a row for each"
    targets = {target for fragment in code(text) for target in make_targets_shown(fragment)}
    assert {"run", "test"} <= targets, "README.md must show `make run` and `make test`, a newcomer's two commands"


def test_pending_commands_are_not_yet_in_the_cli() -> None:
    landed = PENDING_COMMANDS & cli_commands()
    assert not landed, f"{sorted(landed)} landed in the CLI: take them out of PENDING_COMMANDS in {Path(__file__).name}"


def test_the_readme_is_a_map_and_links_every_page_of_docs() -> None:
    text = README.read_text()
    lines = len(text.splitlines())
    assert lines < 300, f"README.md has {lines} lines: move the detail to a page of docs/ and link it"
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in LINK.findall(prose(text))}
    orphans = [p.name for p in DOCS[1:] if p.resolve() not in linked]
    assert not orphans, f"docs/ pages the README does not link: {orphans}; link each from README.md"


@pytest.mark.parametrize(
    ("fragment", "targets"),
    [
        ("make tf-plan ENV=dev && make tf-apply ENV=dev", ["tf-plan", "tf-apply"]),
        ("make -o images local-up EMULATOR=moto   # the same on a moto server", ["local-up"]),
        ("ENV=prod make tf-plan", ["tf-plan"]),
        ("make test PYTEST_WORKERS=0   # one process (make test-unit: UNIT_WORKERS=4)", ["test"]),
        ("make", []),
    ],
)
def test_the_make_parser_reads_targets_and_leaves_the_rest(fragment: str, targets: list[str]) -> None:
    assert make_targets_shown(fragment) == targets


def test_a_broken_link_and_a_missing_heading_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# The fan-out in AWS\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Whole tree (`make bench-tree`)\n\n[ok](#whole-tree-make-bench-tree) [ok](other.md#the-fan-out-in-aws) "
        "[web](https://example.org/x) [a](#gone) [b](nothing.md) [c](other.md#gone)\n"
        "```\n[not a link](in-a-code-block.md)\n```\n"
    )
    assert broken_links(page) == [
        "#gone (no such heading)",
        "nothing.md (no such file)",
        "other.md#gone (no such heading)",
    ]
