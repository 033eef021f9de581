"""DQ_STRICT_SKIPS (tests/conftest.py) fails a run on a skip CI did not allow, serially and under pytest-xdist:
each case runs pytest on a generated test file, with this project's conftest, in a process of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

TESTS = """
import pytest

def test_runs():
    assert True

def test_needs_an_engine():
    pytest.skip("docker engine unavailable: no socket")

@pytest.mark.parametrize("n", range(4))
def test_more_work_to_spread(n):
    assert n >= 0
"""


def run_pytest(tmp_path: Path, *args: str, allowed: str = "") -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_generated.py").write_text(TESTS)
    env = {**os.environ, "DQ_STRICT_SKIPS": "1", "DQ_ALLOWED_SKIPS": allowed, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-c", os.devnull]
    return subprocess.run(
        [*cmd, *args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_forbidden_skip_fails_the_run(tmp_path: Path, workers: list[str]) -> None:
    done = run_pytest(tmp_path, *workers)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    assert "DQ_STRICT_SKIPS: 1 test(s) skipped that CI can run:" in done.stdout
    assert "test_generated.py::test_needs_an_engine: Skipped: docker engine unavailable: no socket" in done.stdout
    assert "5 passed, 1 skipped" in done.stdout


def test_an_allowed_skip_passes_under_xdist(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "-n", "2", allowed="docker engine unavailable:")
    assert done.returncode == pytest.ExitCode.OK, done.stdout + done.stderr
    assert "DQ_STRICT_SKIPS" not in done.stdout
