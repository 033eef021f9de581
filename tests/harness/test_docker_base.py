"""How the image tests choose their base (tests/support/docker_base.py), with the docker commands played here."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import docker_base

Answers = dict[str, tuple[int, str]]


def _fake(answers: Answers) -> Callable[..., tuple[int, str]]:
    """``_run`` answering by the command's first two words (``docker pull``, ``docker image``...)."""

    def run(*command: str, timeout: float) -> tuple[int, str]:
        words = " ".join(command[:2]) if command[0] == "docker" else command[0].rsplit("/", 1)[-1]
        return answers[words]

    return run


@pytest.fixture(autouse=True)
def _no_chosen_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DQ_TEST_BASE_IMAGE", raising=False)


def test_the_production_base_is_pinned_in_the_dockerfile() -> None:
    assert docker_base.production_base().startswith("python:3.12-slim-bookworm@sha256:")


def test_a_production_base_in_the_engine_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_base, "_run", _fake({"docker image": (0, "[{}]")}))
    base = docker_base.choose()
    assert base.is_production
    assert base.why == "the production base, present in the engine"


def test_a_pulled_production_base_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_base, "_run", _fake({"docker image": (1, "No such image"), "docker pull": (0, "")}))
    assert docker_base.choose() == docker_base.Base(docker_base.production_base(), "the production base, pulled")


def test_no_registry_falls_back_to_the_local_base_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = 'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup x: no such host'
    monkeypatch.setattr(docker_base, "_run", _fake({"docker image": (1, "No such image"), "docker pull": (1, dns)}))
    base = docker_base.choose()
    assert base.image == docker_base.LOCAL_BASE_IMAGE
    assert not base.is_production
    assert base.why == f"the local base (scripts/build-base-image.sh): no registry answers ({dns})"


def test_a_pull_refused_for_another_reason_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = "Error response from daemon: manifest for python@sha256:... not found: manifest unknown"
    monkeypatch.setattr(docker_base, "_run", _fake({"docker image": (1, "No such image"), "docker pull": (1, refused)}))
    with pytest.raises(AssertionError, match=r"not for want of a registry: .*manifest unknown"):
        docker_base.choose()


def test_a_local_base_that_cannot_be_made_is_one_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "build-base-image: debootstrap is missing and cannot be installed here (needs apt-get): install it"
    monkeypatch.setattr(docker_base, "_run", _fake({"build-base-image.sh": (1, f"some output\n{why}")}))
    with pytest.raises(docker_base.LocalBaseUnavailableError) as raised:
        docker_base.build_local(docker_base.LOCAL_BASE_IMAGE)
    assert str(raised.value) == f"local base unavailable: {why}"
