"""The modules' README tables are what scripts/tf_docs.py generates from variables.tf and outputs.tf (make fmt)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT
from tests.support.scripts import load_script


def tf_docs() -> ModuleType:
    return load_script("tf_docs")


def test_every_module_readme_table_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert tf_docs().main(["--check"]) == 0, capsys.readouterr().err


def test_a_stale_table_is_named_and_make_fmt_rewrites_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tf_docs()
    modules = tmp_path / "modules"
    shutil.copytree(ROOT / "terraform" / "modules" / "bucket", modules / "bucket")
    variables = modules / "bucket" / "variables.tf"
    variables.write_text(variables.read_text().replace("Days after which a noncurrent", "Days until a noncurrent"))
    variables.write_text(variables.read_text() + 'variable "added" {\n  description = "New <x>."\n  type = number\n}\n')

    assert docs.main(["--check", "--modules", str(modules)]) == 1
    assert "bucket/README.md is stale: run make fmt" in capsys.readouterr().err
    assert docs.main(["--modules", str(modules)]) == 0
    readme = (modules / "bucket" / "README.md").read_text()
    assert "| `noncurrent_version_expiration_days` | `number` | `90` | Days until a noncurrent" in readme
    assert "| `added` | `number` | required | New &lt;x&gt;. |" in readme
    assert "| `bucket_arn` | ARN of the bucket. |" in readme
    assert docs.main(["--check", "--modules", str(modules)]) == 0


def test_a_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    shutil.copytree(ROOT / "terraform" / "modules" / "ecr", modules / "ecr")
    (modules / "ecr" / "README.md").write_text("# ecr\n")
    with pytest.raises(SystemExit, match="has no"):
        tf_docs().main(["--check", "--modules", str(modules)])
