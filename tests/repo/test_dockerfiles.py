"""The Dockerfiles, built the way the issue asks (read as text; no engine needed). hadolint runs in `make lint` and
tests/integration/test_dockerfiles_hadolint.py."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

FUNCTIONS = ("ingest", "report")
DOCKERFILES = [ROOT / "images" / fn / "Dockerfile" for fn in FUNCTIONS]
PINNED_BASE = re.compile(r"^ARG BASE_IMAGE=python:3\.12-slim[\w.-]*@sha256:[0-9a-f]{64}$", re.MULTILINE)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_the_runtime_stage_is_pinned_non_root_and_runs_awslambdaric(fn: str) -> None:
    text = (ROOT / "images" / fn / "Dockerfile").read_text()
    assert PINNED_BASE.search(text), "the base must be a slim Python 3.12 pinned by digest through ARG BASE_IMAGE"
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", text, re.MULTILINE)
    assert stages == [("${BASE_IMAGE}", "deps"), ("${BASE_IMAGE}", "app"), ("${BASE_IMAGE}", "runtime")]
    runtime = text.split("AS runtime", 1)[1]
    user = re.findall(r"^USER (\S+)$", runtime, re.MULTILINE)
    assert user
    assert user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["python", "-m", "awslambdaric"]' in runtime
    assert f'CMD ["dataquest.handlers.{fn}.handler"]' in runtime
    # Only the dependencies' venv and the installed package cross over: no uv, no sources, no lock file. The
    # package comes last, so that a code change rebuilds and pushes one small layer.
    assert re.findall(r"^COPY (.*)$", runtime, re.MULTILINE) == [
        "--from=deps /opt/venv /opt/venv",
        "--from=app /opt/app /opt/app",
    ]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_dependencies_come_from_the_lock_in_their_own_layer_before_the_package(fn: str) -> None:
    text = (ROOT / "images" / fn / "Dockerfile").read_text()
    lock_copy = text.index("COPY pyproject.toml uv.lock ./")
    export = text.index("uv export --frozen --no-dev --no-emit-project")
    hashed = text.index("--require-hashes")
    src_copy = text.index("COPY src/dataquest /opt/app/dataquest")
    assert lock_copy < export < hashed < text.index("AS app") < src_copy
    assert re.search(r'pip install "uv==\$\{UV_VERSION\}"', text), "uv comes from PyPI through pip, pinned"


def test_each_image_installs_only_what_its_function_needs() -> None:
    extras = {
        fn: set(re.findall(r"--extra (\w+)", (ROOT / "images" / fn / "Dockerfile").read_text())) for fn in FUNCTIONS
    }
    assert extras["ingest"] == {"ingest", "lambda"}
    assert extras["report"] == {"ingest", "report", "lake", "lambda"}  # the lake function runs the report image


def _without_comments_extras_and_cmd(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    lines = [re.sub(r"( --extra \w+)+", " --extra ...", ln) for ln in lines]
    return [ln for ln in lines if not ln.startswith("CMD ")]


def test_the_two_function_images_are_built_alike_but_for_their_extras_and_handler() -> None:
    """Two Dockerfiles, one recipe: a change to the stages (uv's pin, the venv, the user, the layer order) made in
    one and not the other fails here. What may differ: the comments, the extras and the CMD."""
    ingest, report = (_without_comments_extras_and_cmd(f.read_text()) for f in DOCKERFILES)
    assert ingest == report


def test_the_rie_is_not_in_any_image() -> None:
    for dockerfile in DOCKERFILES:
        assert "aws-lambda-rie" not in dockerfile.read_text().lower()


def test_dockerignore_lets_in_only_what_the_builds_copy() -> None:
    lines = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "*"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    # No README.md, no docs: a docs edit must not change the context, so it rebuilds nothing.
    assert allowed == {"pyproject.toml", "uv.lock", "src/dataquest"}
    # The builds copy nothing the allow-list leaves out, and the package's sources alone in the last stage.
    for dockerfile in DOCKERFILES:
        copies = re.findall(r"^COPY (?!--from)(.*)$", dockerfile.read_text(), re.MULTILINE)
        assert copies == ["pyproject.toml uv.lock ./", "src/dataquest /opt/app/dataquest"]


def test_the_localstack_image_is_the_pinned_release_resolved_as_of_its_date() -> None:
    """localstack-core 4.14.0 with its dependencies as of its release (newer cbor2, pyOpenSSL, plux break its
    start-up), the version compose pins, on the trixie base (Python 3.13: it needs >= 3.12), run as non-root."""
    text = (ROOT / "images" / "localstack" / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    version = re.search(r"^ARG LOCALSTACK_VERSION=(\S+)$", text, re.MULTILINE)
    assert version is not None
    assert f"localstack/localstack:{version.group(1)}" in compose
    assert re.search(r"^ARG EXCLUDE_NEWER=2026-02-27$", text, re.MULTILINE)
    assert '--exclude-newer "${EXCLUDE_NEWER}" "localstack-core[runtime]==${LOCALSTACK_VERSION}"' in text
    assert re.search(r"^ARG BASE_IMAGE=dataquest/base:trixie$", text, re.MULTILINE)
    assert re.findall(r"^USER (\S+)$", text, re.MULTILINE)[-1] == "10001"
    assert 'ENTRYPOINT ["python", "-m", "localstack.runtime.main"]' in text
    makefile = (ROOT / "Makefile").read_text()
    assert f"LOCALSTACK_VERSION := {version.group(1)}" in makefile


@pytest.mark.parametrize(("arch", "ok"), [("x86_64", True), ("arm64", False)])
def test_make_images_refuses_an_image_of_another_architecture(tmp_path: Path, arch: str, ok: bool) -> None:
    """The classic builder keeps a local base's architecture whatever --platform says: make images checks what it
    built (here a docker that builds linux/amd64 whatever it is asked)."""
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "image inspect") case "$4" in *Architecture*) echo linux/amd64;; *) echo 123456789;; esac;;\n'
        '  "build "*|build*) exit 0;;\n'
        "  *) exit 1;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "--no-print-directory", "images", f"ARCH={arch}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
        assert "images: dataquest/report:local 123 MB" in result.stdout
    else:
        assert result.returncode != 0
        assert "images: dataquest/ingest:local is linux/amd64, not linux/arm64" in result.stderr
