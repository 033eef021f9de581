"""The settings the package assumes are the ones the repository deploys and builds with: the functions' timeouts
as Terraform sets them, and the architecture `make images` builds for as promote checks it. They import the package
and read terraform/ and the Makefile, so they live here rather than in tests/unit (make test-unit: the package)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from dataquest.config import REPORT_FUNCTION_TIMEOUT, TRANSFER_FUNCTION_TIMEOUT
from dataquest.ops import promote
from tests.conftest import ROOT

# dev and prod are one root (terraform/envs/aws): its literals are both environments' values.
AWS_ROOT = ROOT / "terraform" / "envs" / "aws" / "main.tf"


def test_the_report_timeout_is_the_one_terraform_deploys() -> None:
    found: Any = re.search(r"^\s*report_timeout\s*=\s*(\d+)", AWS_ROOT.read_text(), re.MULTILINE)
    assert found, "terraform/envs/aws/main.tf sets no report_timeout"
    assert int(found.group(1)) == REPORT_FUNCTION_TIMEOUT
    queue_tf = (ROOT / "terraform" / "modules" / "queue" / "main.tf").read_text()
    assert "visibility_timeout_seconds = 6 * var.consumer_timeout_seconds" in queue_tf


def test_the_transfer_timeout_is_the_one_terraform_deploys() -> None:
    found: Any = re.search(r"^\s*transfer_timeout\s*=\s*(\d+)", AWS_ROOT.read_text(), re.MULTILINE)
    assert found, "terraform/envs/aws/main.tf sets no transfer_timeout"
    assert int(found.group(1)) == TRANSFER_FUNCTION_TIMEOUT


def test_the_makefile_builds_for_the_architecture_promote_checks() -> None:
    """make images --platform and promote's check read one name: ARCH=x86_64|arm64 -> linux/amd64|linux/arm64."""
    for arch, platform in (("x86_64", "linux/amd64"), ("arm64", "linux/arm64")):
        dry = subprocess.run(
            ["make", "-n", "images", f"ARCH={arch}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        assert f"--platform {platform} " in dry
        assert promote.IMAGE_ARCHITECTURES[arch] == platform.removeprefix("linux/")
        promote_dry = subprocess.run(
            ["make", "-n", "promote", f"ARCH={arch}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        assert f"--architecture {arch}" in promote_dry


def test_the_makefile_builds_single_platform_images_without_attestations() -> None:
    """Where buildx builds (whether this machine has it or not), it adds no provenance or SBOM attestation."""
    [line] = [x for x in (ROOT / "Makefile").read_text().splitlines() if x.startswith("DOCKER_BUILD = ")]
    buildx = re.search(r"docker buildx build [^,]*", line)
    assert buildx, line
    assert {"--provenance=false", "--sbom=false"} <= set(buildx.group(0).split())
