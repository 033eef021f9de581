"""``terraform test`` of every module that has ``tests/*.tftest.hcl``: a mock AWS provider, no account, no emulator.

What a module decides from its configuration alone (names, wiring, validation, lifecycle rules, alarm settings) is
checked there, in seconds; what only a real apply proves stays in terraform_apply/. Each module runs in a
temporary copy of terraform/ (xdist-safe: nothing shared but the provider mirror, read-only).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.terraform import TERRAFORM_DIR, copy_terraform, init_offline, require_terraform, run_terraform

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

MODULES = sorted(p.parent.parent.name for p in (TERRAFORM_DIR / "modules").glob("*/tests/*.tftest.hcl"))
RESULT = re.compile(r"(Success|Failure)! (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\.")


def test_every_module_has_terraform_tests() -> None:
    assert sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir()) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module(module: str, tmp_path: Path) -> None:
    require_terraform()
    copy = tmp_path / "terraform"
    copy_terraform(copy)
    directory = copy / "modules" / module
    init_offline(directory)

    done = run_terraform(directory, "test", "-no-color")
    output = done.stdout + done.stderr
    result = RESULT.search(output)
    assert result, f"terraform test printed no result:\n{output[-4000:]}"
    runs = sum(
        len(re.findall(r'^run "', path.read_text(), flags=re.MULTILINE))
        for path in (directory / "tests").glob("*.tftest.hcl")
    )
    passed, failed, skipped = (int(g or 0) for g in result.group(2, 3, 4))
    assert (passed, failed, skipped) == (runs, 0, 0), output[-6000:]
    assert done.returncode == 0, output[-6000:]
