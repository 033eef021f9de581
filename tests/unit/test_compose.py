"""docker-compose.yml and its overrides parse, and wire what the issue describes (read as YAML; no engine)."""

from __future__ import annotations

import re
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
    assert set(services) == {"aws", "ingest", "report", "relay"}


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
    assert services["aws"]["image"] == "localstack/localstack:4.14.0"
    assert load("docker-compose.moto.yml")["services"]["aws"]["image"].endswith("/moto:5.2.5")


def test_localstack_gets_the_auth_token_only_when_it_is_set(services: dict[str, Any]) -> None:
    env = services["aws"]["environment"]
    # A key without a value: docker-compose takes it from the caller's environment, or leaves it unset.
    assert "LOCALSTACK_AUTH_TOKEN" in env
    assert env["LOCALSTACK_AUTH_TOKEN"] is None


@pytest.mark.parametrize("name", ["aws", "ingest", "report"])
def test_health_checks(services: dict[str, Any], name: str) -> None:
    check = services[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert int(check["retries"]) >= 10


def test_start_order_waits_on_health(services: dict[str, Any]) -> None:
    for name in ("ingest", "report"):
        assert services[name]["depends_on"] == {"aws": {"condition": "service_healthy"}}
    assert services["relay"]["depends_on"] == {
        "aws": {"condition": "service_healthy"},
        "report": {"condition": "service_healthy"},
    }


@pytest.mark.parametrize("name", ["ingest", "report", "relay"])
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
    assert relay["entrypoint"] == ["python", "-m", "dataquest.relay"]
    command = relay["command"]
    assert command[command.index("--function-url") + 1] == f"http://report:8080{INVOKE}"
    assert command[command.index("--queue") + 1] == "${DQ_QUEUE:-dataquest-local-report}"


def test_the_moto_override_swaps_only_the_emulator() -> None:
    override = load("docker-compose.moto.yml")["services"]
    assert set(override) == {"aws"}
    assert set(override["aws"]) == {"image", "healthcheck"}
    services = merged("docker-compose.yml", "docker-compose.moto.yml")
    assert services["aws"]["ports"] == ["127.0.0.1:${DQ_AWS_PORT:-4566}:4566"]
    assert "moto-api" in " ".join(services["aws"]["healthcheck"]["test"])


def test_the_standin_override_changes_only_the_functions_entrypoint() -> None:
    override = load("docker-compose.standin.yml")["services"]
    assert set(override) == {"ingest", "report"}
    services = merged("docker-compose.yml", "docker-compose.standin.yml")
    for fn in ("ingest", "report"):
        conf = services[fn]
        assert conf["entrypoint"][:3] == ["python", "-m", "tests.support.runtime_api"]
        assert conf["entrypoint"][-1] == "--"
        assert conf["entrypoint"][conf["entrypoint"].index("--port") + 1] == "8080"
        # The same image and command: only how the Runtime API is provided differs.
        assert conf["command"] == ["python", "-m", "awslambdaric", f"dataquest.handlers.{fn}.handler"]
        assert conf["image"] == load("docker-compose.yml")["services"][fn]["image"]
        assert "./tests:/opt/dataquest-tests/tests:ro" in conf["volumes"]
        assert conf["environment"]["PYTHONPATH"] == "/opt/dataquest-tests"
        assert conf["environment"]["AWS_ENDPOINT_URL"] == "http://aws:4566"
