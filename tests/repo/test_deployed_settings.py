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
from tests.support.hcl import blocks, load, locals_of

# dev and prod are one root (terraform/envs/aws): its literals are both environments' values.
AWS_ROOT = ROOT / "terraform" / "envs" / "aws" / "main.tf"


def _pipeline_setting(name: str) -> Any:
    """What envs/aws passes modules/pipeline as ``name`` (a literal: both environments' value)."""
    arguments = blocks(load(AWS_ROOT), "module")["pipeline"]
    assert name in arguments, f"terraform/envs/aws/main.tf passes the pipeline no {name}"
    return arguments[name]


def test_the_report_timeout_is_the_one_terraform_deploys() -> None:
    assert _pipeline_setting("report_timeout") == REPORT_FUNCTION_TIMEOUT
    queue = locals_of(load(ROOT / "terraform" / "modules" / "queue" / "main.tf"))
    assert queue["visibility_timeout_seconds"].startswith("${6 * var.consumer_timeout_seconds")


def test_the_transfer_timeout_is_the_one_terraform_deploys() -> None:
    assert _pipeline_setting("transfer_timeout") == TRANSFER_FUNCTION_TIMEOUT


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
