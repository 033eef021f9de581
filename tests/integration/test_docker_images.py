"""The built images (``make docker-smoke``): their configuration, and each function invoked in its image.

The images are built by ``make images`` (cached by the engine) on the production base (the pinned
python:3.12-slim-bookworm) where it is present or can be pulled; only where no registry answers on the local base
``scripts/build-base-image.sh`` makes (debootstrap; cached as an image), passed as ``BASE_IMAGE``; the run says
which, and why (tests/support/docker_base.py). ``DQ_TEST_BASE_IMAGE`` names another. The Runtime Interface
Emulator cannot be downloaded here, so each function runs under the test suite's mini-RIE
(``tests.support.runtime_api``), mounted read-only into the unchanged image, with host networking so that the
container reaches the moto server and the BLS stand-in on 127.0.0.1. Every test here skips with "docker engine
unavailable: ..." when ``docker info`` fails.

The helpers at the top are shared with the compose end-to-end test.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dataquest.local import relay
from dataquest.local.embedded import create_topology
from tests.conftest import EVENTS, ROOT
from tests.integration.test_run_embedded import POPULATION_PATH, check_report, publish, small_tree
from tests.support import docker_base
from tests.support.aws import client, free_port
from tests.support.bls_site import BlsSite

# Cold, the first test's setup makes the local base (debootstrap) and builds both images: minutes on a vfs engine,
# over the suite's 600 s default.
pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.timeout(2400)]

LOCAL_LOCALSTACK_IMAGE = "dataquest/localstack:4.14.0"  # make localstack-image
# The tag the tests build under; DQ_TEST_IMAGE_TAG gives another where several clones share one engine.
TEST_TAG = os.environ.get("DQ_TEST_IMAGE_TAG") or "test"
FUNCTIONS = ("ingest", "report")
INVOKE = "/2015-03-31/functions/function/invocations"
MOUNT = "/opt/dataquest-tests"


def docker_unavailable() -> str | None:
    """Why no engine can be used here (the skip reason), or ``None`` when ``docker info`` answers."""
    if shutil.which("docker") is None:
        return "docker engine unavailable: no docker client on PATH (scripts/docker-engine.sh installs one)"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "docker engine unavailable: docker info timed out"
    if info.returncode != 0:
        lines = [ln for ln in (info.stderr or info.stdout).splitlines() if ln.strip()]
        return f"docker engine unavailable: {lines[-1] if lines else 'docker info failed'}"
    return None


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def make(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"make {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(scope="session")
def docker_engine() -> None:
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def base_image(docker_engine: None) -> str:
    """The base the images are built on (tests/support/docker_base.py): the production base where it is present or
    can be pulled, else the local one (made once, cached), or a skip saying why neither can be had. Which one, and
    why, is printed and reported as a warning (which pytest-xdist relays from its workers)."""
    with (ROOT / ".pytest-images.lock").open("a") as lock:  # one pull or build at a time under pytest-xdist
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = docker_base.choose()
        why = base.why
        if base.image == docker_base.LOCAL_BASE_IMAGE:
            try:
                why += f"; {docker_base.build_local(base.image)}"
            except docker_base.LocalBaseUnavailableError as e:
                pytest.skip(str(e))
    notice = f"images built on {base.image}: {why}"
    print(f"\n{notice}", file=sys.stderr)
    warnings.warn(docker_base.BaseImageNotice(notice), stacklevel=1)
    return base.image


def image_ids() -> dict[str, str | None]:
    """fn -> the ID of ``dataquest/<fn>:test``, or None where there is none."""
    found = {
        fn: docker("image", "inspect", "--format", "{{.Id}}", f"dataquest/{fn}:{TEST_TAG}", check=False)
        for fn in FUNCTIONS
    }
    return {fn: r.stdout.strip() if r.returncode == 0 else None for fn, r in found.items()}


@pytest.fixture(scope="session")
def images(base_image: str) -> dict[str, str]:
    """``make images`` with the test tag, once per test run; fn -> image.

    Under pytest-xdist two modules' workers ask for the same tags: the first builds (a cached rebuild still takes a
    minute on a vfs engine: each ``COPY --from`` copies its stage), and records the run (xdist's run id) and the
    images' IDs in the lock file; the others find them there and use the same images.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    with (ROOT / ".pytest-images.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        try:
            stamp = json.loads(lock.read() or "{}")
        except ValueError:
            stamp = {}
        ids = image_ids()
        built_in_this_run = bool(run) and all(ids.values()) and stamp == {"run": run, "base": base_image, "ids": ids}
        prebuilt = os.environ.get("DQ_SMOKE_PREBUILT") == "1" and all(ids.values())
        if not (built_in_this_run or prebuilt):
            make("images", f"BASE_IMAGE={base_image}", f"IMAGE_TAG={TEST_TAG}")
            lock.truncate(0)
            lock.write(json.dumps({"run": run, "base": base_image, "ids": image_ids()}))
    return {fn: f"dataquest/{fn}:{TEST_TAG}" for fn in FUNCTIONS}


def inspect(image: str) -> dict[str, Any]:
    doc = json.loads(docker("image", "inspect", image).stdout)[0]
    assert isinstance(doc, dict)
    return doc


class Function:
    """One function's image running under the mini-RIE with host networking, on a free 127.0.0.1 port."""

    def __init__(self, image: str, handler: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.name = f"dq-smoke-{uuid.uuid4().hex[:8]}"
        env_args = [a for k, v in {**env, "PYTHONPATH": MOUNT}.items() for a in ("-e", f"{k}={v}")]
        docker(
            "run", "-d", "--name", self.name, "--network", "host",
            "-v", f"{ROOT / 'tests'}:{MOUNT}/tests:ro",
            *env_args,
            "--entrypoint", "python", image,
            "-m", "tests.support.runtime_api", "--host", "127.0.0.1", "--port", str(self.port), "--",
            "python", "-m", "awslambdaric", handler,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}{INVOKE}"
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} did not become ready:\n{self.logs()}")

    def invoke(self, event: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url, json=event, timeout=300)

    def logs(self) -> str:
        out = docker("logs", self.name, check=False)
        return (out.stdout + out.stderr)[-5000:]

    def close(self) -> None:
        docker("rm", "-f", self.name, check=False)


@pytest.fixture
def aws_env(moto_endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


# --- the images' configuration -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def running(images: dict[str, str]) -> Iterator[dict[str, str]]:
    """One idle container per image, as ``docker run`` starts it (the image's user, no mount, no variable), to run
    the probes in with ``docker exec``: on a vfs engine each ``docker run`` copies the whole image first."""
    names = {fn: f"dq-probe-{fn}-{uuid.uuid4().hex[:8]}" for fn in FUNCTIONS}
    started = {
        fn: subprocess.Popen(
            ["docker", "run", "-d", "--name", names[fn], "--entrypoint", "python", image, "-c", IDLE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fn, image in images.items()
    }
    try:
        for fn, proc in started.items():
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"docker run {images[fn]} failed:\n{err[-3000:]}"
        yield names
    finally:
        for proc in started.values():
            if proc.poll() is None:
                proc.kill()
        docker("rm", "-f", *names.values(), check=False)


IDLE = "import signal; signal.pause()"


def run_in(running: dict[str, str], fn: str, *command: str) -> str:
    """``command`` in ``fn``'s idle container (``docker exec``: the container's user and environment); its stdout."""
    return docker("exec", running[fn], *command).stdout


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_image_configuration(images: dict[str, str], running: dict[str, str], fn: str) -> None:
    config = inspect(images[fn])["Config"]
    assert config["Entrypoint"] == ["python", "-m", "awslambdaric"]
    assert config["Cmd"] == [f"dataquest.handlers.{fn}.handler"]
    assert config["User"] not in ("", "0", "root")
    uid = run_in(running, fn, "id", "-u").strip()
    assert uid == config["User"]
    assert uid != "0"


def test_only_the_report_image_has_polars(running: dict[str, str]) -> None:
    probe = "import importlib.util as u, json; print(json.dumps({m: bool(u.find_spec(m)) for m in %r}))"
    modules = ["polars", "boto3", "httpx", "awslambdaric", "dataquest", "moto", "pytest", "uv"]
    found = {fn: json.loads(run_in(running, fn, "python", "-c", probe % modules)) for fn in FUNCTIONS}
    assert found["ingest"] == {**dict.fromkeys(modules, False), **dict.fromkeys(modules[1:5], True)}
    assert found["report"] == {**found["ingest"], "polars": True}


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_no_rie_tests_or_sources_in_the_image(running: dict[str, str], fn: str) -> None:
    script = (
        "import os, shutil; "
        "print(shutil.which('aws-lambda-rie'), os.path.exists('/aws-lambda'), os.path.exists('/src'), "
        "os.path.exists('/opt/uv'), os.path.exists('/opt/dataquest-tests'))"
    )
    out = run_in(running, fn, "python", "-c", script).split()
    assert out == ["None", "False", "False", "False", "False"]


SECRET_IN_IMAGE = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|"
    r"LOCALSTACK_AUTH_TOKEN",
)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_no_secrets_in_the_image_config_or_history(images: dict[str, str], fn: str) -> None:
    config = json.dumps(inspect(images[fn])["Config"])
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", images[fn]).stdout
    assert history.strip(), "docker history printed nothing: the check would see nothing"
    assert not SECRET_IN_IMAGE.findall(config + history)


def test_image_sizes_are_reported(images: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    sizes = {fn: int(inspect(image)["Size"]) for fn, image in images.items()}
    with capsys.disabled():
        print("\nimage sizes: " + ", ".join(f"{fn} {size / 1e6:.0f} MB" for fn, size in sizes.items()))
    assert sizes["ingest"] < sizes["report"], "the ingest image has no polars, so it must be the smaller"


# --- each function invoked in its image ----------------------------------------------------------------------
def test_ingest_in_its_image_mirrors_the_site_into_s3(
    images: dict[str, str], site: BlsSite, moto_endpoint: str, aws_env: dict[str, str]
) -> None:
    tree = small_tree()
    publish(site, tree)
    bucket = f"dq-smoke-{uuid.uuid4().hex[:8]}"
    s3 = client("s3", moto_endpoint)
    s3.create_bucket(Bucket=bucket)
    env = {
        **aws_env,
        "DQ_BUCKET": bucket,
        "DQ_CONTACT": "dataquest-tests@example.org",
        "DQ_BLS_BASE_URL": site.base_url,
        "DQ_POPULATION_URL": site.url(POPULATION_PATH),
        "DQ_REQUEST_INTERVAL": "0",
    }
    fn = Function(images["ingest"], "dataquest.handlers.ingest.handler", env)
    try:
        answer = fn.invoke(json.loads((EVENTS / "schedule-rule.json").read_text()))
        assert answer.status_code == 200, fn.logs()
        assert "X-Amz-Function-Error" not in answer.headers, answer.text + fn.logs()
        summary = answer.json()
    finally:
        fn.close()
    assert summary["uploaded"] == len(tree.files)
    assert summary["errors"] == []
    for path, body in tree.files.items():
        assert s3.get_object(Bucket=bucket, Key=f"bls/{path}")["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="population/nation_population.json")["Body"].read() == tree.population


def test_report_in_its_image_answers_the_batch_and_writes_the_report(
    images: dict[str, str], moto_endpoint: str, aws_env: dict[str, str]
) -> None:
    tree = small_tree()
    name = f"dq-smoke-{uuid.uuid4().hex[:8]}"
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    topology = create_topology(s3, sqs, name, queue=f"{name}-q", dlq=f"{name}-dlq")
    s3.put_object(Bucket=name, Key="bls/pr/pr.data.0.Current", Body=tree.files["pr/pr.data.0.Current"])
    s3.put_object(Bucket=name, Key="population/nation_population.json", Body=tree.population)
    messages: list[Any] = []
    while batch := sqs.receive_message(QueueUrl=topology.report.url, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
    inputs = [m for m in messages if "s3:TestEvent" not in m["Body"]]
    assert len(inputs) == 2, "S3 notified the queue of both inputs (besides its s3:TestEvent)"

    fn = Function(images["report"], "dataquest.handlers.report.handler", {**aws_env, "DQ_BUCKET": name})
    try:
        answer = fn.invoke(relay.sqs_event(messages, topology.report.arn))
        assert answer.status_code == 200, fn.logs()
        assert answer.json() == {"batchItemFailures": []}, fn.logs()
        # A malformed record in a batch fails alone.
        broken = {**inputs[0], "MessageId": "broken-1", "Body": "not an S3 notification"}
        answer = fn.invoke(relay.sqs_event([broken, inputs[1]], topology.report.arn))
        assert answer.json() == {"batchItemFailures": [{"itemIdentifier": "broken-1"}]}, fn.logs()
    finally:
        fn.close()
    doc = json.loads(s3.get_object(Bucket=name, Key="reports/latest/report.json")["Body"].read())
    check_report(doc, tree)


def test_scripts_make_an_engine_check_answer(docker_engine: None) -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "docker-engine.sh"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "an engine already answers" in result.stderr
