"""Terraform environments applied to moto: a temporary copy of ``terraform/`` per environment, bound to one moto
endpoint by a ``moto_override.tf`` written into the copy only (as ``tflocal`` does), never into the repository.

Used by tests/integration/terraform_apply/ (the apply and its least-privilege tests) and test_terraform_modules.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
LAYOUT = ROOT / "src" / "dataquest" / "layout.json"
LAKE_SQL = ROOT / "src" / "dataquest" / "lake" / "sql"
ACCOUNT = "123456789012"
REGION = "us-east-1"
INGEST_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dataquest/ingest@sha256:{'1' * 64}"
REPORT_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dataquest/report@sha256:{'2' * 64}"
SERVICES = [
    "athena",
    "cloudwatch",
    "ec2",
    "ecr",
    "events",
    "glue",
    "iam",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "sts",
]
DEV_BUCKET = f"dataquest-dev-{ACCOUNT}-{REGION}"
# dev and prod are one root, envs/aws, each with its variable file, its backend settings and its own TF_DATA_DIR.
AWS_ENVS = ("dev", "prod")
DEV_VARS = [
    "-var=contact_email=dq-tests@example.com",
    f"-var=ingest_image_uri={INGEST_IMAGE}",
    f"-var=report_image_uri={REPORT_IMAGE}",
    "-var=alarm_email=alarms@example.com",
    "-var=bucket_force_destroy=true",
]
# Registry failures that mean "no provider can be had here" (a skip), as opposed to a broken configuration.
NO_REGISTRY = re.compile(r"registry\.terraform\.io|Failed to query available provider packages|could not connect")


def override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {s:<10} = "{endpoint}"' for s in SERVICES)
    return f"""# Written by tests/support/terraform.py into a temporary copy; never committed.
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "TF_DATA_DIR"}}
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    env.update(extra or {})
    return env


@dataclass
class Deployment:
    """One environment in a temporary copy of terraform/, bound to one moto server. dev and prod share the root
    envs/aws: ``env`` holds their TF_DATA_DIR and ``init_args`` their backend settings."""

    name: str
    directory: Path
    endpoint: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    init_args: list[str] = field(default_factory=list)
    destroyed: bool = False
    _applied_state: dict[str, Any] | None = field(default=None, repr=False)

    def start(self, *command: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start a command taking the environment's variables; its output goes to a log file (no pipe to fill)."""
        log = self.directory / f"terraform-{command[0]}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["terraform", *command, "-no-color", *self.args],
                cwd=self.directory,
                env=terraform_env(self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return proc, log

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *command, "-no-color"],
            cwd=self.directory,
            env=terraform_env(self.env),
            capture_output=True,
            text=True,
            check=False,
        )

    def outputs(self) -> dict[str, Any]:
        done = self.run("output", "-json")
        assert done.returncode == 0, done.stderr
        return {k: v["value"] for k, v in json.loads(done.stdout).items()}

    def state(self) -> dict[str, Any]:
        done = self.run("show", "-json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def applied_state(self) -> dict[str, Any]:
        """The state after apply, read once (`terraform show` starts the provider: seconds each time)."""
        if self._applied_state is None:
            self._applied_state = self.state()
        return self._applied_state


def run_all(deployments: list[Deployment], *command: str) -> dict[str, tuple[int, str]]:
    """Run one terraform command in every deployment at once; name -> (exit code, output)."""
    started = {d.name: d.start(*command) for d in deployments}
    return {name: (proc.wait(), log.read_text()) for name, (proc, log) in started.items()}


def require_success(results: dict[str, tuple[int, str]], what: str) -> None:
    failed = {name: out[-4000:] for name, (rc, out) in results.items() if rc != 0}
    if failed:
        pytest.fail(f"terraform {what} failed in {sorted(failed)}:\n" + "\n".join(failed.values()))


def copy_terraform(tree: Path) -> Path:
    """terraform/ copied to ``tree`` (no state, plugins, overrides or values), with the S3 layout it reads from the
    package (``../src/dataquest/layout.json``, beside it as in the repository)."""
    shutil.copytree(
        TERRAFORM_DIR,
        tree,
        ignore=shutil.ignore_patterns(
            ".terraform",
            ".terraform-*",
            "*.tfstate*",
            "*override.tf",
            # A deployment's own values (git-ignored or written by make promote); the environments' committed
            # settings (envs/aws/dev.tfvars, prod.tfvars) are copied.
            "terraform.tfvars*",
            "*.auto.tfvars*",
            "*.local.tfvars",
            "*.images.tfvars.json",
            "*.s3.tfbackend",
        ),
    )
    (tree.parent / LAYOUT.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(LAYOUT, tree.parent / LAYOUT.relative_to(ROOT))
    # The lake module's named queries are the package's SQL files (src/dataquest/lake/sql/), read where they are.
    shutil.copytree(LAKE_SQL, tree.parent / LAKE_SQL.relative_to(ROOT), dirs_exist_ok=True)
    return tree


def copy_env(tmp: Path, env: str, endpoint: str, args: list[str], override_provider: bool) -> Deployment:
    """A copy of one environment: dev and prod from the root envs/aws with their variable file, backend settings
    and TF_DATA_DIR (as `make tf-plan ENV=...`), the others from their own root."""
    tree = copy_terraform(tmp / env / "terraform")
    if env not in AWS_ENVS:
        directory = tree / "envs" / env
        deployment = Deployment(env, directory, endpoint, args)
    else:
        directory = tree / "envs" / "aws"
        deployment = Deployment(
            env,
            directory,
            endpoint,
            [f"-var-file={env}.tfvars", *args],
            env={"TF_DATA_DIR": str(directory / f".terraform-{env}")},
            init_args=[f"-backend-config={env}.local.tfbackend"],
        )
    if override_provider:
        (directory / "moto_override.tf").write_text(override(endpoint))
    return deployment


def run_terraform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``terraform ARGS`` in ``cwd``, non-interactive, with no AWS profile; the caller reads the result."""
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
    env.pop("AWS_PROFILE", None)
    env.pop("TF_DATA_DIR", None)
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def init_offline(directory: Path) -> None:
    """``terraform init -backend=false`` from DQ_TF_PLUGIN_DIR when set; a skip where no provider can be had."""
    plugin_dir = os.environ.get("DQ_TF_PLUGIN_DIR")
    flags = [f"-plugin-dir={plugin_dir}"] if plugin_dir else []
    done = run_terraform(directory, "init", "-backend=false", "-input=false", "-no-color", *flags)
    if done.returncode != 0 and not plugin_dir and NO_REGISTRY.search(done.stdout + done.stderr):
        pytest.skip("no hashicorp/aws provider available: DQ_TF_PLUGIN_DIR is unset and the registry is unreachable")
    assert done.returncode == 0, done.stdout + done.stderr


def require_terraform() -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (install Terraform >= 1.7 to run the Terraform tests)")


def init(deployment: Deployment) -> None:
    plugin_dir = os.environ.get("DQ_TF_PLUGIN_DIR")
    command = ["init", "-input=false", *deployment.init_args] + ([f"-plugin-dir={plugin_dir}"] if plugin_dir else [])
    done = deployment.run(*command)
    if done.returncode == 0:
        return
    output = done.stdout + done.stderr
    if not plugin_dir and NO_REGISTRY.search(output):
        pytest.skip(
            "no hashicorp/aws provider available: DQ_TF_PLUGIN_DIR is unset (no filesystem mirror) and "
            f"`terraform init` could not reach the registry: {output.strip().splitlines()[-1]}"
        )
    pytest.fail(f"terraform init of envs/{deployment.name} failed:\n{output[-4000:]}")
