"""The base the image and compose tests build on: the production base where a registry answers, else a local one.

The production base is the ``BASE_IMAGE`` the Dockerfiles pin (python:3.12-slim-bookworm by digest): present in the
engine, or pulled. Only when the pull fails because no registry answers (DNS, connection, timeout) do the tests fall
back to the local base ``scripts/build-base-image.sh`` makes (debootstrap, installed by the script where missing).
Any other pull failure (a digest the registry no longer has, a refused login) fails the tests: it is not "no
registry". Where the local base cannot be made either, the tests skip with one reason starting "local base
unavailable:", which CI refuses where an engine runs (.ci/run allows only "docker engine unavailable:").
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from tests.conftest import ROOT

LOCAL_BASE_IMAGE = "dataquest/base:bookworm"
NO_REGISTRY = re.compile(
    r"no such host|dial tcp|i/o timeout|connection refused|network is unreachable|TLS handshake timeout|"
    r"proxyconnect|Client\.Timeout|context deadline exceeded|timed out"
)
PULL_TIMEOUT = float(os.environ.get("DQ_TEST_PULL_TIMEOUT", "300"))


class LocalBaseUnavailableError(Exception):
    """No registry answers and the local base cannot be made here (the skip reason is the message)."""


@dataclass(frozen=True)
class Base:
    image: str
    why: str

    @property
    def is_production(self) -> bool:
        return self.image == production_base()


def production_base() -> str:
    """The ``BASE_IMAGE`` default pinned in images/ingest/Dockerfile (the report image pins the same)."""
    found = re.search(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "images" / "ingest" / "Dockerfile").read_text(), re.M)
    assert found, "images/ingest/Dockerfile has no `ARG BASE_IMAGE=...` line"
    return found.group(1)


def _run(*command: str, timeout: float) -> tuple[int, str]:
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(command[:2])} timed out after {timeout:.0f} s"
    return done.returncode, (done.stderr or done.stdout).strip()


def choose() -> Base:
    """The base to build on, and why it is that one (see the module's docstring)."""
    chosen = os.environ.get("DQ_TEST_BASE_IMAGE")
    if chosen:
        return Base(chosen, "DQ_TEST_BASE_IMAGE names it")
    production = production_base()
    if _run("docker", "image", "inspect", production, timeout=60)[0] == 0:
        return Base(production, "the production base, present in the engine")
    code, out = _run("docker", "pull", production, timeout=PULL_TIMEOUT)
    if code == 0:
        return Base(production, "the production base, pulled")
    last = out.splitlines()[-1] if out else f"exit status {code}"
    if not NO_REGISTRY.search(out):
        raise AssertionError(f"docker pull {production} failed, and not for want of a registry: {last}")
    return Base(LOCAL_BASE_IMAGE, f"the local base (scripts/build-base-image.sh): no registry answers ({last})")


def build_local(image: str) -> str:
    """Make the local base (cached by the script); its description, or LocalBaseUnavailableError saying why not."""
    code, out = _run(str(ROOT / "scripts" / "build-base-image.sh"), image, timeout=1200)
    if code != 0:
        lines = [ln for ln in out.splitlines() if ln.strip()]
        raise LocalBaseUnavailableError(f"local base unavailable: {lines[-1] if lines else f'exit status {code}'}")
    return _run("docker", "image", "inspect", "--format", "{{.Comment}}", image, timeout=60)[1]


class BaseImageNotice(UserWarning):
    """Which base the images were built on and why (a warning, so that it shows in the summary under xdist)."""
