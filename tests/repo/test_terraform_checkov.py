"""checkov's inline skips name a check and give a reason (checkov itself runs in
tests/integration/test_terraform_checkov.py and `make checkov`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP = re.compile(r"#checkov:skip=(CKV2?_AWS_\d+)(:?)(.*)")


def test_every_inline_skip_names_a_check_and_gives_a_reason() -> None:
    skips = [
        (path, match)
        for path in (ROOT / "terraform").rglob("*.tf")
        if ".terraform" not in path.parts
        for match in SKIP.finditer(path.read_text())
    ]
    assert skips, "no inline skips found: the pattern no longer matches the files"
    for path, match in skips:
        assert match.group(2) == ":", f"{path}: {match.group(0)} has no reason"
        assert len(match.group(3).strip()) >= 20, f"{path}: {match.group(0)}: say why in a sentence"
