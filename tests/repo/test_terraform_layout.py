"""The S3 layout names (prefixes, the report's inputs, the survey-name rule) have one source,
src/dataquest/layout.json: the package loads it, Terraform reads it with jsondecode(file(...)), and nothing in src/
or terraform/ spells one of them again. terraform/ is read with python-hcl2 (tests/support/hcl.py), not regexes."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import hcl2
import pytest
from lark import Token, Tree

from dataquest import config
from tests.support.hcl import blocks, load, locals_of

ROOT = Path(__file__).resolve().parents[2]
LAYOUT_FILE = ROOT / "src" / "dataquest" / "layout.json"
LAYOUT = json.loads(LAYOUT_FILE.read_text())
PREFIXES: list[str] = list(LAYOUT["prefixes"].values())
KEYS: list[str] = list(LAYOUT["report_inputs"].values())
LAYOUT_PATH = '"${path.module}/../../../src/dataquest/layout.json"'


def spelled(value: str) -> str | None:
    """The layout name ``value`` spells (starts with a prefix, holds a key or the survey rule), else None."""
    for name in [*KEYS, LAYOUT["survey_name_regex"]]:
        if name in value:
            return name
    return next((prefix for prefix in PREFIXES if value.startswith(prefix)), None)


def python_strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module except docstrings (prose may name the layout), with its line."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def terraform_strings(path: Path) -> list[tuple[int, str]]:
    """Every quoted string of a .tf file (python-hcl2's parse tree: no comment, and the strings inside expressions and
    interpolations too), an interpolation as ``${...}``, with its line."""
    tree = hcl2.parses_to_tree(path.read_text())

    def text(string: Tree[Token]) -> str:
        parts = [part.children[0] for part in string.children if isinstance(part, Tree)]
        return "".join(part if isinstance(part, Token) else "${...}" for part in parts)

    return sorted(
        (next(t.line for t in string.scan_values(lambda v: isinstance(v, Token)) if t.line), text(string))
        for string in tree.iter_subtrees_topdown()
        if string.data == "string"
    )


def test_the_layout_is_well_formed() -> None:
    assert all(prefix.endswith("/") and "/" not in prefix[:-1] for prefix in PREFIXES)
    assert all(any(key.startswith(prefix) for prefix in PREFIXES) for key in KEYS)
    assert re.fullmatch(LAYOUT["survey_name_regex"], "pr")
    for bad in ["", "../etc", "p_r", "p-r", "PR", "a" * 33]:
        assert not re.fullmatch(LAYOUT["survey_name_regex"], bad), bad


def test_the_package_constants_come_from_the_layout() -> None:
    assert config.POPULATION_KEY == LAYOUT["report_inputs"]["population"] == "population/nation_population.json"
    assert config.BLS_DATA_KEY == LAYOUT["report_inputs"]["bls_data"] == "bls/pr/pr.data.0.Current"
    assert (config.BLS_PREFIX, config.REPORTS_PREFIX) == ("bls/", "reports/")
    assert config.INGEST_LOG_PREFIX == "_logs/ingest/"
    assert config.LOCKS_PREFIX == "_locks/"
    assert config.parse_surveys("pr,CE", "test") == ("pr", "ce")
    with pytest.raises(config.ConfigurationError, match="not a survey folder name"):
        config.parse_surveys("p_r", "test")


@pytest.mark.parametrize(
    "path", ["modules/pipeline/main.tf", "envs/local/main.tf", "modules/lake/main.tf", "modules/lake_feed/main.tf"]
)
def test_terraform_reads_the_layout_file(path: str) -> None:
    assert locals_of(load(ROOT / "terraform" / path))["layout"] == f"${{jsondecode(file({LAYOUT_PATH}))}}"
    # The path is right from where the file is: terraform/<dir>/<dir>/../../../src/dataquest/layout.json.
    assert (ROOT / "terraform" / path).parent.joinpath("../../../src/dataquest/layout.json").resolve() == LAYOUT_FILE


def test_the_transfers_log_prefix_is_the_packages() -> None:
    """The transfer role may put only under the ingest trail's prefix: Terraform builds it from the layout's logs
    prefix as config.INGEST_LOG_PREFIX does."""
    pipeline = load(ROOT / "terraform" / "modules" / "pipeline" / "main.tf")
    prefix = locals_of(pipeline)["ingest_log_prefix"]
    assert prefix.startswith("${local.prefixes.logs}")
    assert LAYOUT["prefixes"]["logs"] + prefix.removeprefix("${local.prefixes.logs}") == config.INGEST_LOG_PREFIX
    assert blocks(pipeline, "module")["transfer"]["s3_access"]["put_prefixes"] == ["${local.ingest_log_prefix}"]


def test_the_wheel_configuration_ships_the_layout() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'packages = ["src/dataquest"]' in pyproject  # hatch ships every file of the package folder
    assert "layout.json" not in (ROOT / ".dockerignore").read_text()


def offenders() -> list[str]:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value!r} spells {name!r}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for line, value in python_strings(path)
        if (name := spelled(value))
    ]
    found += [
        f"{path.relative_to(ROOT)}:{line}: {value!r} spells {name!r}"
        for path in sorted((ROOT / "terraform").rglob("*.tf"))
        if ".terraform" not in path.parts
        for line, value in terraform_strings(path)
        if (name := spelled(value))
    ]
    return found


def test_no_layout_name_is_spelled_again_in_src_or_terraform() -> None:
    found = offenders()
    assert not found, "use layout.json (config's constants, Terraform's local.layout):\n" + "\n".join(found)


def test_the_scan_sees_a_spelled_name(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Docs may say bls/ and _locks/."""\nKEY = "population/nation_population.json"\nP = f"_logs/{x}"\n'
    )
    assert [value for _, value in python_strings(module) if spelled(value)] == [
        "population/nation_population.json",
        "_logs/",
    ]
    tf = tmp_path / "main.tf"
    tf.write_text(
        '# "bls/" in a comment\nlocals {\n  a = ["reports/"] # "x"\n  b = "ok"\n'
        '  c = startswith(var.key, "_locks/") ? "${var.x}/y" : "z"\n}\n'
    )
    found = [(line, value) for line, value in terraform_strings(tf) if spelled(value)]
    assert found == [(3, "reports/"), (5, "_locks/")]
