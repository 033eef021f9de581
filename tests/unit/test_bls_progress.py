"""The progress bar: rate and ETA on a terminal, log lines above it (never on its line), silent otherwise, and
tqdm imported only when the bar is shown (the ingest image does not install it)."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from typing import Any

import pytest

from dataquest import log
from dataquest.bls.progress import Progress
from dataquest.bls.sync import sync_surveys
from tests.unit.test_bls_sync import CFG, Source, keys, settings, source

pytestmark = pytest.mark.usefixtures("small_parts")

MiB = 1024 * 1024
BUCKET = "sync-bucket"  # the s3 fixture creates it; test_bls_sync's settings write to it
__all__ = ["source"]  # a fixture of test_bls_sync's, used here


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def visible(raw: str) -> list[str]:
    """The pieces of output a terminal shows on a line of its own: split at each newline and carriage return."""
    return [piece for piece in re.split(r"[\r\n]", raw) if piece.strip()]


def one_file(bar: Progress) -> None:
    """A survey of one file of a MiB, done."""
    bar.start("bls/pr", 1, MiB)
    bar.add_bytes(MiB)
    bar.file_done()
    bar.finish()


def test_the_bar_shows_bytes_files_rate_and_eta_on_a_terminal() -> None:
    out = Terminal()
    bar = Progress(True, out)
    bar.start("bls/pr", 2, 2 * MiB)
    bar.add_bytes(MiB)
    bar.file_done()
    bar.finish()
    last = visible(out.getvalue())[-1]
    assert last.startswith("bls/pr: ")
    assert "1.00M/2.00M" in last  # bytes, binary units
    assert "1/2 files" in last
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+[kMG]?B/s", last), last  # elapsed<ETA, rate


def test_a_log_line_while_the_bar_is_shown_lands_above_it_never_on_its_line() -> None:
    out = Terminal()
    log.setup("INFO", out, json_lines=False)  # the conftest restores the logger after the test
    bar = Progress(True, out)
    bar.start("bls/pr", 1, MiB)
    bar.add_bytes(MiB // 2)
    log.event(log.get("dataquest.bls.sync"), "sync error", level=logging.ERROR, key="bls/pr/x")
    bar.file_done()
    bar.finish()
    pieces = visible(out.getvalue())
    logged = [p for p in pieces if "sync error" in p]
    assert logged, out.getvalue()
    assert all("bls/pr:" not in p and "files" not in p for p in logged), pieces  # not on the bar's line
    assert "bls/pr/x" in logged[0]  # formatted as the terminal handler formats it
    handlers = logging.getLogger(log.LOGGER_NAME).handlers
    assert [type(h) for h in handlers] == [logging.StreamHandler]  # the logger's own handler is back


def test_disabled_the_bar_writes_nothing_and_leaves_the_log_handlers_alone() -> None:
    out = Terminal()
    log.setup("INFO", out, json_lines=False)  # the conftest restores the logger after the test
    before = list(logging.getLogger(log.LOGGER_NAME).handlers)
    one_file(Progress(False, out))
    assert out.getvalue() == ""
    assert logging.getLogger(log.LOGGER_NAME).handlers == before


def test_asked_for_on_a_stream_that_is_not_a_terminal_the_bar_stays_silent() -> None:
    piped = io.StringIO()  # isatty() is False: a pipe, a file, a CI log
    one_file(Progress(True, piped))
    assert piped.getvalue() == ""


def test_without_tqdm_the_sync_runs_and_the_bar_says_it_is_off(
    s3: Any, source: Source, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` raises ImportError, as in the ingest image
    with pytest.raises(ImportError):
        import tqdm  # noqa: F401
    quiet = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG)
    assert quiet.ok, quiet.errors
    assert keys(s3, "bls/pr/") == ["bls/pr/pr.class", "bls/pr/pr.series", "bls/pr/sub/deep.txt"]
    source.site.put("pr/new.txt", b"new")
    logging.getLogger(log.LOGGER_NAME).propagate = True  # let caplog see the warning
    monkeypatch.setattr(sys, "stderr", Terminal())  # the bar is asked for on a terminal
    with caplog.at_level(logging.WARNING, logger=log.LOGGER_NAME):
        asked = sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG, progress=True)
    assert asked.ok, asked.errors
    assert asked.uploaded == 1
    assert any("tqdm is not installed" in r.getMessage() for r in caplog.records)


def test_the_ingest_path_never_imports_tqdm() -> None:
    code = (
        "import io, sys\n"
        "import dataquest.handlers.ingest, dataquest.bls.sync\n"
        "from dataquest.bls.progress import Progress\n"
        "bar = Progress(False)\n"
        "bar.start('bls/pr', 1, 1); bar.add_bytes(1); bar.file_done(); bar.finish()\n"
        "assert 'tqdm' not in sys.modules, 'tqdm was imported'\n"
        "class Terminal(io.StringIO):\n"
        "    def isatty(self): return True\n"
        "Progress(True, Terminal()).start('bls/pr', 1, 1)\n"
        "assert 'tqdm' in sys.modules  # the check above can fail\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_the_transfer_threads_count_on_one_bar_without_losing_a_byte_or_a_file() -> None:
    import threading

    out = Terminal()
    bar = Progress(True, out)
    bar.start("bls/pr", 4 * 200, 4 * 200 * 1000)

    def stream() -> None:
        for _ in range(200):
            for _ in range(10):
                bar.add_bytes(100)
            bar.file_done()

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (bar._bar.n, bar.files_done) == (4 * 200 * 1000, 800)
    bar.finish()
    assert "800/800 files" in visible(out.getvalue())[-1]
