"""Fixtures shared by every test, and the rule that CI fails on a skip it did not allow."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The real data sample that ships with the tests (tests/data/README.md): what every test that needs real files reads.
# DQ_SHARED_DATA names a fuller copy of the same layout instead (e.g. ../shared/data, with pr.data.1.AllData): an
# extra, never a condition.
SAMPLE_DATA = ROOT / "tests" / "data"
EVENTS = Path(__file__).resolve().parent / "events"

# The in-process moto servers' request lines would drown a failing test's own output.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real BLS pr files and DataUSA response: tests/data (in the repository), or what DQ_SHARED_DATA names."""
    folder = Path(os.environ.get("DQ_SHARED_DATA") or SAMPLE_DATA)
    needed = [folder / "bls-pr-2025-09" / "pr.data.0.Current", folder / "population" / "acs1-nation.tesseract.json"]
    missing = [str(p) for p in needed if not p.is_file()]
    assert not missing, f"the real data sample is incomplete: {', '.join(missing)} missing (see tests/data/README.md)"
    return folder


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """log.setup() (the CLI, the handlers) points the dataquest logger at one test's stream: give the next test
    the handlers, level and propagation it had."""
    logger = logging.getLogger("dataquest")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(logger, "propagate", logger.propagate)


@pytest.fixture(scope="session")
def _lakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One folder per test, numbered, under one temporary folder of the session."""
    parent = tmp_path_factory.mktemp("lakes")
    return (parent / str(n) for n in itertools.count())


@pytest.fixture(autouse=True)
def _lake_outside_the_repository(monkeypatch: pytest.MonkeyPatch, _lakes: Iterator[Path]) -> None:
    """The local lake's default folder is ./lake: a test that runs `dataquest run` or `query` in the repository
    writes it in a temporary folder instead (a test that wants its own sets DQ_LAKE_DIR over this). The folder is
    not made: the lake makes it when it writes (as it makes ./lake), so the tests that never write one leave no
    folder behind (a folder per test was ~1,000 folders a run, and pytest's removal of an old run took seconds)."""
    monkeypatch.setenv("DQ_LAKE_DIR", str(next(_lakes)))


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so that no test can reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


# --- parallel runs (pytest-xdist, `make test`) ----------------------------------------------------------------
# `make test` runs `-n 6 --dist loadfile`: a module's tests stay on one worker, in order, so a module-scoped fixture
# (one Terraform apply per module) runs once. Across modules tests share nothing (fresh buckets and queues,
# tmp_path, ports from the OS), except the Docker images that two modules use under the same tags: the `images`
# fixture builds them once per run under a file lock (tests/integration/test_docker_images.py). The slow modules
# start first, and a few modules are one unit per test (tests/support/schedule.py). (--dist loadgroup would group
# by marker, but pytest-xdist 3.8 cannot set a group on pytest 9's node ids: it silently spreads every test.)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` as tests/support/schedule.py refines it; any other mode as pytest-xdist has it."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.support.schedule import LongestFirstScheduling

    return LongestFirstScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each worker the controller's ``--dist`` (a worker's own option says "no")."""
    node.workerinput["dq_dist"] = node.config.getvalue("dist")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadfile`` every worker orders its collection alike: the slowest kinds of module first."""
    if getattr(config, "workerinput", {}).get("dq_dist") == "loadfile":
        from tests.support.schedule import longest_first

        longest_first(items)


# --- CI: a skipped test fails the run unless its reason is one .ci/run allowed -------------------------------
# Under xdist the workers' reports reach the controller's pytest_runtest_logreport, and the controller's
# pytest_sessionfinish decides; a worker only runs tests and counts nothing.
_skipped: list[tuple[str, str]] = []


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        longrepr = report.longrepr
        reason = str(longrepr[-1]) if isinstance(longrepr, tuple | list) else str(longrepr)
        _skipped.append((report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("DQ_STRICT_SKIPS") != "1" or _is_worker(session.config):
        return
    allowed = [p for p in os.environ.get("DQ_ALLOWED_SKIPS", "").split("|") if p]
    bad = [(node, why) for node, why in _skipped if not any(p in why for p in allowed)]
    if bad:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"DQ_STRICT_SKIPS: {len(bad)} test(s) skipped that CI can run:"]
        lines += [f"  {node}: {why}" for node, why in bad]
        if tr is not None:
            tr.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def site() -> Iterator[Any]:
    """The BLS and DataUSA stand-in, a ``tests.support.bls_site.BlsSite`` on a port of its own, serving nothing yet:
    the test, or its module's ``site`` fixture that takes this one, puts the files."""
    from tests.support.bls_site import BlsSite

    with BlsSite() as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the session; tests isolate themselves by using fresh bucket/queue names."""
    from tests.support.aws import moto_server

    with moto_server() as endpoint:
        yield endpoint
