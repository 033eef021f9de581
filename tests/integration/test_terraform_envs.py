"""dev and prod are one root, ``terraform/envs/aws``: `make tf-plan ENV=dev|prod` plans each from it with its own
variable files, backend settings and TF_DATA_DIR, against a moto server (plans only: test_terraform_apply.py applies
dev). The Makefile runs as a user runs it, on a temporary copy of terraform/ (``TF_ROOT_DIR``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import moto_process
from tests.support.terraform import (
    INGEST_IMAGE,
    REPORT_IMAGE,
    ROOT,
    copy_terraform,
    override,
    require_terraform,
    terraform_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

DEPLOYMENT = {
    "dev": {"contact_email": "dev@example.com"},
    "prod": {"contact_email": "prod@example.com", "alarm_email": "oncall@example.com"},
}


def local_tfvars(values: dict[str, str]) -> str:
    values = {"ingest_image_uri": INGEST_IMAGE, "report_image_uri": REPORT_IMAGE, **values}
    return "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())


@dataclass
class Roots:
    envs: Path  # TF_ROOT_DIR: the copy's terraform/envs
    plans: dict[str, dict[str, Any]]

    def make(self, env: str, *args: str) -> subprocess.Popen[str]:
        plugins = os.environ.get("DQ_TF_PLUGIN_DIR")
        return subprocess.Popen(
            ["make", "--no-print-directory", "tf-plan", f"ENV={env}", f"TF_ROOT_DIR={self.envs}", *args],
            cwd=ROOT,
            env={k: v for k, v in terraform_env().items() if k not in {"ENV", "MAKEFLAGS", "MAKELEVEL"}}
            | ({"DQ_TF_PLUGIN_DIR": plugins} if plugins else {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def show(self, env: str) -> dict[str, Any]:
        done = subprocess.run(
            ["terraform", "show", "-json", f"{env}.tfplan"],
            cwd=self.envs / "aws",
            env=terraform_env({"TF_DATA_DIR": str(self.envs / "aws" / f".terraform-{env}")}),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roots]:
    require_terraform()
    if not os.environ.get("DQ_TF_PLUGIN_DIR"):
        pytest.skip("DQ_TF_PLUGIN_DIR is unset: these plans init from a provider mirror (no registry here)")
    envs = copy_terraform(tmp_path_factory.mktemp("envs") / "terraform") / "envs"
    with moto_process() as endpoint:
        (envs / "aws" / "moto_override.tf").write_text(override(endpoint))
        for env, values in DEPLOYMENT.items():
            (envs / "aws" / f"{env}.local.tfvars").write_text(local_tfvars(values))
        result = Roots(envs, {})
        started = {env: result.make(env, f"TF_ARGS=-out={env}.tfplan") for env in DEPLOYMENT}
        for env, proc in started.items():
            output, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"make tf-plan ENV={env} failed:\n{output[-4000:]}"
            result.plans[env] = result.show(env)
        yield result


def resources(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """address -> planned values of every resource in the plan."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources", []):
            found[resource["address"]] = resource.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"]["root_module"])
    return found


def test_dev_and_prod_plan_the_same_resources_from_one_root(roots: Roots) -> None:
    dev, prod = (resources(roots.plans[env]) for env in ("dev", "prod"))
    # Prod subscribes its alarm e-mail; otherwise the same addresses.
    assert set(prod) - set(dev) == {"module.pipeline.module.alarms.aws_sns_topic_subscription.email[0]"}
    assert set(dev) <= set(prod)
    assert len(dev) > 40


def test_each_environment_plans_with_its_own_values(roots: Roots) -> None:
    for env, other in [("dev", "prod"), ("prod", "dev")]:
        planned = resources(roots.plans[env])
        function = planned["module.pipeline.module.ingest.aws_lambda_function.this"]
        assert function["function_name"] == f"dataquest-{env}-ingest"
        # The deployment's own values came from <env>.local.tfvars.
        assert roots.plans[env]["variables"]["contact_email"]["value"] == DEPLOYMENT[env]["contact_email"]
        bucket = planned["module.pipeline.module.bucket.aws_s3_bucket.this"]["bucket"]
        assert bucket == f"dataquest-{env}-123456789012-us-east-1"
        assert function["tags_all"]["Environment"] == env
        assert not [v for v in planned.values() if f"dataquest-{other}-" in json.dumps(v)], f"{env} names {other}"
    schedules = {
        env: resources(plan)["module.pipeline.module.schedule.aws_scheduler_schedule.this"]["schedule_expression"]
        for env, plan in roots.plans.items()
    }
    assert schedules == {"dev": "cron(0 6 * * ? *)", "prod": "cron(0 9 * * ? *)"}
    email = resources(roots.plans["prod"])["module.pipeline.module.alarms.aws_sns_topic_subscription.email[0]"]
    assert email["endpoint"] == "oncall@example.com"


def test_each_environment_has_its_own_data_dir_and_state_file(roots: Roots) -> None:
    for env in ("dev", "prod"):
        backend = json.loads((roots.envs / "aws" / f".terraform-{env}" / "terraform.tfstate").read_text())["backend"]
        assert (backend["type"], backend["config"]["path"]) == ("local", f"{env}.tfstate")
    assert not (roots.envs / "aws" / ".terraform").exists(), "no environment used the shared default data dir"


def test_prod_refuses_a_plan_without_an_alarm_email(roots: Roots) -> None:
    (roots.envs / "aws" / "prod.local.tfvars").write_text(local_tfvars({"contact_email": "prod@example.com"}))
    proc = roots.make("prod")
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode != 0
    assert "alarm_email is required in this environment" in " ".join(output.split())


def test_a_values_file_terraform_loads_for_both_environments_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aws").mkdir()
    (tmp_path / "aws" / "terraform.tfvars").write_text('contact_email = "x@example.com"\n')
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "tf-plan", "ENV=prod", f"TF_ROOT_DIR={tmp_path}"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in {"ENV", "MAKEFLAGS", "MAKELEVEL"}},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "Terraform loads these in dev and prod alike; move the values to" in done.stderr
    assert "prod.local.tfvars" in done.stderr
