"""The command line's failure paths: every one ends in one line on stderr (and a document with --json), never a
traceback; log levels in any case; the last-resort guard; a missing extra named."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from dataquest import cli, log
from dataquest.errors import ConfigurationError, Interrupted
from tests.unit.test_report import DATA, POPULATION

BUCKET = "dq-cli-test"


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    data, pop = tmp_path / "pr.data.0.Current", tmp_path / "population.json"
    data.write_bytes(DATA)
    pop.write_bytes(POPULATION)
    return str(data), str(pop)


def one_error_line(err: str, command: str = "report") -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"dataquest {command}: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("raw", "level"),
    [("debug", 10), ("DEBUG", 10), ("Info", 20), (" warning ", 30), ("warn", 30), ("error", 40), ("10", 10), (20, 20)],
)
def test_log_levels_are_read_in_any_case(raw: str | int, level: int) -> None:
    assert log.parse_level(raw, "--log-level") == level


@pytest.mark.parametrize("raw", ["verbose", "", "100", "99", "-1", "1e3", "DEBUG\x00", "x" * 500, "\uff11\uff10"])
def test_a_bad_log_level_names_its_source(raw: str) -> None:
    with pytest.raises(ConfigurationError, match=r"DQ_LOG_LEVEL=.* is not a log level") as info:
        log.parse_level(raw, "DQ_LOG_LEVEL")
    assert len(str(info.value)) < 200


def test_lower_case_log_level_flag_works(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--log-level", "debug", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["best_years"]
    assert logging.getLogger("dataquest").level == logging.DEBUG


@pytest.mark.parametrize(("flag", "env"), [(["--log-level", "chatty"], None), ([], "chatty")])
def test_a_bad_log_level_is_one_line(
    files: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    env: str | None,
) -> None:
    data, pop = files
    if env is not None:
        monkeypatch.setenv("DQ_LOG_LEVEL", env)
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--json", *flag]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    source = "--log-level" if flag else "DQ_LOG_LEVEL"
    assert f"{source}='chatty' is not a log level" in one_error_line(captured.err)
    assert "is not a log level" in json.loads(captured.out)["error"]


def test_the_last_resort_guard_turns_a_bug_into_one_line_with_a_hint(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kw: Any) -> Any:
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr("dataquest.report.builder.report_from_files", broken)
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--json"]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert "unexpected ZeroDivisionError: division by zero second line" in line
    assert "rerun with --log-level DEBUG for the traceback" in line
    assert "unexpected ZeroDivisionError" in json.loads(captured.out)["error"]

    # with DEBUG, the traceback is in the log (stderr), and still one error line
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--log-level", "DEBUG"]) == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err
    assert "broken" in err  # the frame's name: the traceback is there


def test_a_missing_extra_is_named(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import dataquest.report

    for name in ("builder", "analysis"):  # as on an install without [report]: not imported yet, polars absent
        monkeypatch.delitem(sys.modules, f"dataquest.report.{name}", raising=False)
        monkeypatch.delattr(dataquest.report, name, raising=False)
    monkeypatch.setitem(sys.modules, "polars", None)
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop]) == cli.EXIT_USAGE
    line = one_error_line(capsys.readouterr().err)
    assert "needs polars" in line
    assert "pip install 'dataquest[report]'" in line


def test_an_interrupt_is_one_line_with_the_signal_and_the_summary_reached(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(args: Any, settings: Any) -> Any:
        exc = Interrupted("SIGTERM")
        exc.document = {"surveys": ["pr"], "uploaded": 2}
        raise exc

    parser = cli.build_parser
    monkeypatch.setattr(
        cli, "build_parser", lambda: _with_func(parser(), "sync-bls", interrupted)
    )  # the command itself is beside the point
    assert cli.main(["sync-bls", "--json"]) == 143
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "surveys": ["pr"],
        "uploaded": 2,
        "error": "interrupted by SIGTERM; in-flight uploads were aborted, the lease released and the trail written; "
        "run again to finish",
    }
    assert "interrupted by SIGTERM" in one_error_line(captured.err, "sync-bls")


def _with_func(parser: Any, command: str, func: Any) -> Any:
    for action in parser._subparsers._group_actions:
        action.choices[command].set_defaults(func=func)
    return parser


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start-year", "99999999999999999999"], "--start-year 99999999999999999999 is not a plausible year"),
        (["--end-year", "-3"], "--end-year -3 is not a plausible year"),
        (["--start-year", "2019", "--end-year", "2013"], "--start-year 2019 is after --end-year 2013"),
    ],
)
def test_implausible_years_are_usage_errors(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop, *args]) == cli.EXIT_USAGE
    assert says in one_error_line(capsys.readouterr().err)


def test_an_unknown_series_id_warns_that_it_matched_nothing(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--series-id", "NOPE", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["series_population"] == []
    warning = [line for line in captured.err.splitlines() if line.startswith("dataquest report: warning: ")]
    assert len(warning) == 1
    assert "--series-id NOPE with --period Q01 matched no row" in warning[0]


def test_the_known_series_id_does_not_warn(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    data, pop = files
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--json"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_out_that_is_a_file_is_one_line(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, pop = files
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert cli.main(["report", "--data-file", data, "--population-file", pop, "--out", str(blocker)]) == 2
    assert "cannot write the report files there" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "the file is empty"),
        (bytes(range(256)), "binary data (a NUL byte at offset 0)"),
        (b"\x1b[2J\xff\xfe garbage", "not UTF-8"),
    ],
)
def test_bad_data_files_are_one_printable_line(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str], body: bytes, says: str
) -> None:
    data, pop = files
    Path(data).write_bytes(body)
    assert cli.main(["report", "--data-file", data, "--population-file", pop]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert says in line
    assert line.isprintable()


def test_a_directory_as_data_file_says_it_is_a_directory(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _data, pop = files
    assert cli.main(["report", "--data-file", str(tmp_path), "--population-file", pop]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"--data-file {tmp_path} is a directory" in line
    assert "no such file" not in line


def test_error_text_is_made_printable_and_capped() -> None:
    assert cli._one_line("a\x1b[2Jb\x00c\n  d") == "a\\x1b[2Jb\\x00c d"
    assert len(cli._one_line("x" * 10_000)) == 2000


def test_help_lists_every_command_and_imports_no_polars() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom dataquest import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('polars' in sys.modules, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("sync-bls", "fetch-population", "ingest", "report", "verify", "run", "relay", "promote"):
        assert command in out
    assert out.strip().splitlines()[-1] == "False False"
