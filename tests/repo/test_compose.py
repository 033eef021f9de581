"""docker-compose.yml and its overrides parse, and wire what the issue describes (read as YAML; no engine)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

INVOKE = "/2015-03-31/functions/function/invocations"


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(doc, dict)
    return doc


def merged(*names: str) -> dict[str, Any]:
    """The services as docker-compose merges the files (mappings merge, entrypoint/command/image replace)."""
    services: dict[str, Any] = {}
    for name in names:
        for svc, conf in load(name)["services"].items():
            base = services.setdefault(svc, {})
            for key, value in conf.items():
                if isinstance(value, dict) and isinstance(base.get(key), dict):
                    base[key] = {**base[key], **value}
                elif key == "volumes" and key in base:
                    base[key] = [*base[key], *value]
                else:
                    base[key] = value
    return services


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(load("docker-compose.yml")["services"])


def test_the_services(services: dict[str, Any]) -> None:
    assert set(services) == {
        "aws", "ingest", "report", "relay", "transfer-1", "transfer-2", "transfer-relay-1", "transfer-relay-2",
        "lake", "lake-relay",
    }  # fmt: skip


def test_every_port_is_bound_to_localhost(services: dict[str, Any]) -> None:
    ports = [p for conf in services.values() for p in conf.get("ports", [])]
    assert len(ports) == 3
    for port in ports:
        assert str(port).startswith("127.0.0.1:"), port


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, conf in services.items():
        image = conf["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        assert not image.endswith((":latest", ":${DQ_IMAGE_TAG}")), image
    # The public LocalStack image unless DQ_LOCALSTACK_IMAGE names another (make localstack-image builds one).
    assert services["aws"]["image"] == "${DQ_LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}"
    assert load("docker-compose.moto.yml")["services"]["aws"]["image"].endswith("/moto:5.2.5")


def test_localstack_gets_the_auth_token_only_when_it_is_set(services: dict[str, Any]) -> None:
    env = services["aws"]["environment"]
    # A key without a value: docker-compose takes it from the caller's environment, or leaves it unset.
    assert "LOCALSTACK_AUTH_TOKEN" in env
    assert env["LOCALSTACK_AUTH_TOKEN"] is None


@pytest.mark.parametrize("name", ["aws", "ingest", "report", "transfer-1", "transfer-2", "lake"])
def test_health_checks(services: dict[str, Any], name: str) -> None:
    check = services[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert int(check["retries"]) >= 10


def test_start_order_waits_on_health(services: dict[str, Any]) -> None:
    for name in ("ingest", "report", "transfer-1", "transfer-2", "lake"):
        assert services[name]["depends_on"] == {"aws": {"condition": "service_healthy"}}
    pairs = (("relay", "report"), ("transfer-relay-1", "transfer-1"), ("transfer-relay-2", "transfer-2"))
    for relay, fn in (*pairs, ("lake-relay", "lake")):
        assert services[relay]["depends_on"] == {
            "aws": {"condition": "service_healthy"},
            fn: {"condition": "service_healthy"},
        }


@pytest.mark.parametrize(
    "name", ["ingest", "report", "relay", "transfer-1", "transfer-2", "transfer-relay-1", "transfer-relay-2"]
)
def test_the_functions_and_relay_point_at_the_emulator(services: dict[str, Any], name: str) -> None:
    env = services[name]["environment"]
    assert env["AWS_ENDPOINT_URL"] == "http://aws:4566"
    assert env["AWS_REGION"] == "us-east-1"


def test_the_functions_run_their_handlers_under_the_mounted_rie(services: dict[str, Any]) -> None:
    for fn in ("ingest", "report"):
        conf = services[fn]
        assert conf["image"].endswith(f"/{fn}:${{DQ_IMAGE_TAG:-local}}")
        assert conf["entrypoint"] == ["/aws-lambda/aws-lambda-rie"]
        assert conf["command"] == ["python", "-m", "awslambdaric", f"dataquest.handlers.{fn}.handler"]
        assert any(v.endswith(":/aws-lambda:ro") for v in conf["volumes"])
        assert re.fullmatch(r"127\.0\.0\.1:\$\{DQ_\w+_PORT:-\d+\}:8080", conf["ports"][0])
    assert services["ingest"]["environment"]["DQ_BUCKET"] == services["report"]["environment"]["DQ_BUCKET"]


def test_the_relay_is_the_package_feeding_the_report_function(services: dict[str, Any]) -> None:
    relay = services["relay"]
    assert relay["image"] == services["report"]["image"]
    assert relay["entrypoint"] == ["python", "-m", "dataquest.cli", "relay"]
    command = relay["command"]
    assert command[command.index("--function-url") + 1] == f"http://report:8080{INVOKE}"
    assert command[command.index("--queue") + 1] == "${DQ_QUEUE:-dataquest-local-report}"


def test_the_ingest_function_plans_and_two_transfer_functions_are_fed_one_message_at_a_time(
    services: dict[str, Any],
) -> None:
    """The AWS topology: the planner sends the transfers to the transfer queue; the transfer function (the ingest
    image, its handler) runs twice, as the mapping's maximum concurrency (2) allows, each fed by its own relay
    one message a batch (the RIE runs one invocation at a time)."""
    queue_url = "${DQ_TRANSFER_QUEUE_URL:-http://aws:4566/000000000000/dataquest-local-transfer}"
    assert services["ingest"]["environment"]["DQ_TRANSFER_QUEUE_URL"] == queue_url
    for n in (1, 2):
        fn, relay = services[f"transfer-{n}"], services[f"transfer-relay-{n}"]
        assert fn["image"] == services["ingest"]["image"]
        assert fn["build"] == services["ingest"]["build"]
        assert fn["command"] == ["python", "-m", "awslambdaric", "dataquest.handlers.transfer.handler"]
        assert fn["entrypoint"] == ["/aws-lambda/aws-lambda-rie"]
        assert "ports" not in fn
        assert fn["environment"]["DQ_TRANSFER_QUEUE_URL"] == queue_url  # a long transfer's continuation
        assert fn["environment"]["DQ_TRANSFER_STREAMS"] == "2"
        for name in ("DQ_BUCKET", "DQ_CONTACT", "DQ_BLS_BASE_URL", "DQ_REQUEST_INTERVAL"):  # Terraform's, shared
            assert fn["environment"][name] == services["ingest"]["environment"][name], name
        assert relay["entrypoint"] == ["python", "-m", "dataquest.cli", "relay"]
        command = relay["command"]
        assert command[command.index("--function-url") + 1] == f"http://transfer-{n}:8080{INVOKE}"
        assert command[command.index("--queue") + 1] == "${DQ_TRANSFER_QUEUE:-dataquest-local-transfer}"
        assert command[command.index("--batch-size") + 1] == "1"


def test_the_moto_override_swaps_only_the_emulator() -> None:
    override = load("docker-compose.moto.yml")["services"]
    assert set(override) == {"aws"}
    assert set(override["aws"]) == {"image", "healthcheck"}
    services = merged("docker-compose.yml", "docker-compose.moto.yml")
    assert services["aws"]["ports"] == ["127.0.0.1:${DQ_AWS_PORT:-4566}:4566"]
    assert "moto-api" in " ".join(services["aws"]["healthcheck"]["test"])


def test_the_standin_override_changes_only_the_functions_entrypoint() -> None:
    override = load("docker-compose.standin.yml")["services"]
    # Every function of the stack (a service running awslambdaric) gets the stand-in, a later one (lake) too.
    functions = {
        name
        for name, conf in load("docker-compose.yml")["services"].items()
        if "awslambdaric" in conf.get("command", [])
    }
    assert functions == {"ingest", "report", "transfer-1", "transfer-2", "lake"}
    assert set(override) == functions
    services = merged("docker-compose.yml", "docker-compose.standin.yml")
    for fn in sorted(functions):
        conf = services[fn]
        handler = "transfer" if fn.startswith("transfer") else fn
        assert conf["entrypoint"][:3] == ["python", "-m", "tests.support.runtime_api"]
        assert conf["entrypoint"][-1] == "--"
        assert conf["entrypoint"][conf["entrypoint"].index("--port") + 1] == "8080"
        # The same image and command: only how the Runtime API is provided differs.
        assert conf["command"] == ["python", "-m", "awslambdaric", f"dataquest.handlers.{handler}.handler"]
        assert conf["image"] == load("docker-compose.yml")["services"][fn]["image"]
        assert "./tests:/opt/dataquest-tests/tests:ro" in conf["volumes"]
        assert conf["environment"]["PYTHONPATH"] == "/opt/dataquest-tests"
        assert conf["environment"]["AWS_ENDPOINT_URL"] == "http://aws:4566"


@pytest.mark.parametrize("fn", ["ingest", "report"])
def test_the_functions_carry_their_build(services: dict[str, Any], fn: str) -> None:
    """`docker compose up --build` builds each function's image as `make images` does, without make."""
    build = services[fn]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == f"images/{fn}/Dockerfile"
    assert (ROOT / build["dockerfile"]).is_file()
    assert build["args"]["BASE_IMAGE"].startswith("${BASE_IMAGE:-")


