"""State made before the report queue was named as such moves; nothing is replaced.

``envs/local`` as it was at BEFORE (``module "queue"`` owning the bucket's notification) is applied to a moto server;
the current ``envs/local`` (``module "report_queue"``, the notification in ``module "notifications"``) is then
planned over that state. The ``moved`` blocks must turn every former address into its new one with no create, no
delete: ``modules/pipeline`` carries the same blocks for dev and prod.

Likewise for the lake's feed: ``envs/local`` as it was at BEFORE_FEED (the EventBridge rule, queue policy and target
inline) is applied, and the current one (``module "lake_feed"``) planned over it: moved, nothing destroyed.
``modules/lake`` carries the same three blocks for dev and prod: dev (``envs/aws``) as it was at BEFORE_FEED is
applied too, and the current dev planned over it, which also shows what else that upgrade replaces or removes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import moto_process
from tests.support.terraform import (
    DEV_VARS,
    LAYOUT,
    ROOT,
    Deployment,
    copy_env,
    copy_terraform,
    init,
    override,
    require_terraform,
)

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

BEFORE = "56886a2"  # the last commit with module "queue" and its notification
BEFORE_FEED = "2fdedf3"  # the last commit with the lake's rule, queue policy and target inline in envs/local
LAKE_SQL_DIR = "src/dataquest/lake/sql"  # the named queries modules/lake reads


def tree_at(commit: str, destination: Path) -> Path:
    """terraform/ and what it reads of the package (the layout file, the lake's SQL) as they were at ``commit``,
    under ``destination``."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the former configuration comes from the history")
    had_lake = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}:{LAKE_SQL_DIR}"], cwd=ROOT, capture_output=True, check=False
    )
    paths = ["terraform", str(LAYOUT.relative_to(ROOT)), *([LAKE_SQL_DIR] if had_lake.returncode == 0 else [])]
    done = subprocess.run(
        ["git", "archive", "--format=tar", commit, *paths],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"commit {commit} is not in this clone (shallow?): {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(destination, filter="data")
    return destination / "terraform"


def plan_over_state_of(commit: str, tmp_path: Path, former_address: str) -> list[dict[str, Any]]:
    """Apply envs/local as it was at ``commit`` to a moto server, plan the current envs/local over that state."""
    require_terraform()
    if not os.environ.get("DQ_TF_PLUGIN_DIR"):
        pytest.skip("DQ_TF_PLUGIN_DIR is unset: these runs init from a provider mirror (no registry here)")
    before = tree_at(commit, tmp_path / "before") / "envs" / "local"
    after = copy_terraform(tmp_path / "after" / "terraform") / "envs" / "local"
    with moto_process() as endpoint:
        args = [f"-var=aws_endpoint_url={endpoint}"]
        old = Deployment("local-before", before, endpoint, args)
        init(old)
        proc, log = old.start("apply", "-auto-approve", "-input=false")
        assert proc.wait() == 0, log.read_text()[-4000:]
        assert former_address in old.run("state", "list").stdout

        shutil.copy2(before / "terraform.tfstate", after / "terraform.tfstate")
        new = Deployment("local", after, endpoint, args)
        init(new)
        proc, log = new.start("plan", "-input=false", "-out=moves.tfplan")
        assert proc.wait() == 0, log.read_text()[-4000:]
        shown = new.run("show", "-json", "moves.tfplan")
        assert shown.returncode == 0, shown.stderr
        changes: list[dict[str, Any]] = json.loads(shown.stdout)["resource_changes"]
    return changes


def test_the_former_report_queue_and_notification_move_without_replacement(tmp_path: Path) -> None:
    changes = plan_over_state_of(BEFORE, tmp_path, "module.queue.aws_s3_bucket_notification.this[0]")

    actions = {c["address"]: c["change"]["actions"] for c in changes if c["change"]["actions"] != ["no-op"]}
    # What came after the rename: the lake's queue and EventBridge rule are new (created, nothing else), and the
    # bucket's notification gains EventBridge delivery in place. Nothing of the renamed resources is replaced.
    added = {a: acts for a, acts in actions.items() if "lake" in a}
    assert all(acts in (["create"], ["read"]) for acts in added.values()), added
    [notification] = [c for c in changes if c["address"] == "module.notifications.aws_s3_bucket_notification.this"]
    before_, after_ = notification["change"]["before"], notification["change"]["after"]
    assert notification["change"]["actions"] == ["update"]
    assert (before_["eventbridge"], after_["eventbridge"]) == (False, True)
    assert {k: v for k, v in before_.items() if k != "eventbridge"} == {
        k: v for k, v in after_.items() if k != "eventbridge"
    }, "the notification's queue entries must not change"
    rest = {a: acts for a, acts in actions.items() if a not in added and a != notification["address"]}
    assert not rest, f"the rename must not create, replace or delete anything: {rest}"
    moved = {c["previous_address"]: c["address"] for c in changes if "previous_address" in c}
    assert moved["module.queue.aws_sqs_queue.this"] == "module.report_queue.aws_sqs_queue.this"
    assert moved["module.queue.aws_s3_bucket_notification.this[0]"] == (
        "module.notifications.aws_s3_bucket_notification.this"
    )


def test_the_former_inline_lake_feed_moves_into_modules_lake_feed_without_replacement(tmp_path: Path) -> None:
    changes = plan_over_state_of(BEFORE_FEED, tmp_path, "aws_cloudwatch_event_rule.lake")

    moved = {c["previous_address"]: c["address"] for c in changes if "previous_address" in c}
    assert moved == {
        "aws_cloudwatch_event_rule.lake": "module.lake_feed.aws_cloudwatch_event_rule.this",
        "aws_sqs_queue_policy.lake": "module.lake_feed.aws_sqs_queue_policy.this",
        "aws_cloudwatch_event_target.lake": "module.lake_feed.aws_cloudwatch_event_target.this",
    }
    actions = {c["address"]: c["change"]["actions"] for c in changes if c["change"]["actions"] != ["no-op"]}
    # The rule's description now names the bucket as modules/lake's does: an update in place, its pattern unchanged.
    # Plain moto (not tests/support/moto_lake.py's server) reads the bucket's EventBridge delivery back as off, so the
    # notification turns it on again: its queue entries unchanged. Nothing is created, replaced or deleted.
    notification = "module.notifications.aws_s3_bucket_notification.this"
    assert actions == {"module.lake_feed.aws_cloudwatch_event_rule.this": ["update"], notification: ["update"]}
    [change] = [c["change"] for c in changes if c["address"] == notification]
    assert change["before"]["queue"] == change["after"]["queue"]
    [rule] = [c for c in changes if c["address"] == "module.lake_feed.aws_cloudwatch_event_rule.this"]
    assert rule["change"]["before"]["event_pattern"] == rule["change"]["after"]["event_pattern"]
    assert rule["change"]["before"]["name"] == rule["change"]["after"]["name"] == "dataquest-local-lake"


def plan_dev_over_state_of(commit: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Apply dev (``envs/aws``) as it was at ``commit`` to a moto server, plan the current dev over that state."""
    require_terraform()
    if not os.environ.get("DQ_TF_PLUGIN_DIR"):
        pytest.skip("DQ_TF_PLUGIN_DIR is unset: these runs init from a provider mirror (no registry here)")
    before = tree_at(commit, tmp_path / "before") / "envs" / "aws"
    # moto_lake: the Athena workgroup's tags and the functions' LoggingConfig, as AWS answers them.
    with moto_process(module="tests.support.moto_lake", env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as endpoint:
        (before / "moto_override.tf").write_text(override(endpoint))
        old = Deployment(
            "dev-before",
            before,
            endpoint,
            ["-var-file=dev.tfvars", *DEV_VARS],
            env={"TF_DATA_DIR": str(before / ".terraform-dev")},
            init_args=["-backend-config=dev.local.tfbackend"],
        )
        init(old)
        proc, log = old.start("apply", "-auto-approve", "-input=false")
        assert proc.wait() == 0, log.read_text()[-4000:]
        assert "module.lake.aws_cloudwatch_event_rule.this" in old.run("state", "list").stdout

        new = copy_env(tmp_path / "after", "dev", endpoint, DEV_VARS, True)
        shutil.copy2(before / "dev.tfstate", new.directory / "dev.tfstate")
        init(new)
        proc, log = new.start("plan", "-input=false", "-out=moves.tfplan")
        assert proc.wait() == 0, log.read_text()[-4000:]
        shown = new.run("show", "-json", "moves.tfplan")
        assert shown.returncode == 0, shown.stderr
        changes: list[dict[str, Any]] = json.loads(shown.stdout)["resource_changes"]
    return changes


def test_devs_lake_feed_moves_into_modules_lake_feed_and_only_the_renamed_go(tmp_path: Path) -> None:
    changes = plan_dev_over_state_of(BEFORE_FEED, tmp_path)

    moved = {c["previous_address"]: c["address"] for c in changes if "previous_address" in c}
    feed = {
        f"module.lake.{kind}.this": f"module.lake.module.feed.{kind}.this"
        for kind in ("aws_cloudwatch_event_rule", "aws_sqs_queue_policy", "aws_cloudwatch_event_target")
    }
    assert moved == feed
    actions = {c["address"]: c["change"]["actions"] for c in changes if c["change"]["actions"] != ["no-op"]}
    # The feed moves untouched. What else the upgrade does, and nothing more: the lake's two alarms go to the
    # pipeline's alarms (renamed, with throttles and a backlog added), the dashboard gains the lake, and the analyst
    # policy is replaced for its new name (the region in it: its ARN changes, so re-attach it where you had).
    alarms = "module.pipeline.module.alarms.aws_cloudwatch_metric_alarm"
    assert actions == {
        "module.lake.aws_cloudwatch_metric_alarm.dead_letters": ["delete"],
        "module.lake.aws_cloudwatch_metric_alarm.errors": ["delete"],
        "module.lake.aws_iam_policy.analyst": ["delete", "create"],
        f'{alarms}.queue_age["lake-queue"]': ["create"],
        f'{alarms}.this["lake-errors"]': ["create"],
        f'{alarms}.this["lake-queue-dead-letters"]': ["create"],
        f'{alarms}.this["lake-throttles"]': ["create"],
        "module.pipeline.module.dashboard.aws_cloudwatch_dashboard.this": ["update"],
    }
