"""polars' allocator options: importing dataquest sets the default (freed memory returned after 10 ms), and a
value already in the environment wins. Checked in fresh interpreters, as polars reads it once, at import."""

from __future__ import annotations

import os
import subprocess
import sys

import dataquest

SHOW = "import dataquest, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"


def _conf_after_import(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    done = subprocess.run(
        [sys.executable, "-c", SHOW], env={**clean, **env}, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_polars_starts_with_dataquests_allocator_options() -> None:
    # polars puts its own defaults first and appends the environment's value: the last option of a name wins.
    assert _conf_after_import().endswith("," + dataquest.POLARS_ALLOCATOR)


def test_a_value_in_the_environment_wins() -> None:
    conf = _conf_after_import(_RJEM_MALLOC_CONF="dirty_decay_ms:1000")
    assert conf.endswith(",dirty_decay_ms:1000")
    assert dataquest.POLARS_ALLOCATOR not in conf
