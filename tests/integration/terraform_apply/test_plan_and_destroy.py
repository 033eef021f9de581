"""The package's last module (conftest.py's ORDER): a second plan shows no drift, then the destroy removes every
resource of the three environments; the fixture's teardown destroys what a stopped run left."""

from __future__ import annotations

import time

import pytest

from tests.integration.terraform_apply.deployment import Applied
from tests.support.aws import client
from tests.support.terraform import require_success, run_all

pytestmark = [pytest.mark.integration, pytest.mark.terraform]


def test_plan_after_apply_shows_no_changes(applied: Applied) -> None:
    started = time.monotonic()
    results = run_all(applied.all, "plan", "-detailed-exitcode", "-input=false")
    applied.timings["plan"] = time.monotonic() - started
    drifted = {name: out[-4000:] for name, (rc, out) in results.items() if rc != 0}
    assert not drifted, "plan after apply is not empty (exit 2 = changes, 1 = error):\n" + "\n".join(drifted.values())


def test_destroy_removes_everything(applied: Applied) -> None:
    started = time.monotonic()
    require_success(run_all(applied.all, "destroy", "-auto-approve", "-input=false"), "destroy")
    applied.timings["destroy"] = time.monotonic() - started
    for deployment in applied.all:
        deployment.destroyed = True
        assert deployment.state().get("values") is None, f"envs/{deployment.name} still has resources in state"
    assert client("s3", applied.dev.endpoint).list_buckets()["Buckets"] == []
    assert client("lambda", applied.dev.endpoint).list_functions()["Functions"] == []
    assert client("sqs", applied.local.endpoint).list_queues().get("QueueUrls", []) == []
    assert client("ecr", applied.shared.endpoint).describe_repositories()["repositories"] == []
