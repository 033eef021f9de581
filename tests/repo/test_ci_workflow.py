"""The GitHub workflow, read as YAML (actionlint runs in tests/integration/test_workflows.py): make check on every
Python the project supports, the images' one included."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT


def job() -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs: dict[str, Any] = workflow["jobs"]
    return jobs["check"]


def test_ci_runs_make_check_on_python_3_11_and_3_12() -> None:
    check = job()
    versions = check["strategy"]["matrix"]["python-version"]
    assert versions == ["3.11", "3.12"]
    assert check["strategy"]["fail-fast"] is False
    assert check["env"]["UV_PYTHON"] == "${{ matrix.python-version }}"
    setup = next(step for step in check["steps"] if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"].split() == ["3.11", "${{", "matrix.python-version", "}}"]
    assert any(step.get("run") == "make check" for step in check["steps"])


def test_the_matrix_holds_the_package_floor_and_the_images_python() -> None:
    versions = job()["strategy"]["matrix"]["python-version"]
    floor = re.search(r'requires-python = ">=(3\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert floor
    assert floor.group(1) in versions
    for fn in ("ingest", "report"):
        base = re.search(r"^ARG BASE_IMAGE=python:(3\.\d+)-", (ROOT / "images" / fn / "Dockerfile").read_text(), re.M)
        assert base, fn
        assert base.group(1) in versions
