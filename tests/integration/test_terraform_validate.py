"""`terraform validate` of every environment, in a temporary copy (offline with DQ_TF_PLUGIN_DIR).

What the variables' validations reject (an image by tag, a KMS alias...) is checked by the modules' own
`terraform test` files (tests/integration/test_terraform_modules.py), without an AWS call or an apply.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.terraform import copy_terraform, init_offline, run_terraform

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

ROOT = Path(__file__).resolve().parents[2]
ENVS = ["aws", "shared", "local"]  # aws: dev and prod, one root (test_terraform_envs.py plans both)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (install Terraform >= 1.5 to run the Terraform tests)")
    copy = tmp_path_factory.mktemp("validate") / "terraform"
    copy_terraform(copy)
    return copy


@pytest.mark.parametrize("env", ENVS)
def test_environment_validates(tree: Path, env: str) -> None:
    directory = tree / "envs" / env
    init_offline(directory)
    # The committed lock file was honoured, not rewritten: the mirror's package matches its recorded hash.
    assert (directory / ".terraform.lock.hcl").read_text() == (
        ROOT / "terraform" / "envs" / env / ".terraform.lock.hcl"
    ).read_text()
    done = run_terraform(directory, "validate", "-json", "-no-color")
    assert '"valid": true' in done.stdout, done.stdout + done.stderr


def test_terraform_fmt_is_clean() -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(ROOT / "terraform")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"terraform fmt would change:\n{done.stdout}"
