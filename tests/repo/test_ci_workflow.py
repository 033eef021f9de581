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


def test_ci_runs_make_check_on_each_python_of_its_matrix() -> None:
    """The matrix is not decoration: its version is the Python that setup-python installs and uv runs make check on."""
    check = job()
    assert check["strategy"]["matrix"]["python-version"], "an empty matrix runs nothing"
    assert check["env"]["UV_PYTHON"] == "${{ matrix.python-version }}"
    setup = next(step for step in check["steps"] if step.get("uses", "").startswith("actions/setup-python"))
    installed = setup["with"]["python-version"].strip().splitlines()
    # 3.11 for checkov's own venv (Makefile, CHECKOV); the matrix's Python last, so that it is the default.
    assert installed[0] == "3.11"
    assert installed[-1] == "${{ matrix.python-version }}"
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
