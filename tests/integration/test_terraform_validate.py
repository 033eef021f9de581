"""`terraform validate` of every environment, in a temporary copy (offline with DQ_TF_PLUGIN_DIR).

What the variables' validations reject (an image by tag, a KMS alias...) is checked by the modules' own
`terraform test` files (tests/integration/test_terraform_modules.py), without an AWS call or an apply.
"""

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
