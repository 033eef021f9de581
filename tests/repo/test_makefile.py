"""The Makefile's promises, read with `make -n` (nothing runs): the ENV guard, what `make run` installs."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


def make_n(*args: str, env_value: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"ENV", "MAKEFLAGS", "MAKELEVEL"}}
    if env_value is not None:
        env["ENV"] = env_value
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("target", ["tf-plan", "tf-apply", "tf-destroy", "promote", "invoke", "logs"])
def test_an_env_from_the_environment_that_differs_stops_the_target(target: str) -> None:
    done = make_n(target, env_value="prod")
    assert done.returncode != 0
    assert "ENV=prod is set in your environment" in done.stderr
    assert f"would act on dev: run `make {target} ENV=prod`" in done.stderr
    assert "terraform" not in done.stdout


def test_the_command_line_env_is_used_and_an_agreeing_environment_is_fine() -> None:
    for env_value in ("prod", None):
        done = make_n("tf-plan", "ENV=prod", env_value=env_value)
        assert done.returncode == 0, done.stderr
        assert "/terraform/envs/aws/.terraform-prod terraform -chdir=terraform/envs/aws plan" in done.stdout
        assert "-var-file=prod.tfvars" in done.stdout
    done = make_n("tf-plan", env_value="dev")
    assert done.returncode == 0, done.stderr
    assert "/terraform/envs/aws/.terraform-dev terraform -chdir=terraform/envs/aws plan" in done.stdout
    assert "-backend-config=dev.local.tfbackend" in done.stdout


def test_targets_that_do_not_use_env_ignore_it() -> None:
    done = make_n("help", env_value="prod")
    assert done.returncode == 0, done.stderr


def test_run_installs_only_the_run_extras_and_install_dev_the_rest() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "run: install-run " in makefile
    assert "$(UV) sync --frozen --no-dev $(RUN_EXTRAS)" in makefile
    assert "RUN_EXTRAS := --extra embedded --extra report --extra cli" in makefile
    # Each exact sync drops the other environment's stamp, so switching never leaves a stamp over a half venv.
    assert "@rm -f $(VENV)/.synced $(VENV)/.synced-notebook" in makefile
    assert "@rm -f $(VENV)/.synced-notebook $(VENV)/.synced-run" in makefile


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("fmt", "terraform fmt -recursive terraform"),
        ("lint", "terraform fmt -check -recursive -diff terraform"),
        ("fmt", "scripts/tf_docs.py"),
        ("lint", "scripts/tf_docs.py --check"),
    ],
)
def test_fmt_formats_and_lint_checks_terraform(target: str, command: str) -> None:
    done = make_n(target, "UV=/bin/true")
    assert done.returncode == 0, done.stderr
    assert command in done.stdout


def test_run_narrows_no_full_venv_and_a_run_venv_is_completed_by_install_dev(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    # No environment yet: run syncs only its extras, with no dev group.
    done = make_n("install-run", f"VENV={venv}", "UV=/bin/true")
    assert "sync --frozen --no-dev --extra embedded --extra report --extra cli" in done.stdout, done.stderr
    # A full environment (stamp newer than the lock): run uses it as it is.
    (venv / ".synced").touch()
    os.utime(venv / ".synced", (time.time() + 3600, time.time() + 3600))
    done = make_n("install-run", f"VENV={venv}", "UV=/bin/true")
    assert "sync" not in done.stdout, done.stdout
    # A run environment: install-dev syncs everything, and drops the run stamp.
    (venv / ".synced").unlink()
    (venv / ".synced-run").touch()
    done = make_n("install-dev", f"VENV={venv}", "UV=/bin/true")
    assert "sync --frozen --all-extras" in done.stdout
    assert f"rm -f {venv}/.synced-notebook {venv}/.synced-run" in done.stdout


def test_local_up_builds_both_images_first_which_the_compose_test_has_built_already() -> None:
    """The compose end-to-end test runs `make -o images local-up` after the images fixture ran `make images` with
    the same arguments: local-up's own first step is that build, and -o leaves out that step alone."""
    # COMPOSE_CLI given: the default asks the machine which Compose answers (v2 or v1), and this is about make alone.
    args = ["local-up", "RIE=standin", "LOCALSTACK_IMAGE=example/localstack:1", "IMAGE_TAG=test"]
    args.append("COMPOSE_CLI=docker compose")
    full, skipped = make_n(*args), make_n("-o", "images", *args)
    assert full.returncode == skipped.returncode == 0, full.stderr + skipped.stderr
    builds = [line for line in full.stdout.splitlines() if "-f images/$fn/Dockerfile -t dataquest/$fn:test ." in line]
    assert len(builds) == 1
    assert "for fn in ingest report" in full.stdout
    assert full.stdout.index(builds[0]) < full.stdout.index("up -d aws")
    assert skipped.stdout == full.stdout[full.stdout.index("docker compose") :]