def test_the_compose_base_default_is_the_dockerfiles_pin(services: dict[str, Any]) -> None:
    """One pin: compose's fallback for an unset BASE_IMAGE is the Dockerfiles' own ARG default."""
    fallback = re.fullmatch(r"\$\{BASE_IMAGE:-(.+)\}", services["ingest"]["build"]["args"]["BASE_IMAGE"])
    assert fallback is not None
    for fn in ("ingest", "report"):
        pins = re.findall(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "images" / fn / "Dockerfile").read_text(), re.MULTILINE)
        assert pins == [fallback.group(1)]


def test_the_relay_builds_what_report_builds(services: dict[str, Any]) -> None:
    """The relay runs the report image: with the same build, `up --build` never tries to pull it."""
    assert services["relay"]["build"] == services["report"]["build"]


# --- make's choice of Compose: `docker compose` (v2) when it answers, else `docker-compose` (v1) --------------
def _fake_docker(bin_dir: Path, *, v2: bool) -> None:
    script = bin_dir / "docker"
    answer = (
        "echo 'Docker Compose version v2.40.3'; exit 0"
        if v2
        else "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1"
    )
    script.write_text(f'#!/bin/sh\nif [ "$1" = compose ] && [ "$2" = version ]; then {answer}; fi\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def _make_dry_run(bin_dir: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("v2", "expected"), [(True, "docker compose -p dataquest "), (False, "docker-compose -p dataquest ")]
)
def test_make_local_uses_compose_v2_when_it_answers(tmp_path: Path, v2: bool, expected: str) -> None:
    _fake_docker(tmp_path, v2=v2)
    for target in ("local-logs", "local-down"):
        lines = [ln for ln in _make_dry_run(tmp_path, target).splitlines() if "-f docker-compose.yml" in ln]
        assert len(lines) == 1, lines
        assert lines[0].startswith(expected), lines[0]


def test_make_local_compose_cli_can_be_chosen(tmp_path: Path) -> None:
    _fake_docker(tmp_path, v2=True)
    out = _make_dry_run(tmp_path, "local-logs", "COMPOSE_CLI=docker-compose", "EMULATOR=moto", "RIE=standin")
    assert out.startswith(
        "docker-compose -p dataquest -f docker-compose.yml -f docker-compose.moto.yml -f docker-compose.standin.yml "
    ), out


def test_the_lake_runs_the_report_image_with_its_handler_fed_by_the_lake_queue(services: dict[str, Any]) -> None:
    lake, relay = services["lake"], services["lake-relay"]
    assert lake["image"] == services["report"]["image"] == relay["image"]
    assert lake["command"] == ["python", "-m", "awslambdaric", "dataquest.handlers.lake.handler"]
    assert lake["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == "dataquest-local-lake"
    assert relay["command"][:2] == ["--queue", "${DQ_LAKE_QUEUE:-dataquest-local-lake}"]
    assert relay["command"][-1] == "http://lake:8080/2015-03-31/functions/function/invocations"
    # envs/local's EventBridge rule needs the emulator's EventBridge.
    assert "events" in services["aws"]["environment"]["SERVICES"].split(",")
