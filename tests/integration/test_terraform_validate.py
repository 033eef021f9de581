"""`terraform validate` of every environment, in a temporary copy (offline with DQ_TF_PLUGIN_DIR)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

ROOT = Path(__file__).resolve().parents[2]
ENVS = ["dev", "prod", "shared", "local"]
NO_REGISTRY = re.compile(r"registry\.terraform\.io|Failed to query available provider packages|could not connect")


def _terraform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (install Terraform >= 1.5 to run the Terraform tests)")
    copy = tmp_path_factory.mktemp("validate") / "terraform"
    shutil.copytree(ROOT / "terraform", copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfvars*"))
    return copy


@pytest.mark.parametrize("env", ENVS)
def test_environment_validates(tree: Path, env: str) -> None:
    directory = tree / "envs" / env
    plugin_dir = os.environ.get("DQ_TF_PLUGIN_DIR")
    init = _terraform(
        directory,
        "init",
        "-backend=false",
        "-input=false",
        "-no-color",
        *([f"-plugin-dir={plugin_dir}"] * bool(plugin_dir)),
    )
    if init.returncode != 0 and not plugin_dir and NO_REGISTRY.search(init.stdout + init.stderr):
        pytest.skip("no hashicorp/aws provider available: DQ_TF_PLUGIN_DIR is unset and the registry is unreachable")
    assert init.returncode == 0, init.stdout + init.stderr
    # The committed lock file was honoured, not rewritten: the mirror's package matches its recorded hash.
    assert (directory / ".terraform.lock.hcl").read_text() == (
        ROOT / "terraform" / "envs" / env / ".terraform.lock.hcl"
    ).read_text()
    done = _terraform(directory, "validate", "-json", "-no-color")
    assert '"valid": true' in done.stdout, done.stdout + done.stderr


def test_validate_rejects_an_image_given_by_tag(tree: Path) -> None:
    """The digest rule is enforced by Terraform itself, before any AWS call."""
    directory = tree / "envs" / "dev"
    # Nothing may reach AWS: a provider pointed at a closed port, without retries or account lookups.
    (directory / "offline_override.tf").write_text(
        'provider "aws" {\n  access_key = "x"\n  secret_key = "x"\n  max_retries = 0\n'
        "  skip_credentials_validation = true\n  skip_requesting_account_id = true\n  skip_metadata_api_check = true\n"
        '  endpoints {\n    sts = "http://127.0.0.1:9"\n  }\n}\n'
    )
    plugin_dir = os.environ.get("DQ_TF_PLUGIN_DIR")
    init = _terraform(
        directory, "init", "-backend=false", "-input=false", *([f"-plugin-dir={plugin_dir}"] * bool(plugin_dir))
    )
    if init.returncode != 0 and not plugin_dir and NO_REGISTRY.search(init.stdout + init.stderr):
        pytest.skip("no hashicorp/aws provider available: DQ_TF_PLUGIN_DIR is unset and the registry is unreachable")
    done = _terraform(
        directory,
        "plan",
        "-input=false",
        "-no-color",
        "-var=contact_email=dq@example.com",
        "-var=ingest_image_uri=123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/ingest:latest",
        f"-var=report_image_uri=123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/report@sha256:{'a' * 64}",
    )
    assert done.returncode == 1
    assert "ingest_image_uri must reference the image by digest" in done.stderr
    assert "report_image_uri" not in done.stderr
