"""The local stack end to end, as a user runs it: ``make local-up [EMULATOR=moto]``, ``make local-invoke``.

The real images, the emulator (LocalStack 4.14.0, the README's default, and a moto server), terraform/envs/local
applied to it, the AWS topology (ingest plans to the transfer queue; two transfer functions, each fed by its relay
at the mapping's maximum concurrency of 2; the report relay), the transfer outcomes under
``_logs/ingest/<run>/transfers/``, the report in the emulator's S3 with the known answers of the real pr release
(tests/data). Each
emulator runs under one Compose: LocalStack under v2 (``docker compose``, what users have), moto under v1
(``docker-compose``), so that both command lines the Makefile may choose are run end to end. What differs from a
user's run, and why:

- ``LOCALSTACK_IMAGE=dataquest/localstack:4.14.0`` where no registry answers (the images fixture fell back to the
  local base): ``make localstack-image`` builds LocalStack from PyPI (``localstack-core``) on a debootstrapped
  Debian trixie base; where the production base can be pulled, compose's default ``localstack/localstack:4.14.0``.

- ``RIE=standin``: the RIE binary cannot be downloaded here, so docker-compose.standin.yml mounts the test
  suite's mini-RIE into the unchanged images (same port, same command).
- The BLS/DataUSA stand-in (tests.support.bls_site) listens on 127.0.0.1 in this process. The containers sit on
  the compose network (a Linux bridge; the engine here runs without iptables and without docker0), where the
  host is the network's gateway address: a small TCP forwarder bound to that address (only) relays to the
  stand-in. So the compose wiring under test is the production one, service names and all; no host networking.
- Ports are free ones and the compose project and local state directory are unique, so that runs do not collide.
- ``make -o images local-up``: the images are built by ``make images`` with the same arguments once per test run
  (the ``images`` fixture), instead of again by each ``local-up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataquest.ops import status
from tests.integration.test_docker_images import (  # noqa: F401 - the fixtures are found by name
    LOCAL_LOCALSTACK_IMAGE,
    TEST_TAG,
    base_image,
    docker,
    docker_engine,
    images,
    make,
)
from tests.integration.test_run_embedded import POPULATION_PATH, publish, shared_tree
from tests.support import docker_base
from tests.support.aws import client, free_port
from tests.support.bls_site import BlsSite

pytestmark = [pytest.mark.docker, pytest.mark.integration, pytest.mark.terraform]


class Forwarder:
    """Accept TCP connections on ``host`` (a free port) and pipe each to ``127.0.0.1:target_port``."""

    def __init__(self, host: str, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server((host, 0))
        self.port = int(self.server.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="forwarder", daemon=True)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def project(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A unique compose project whose network exists up front, so that its gateway address is known first."""
    request.getfixturevalue("images")  # built (or found in the engine's cache) before anything starts
    name = f"dqe2e{uuid.uuid4().hex[:8]}"
    network = f"{name}_dataquest"
    docker(
        "network", "create",
        "--label", f"com.docker.compose.project={name}",
        "--label", "com.docker.compose.network=dataquest",
        "--label", "com.docker.compose.version=1.29.2",
        network,
    )  # fmt: skip
    gateway = docker("network", "inspect", network, "--format", "{{(index .IPAM.Config 0).Gateway}}").stdout.strip()
    yield name, gateway
    docker("network", "rm", network, check=False)


# Registry failures that mean "no provider can be had here", as the Terraform tests read them.
NO_REGISTRY = re.compile(r"registry\.terraform\.io|Failed to query available provider packages|could not connect")


def _local_up(args: list[str], env: dict[str, str], init_log: Path) -> None:
    """``make local-up``; without Terraform or a provider (no mirror, no registry) a skip saying so.

    ``-o images``: its first step, ``make images`` with these arguments, has run already in this test run (the
    ``images`` fixture, once for every module that needs them); a cached rebuild would take another minute or two.
    """
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH (install Terraform >= 1.5 to run the Terraform tests)")
    try:
        make("-s", "-o", "images", "local-up", *args, env=env)
    except AssertionError:
        output = init_log.read_text() if init_log.exists() else ""
        if "DQ_TF_PLUGIN_DIR" not in env and NO_REGISTRY.search(output):
            pytest.skip(
                "no hashicorp/aws provider available: DQ_TF_PLUGIN_DIR is unset (no filesystem mirror) and "
                "`terraform init` could not reach the registry: "
                + next(ln.strip() for ln in output.splitlines() if NO_REGISTRY.search(ln))
            )
        raise


def _tf_env() -> dict[str, str]:
    env = {"DQ_TF_PLUGIN_DIR": os.environ.get("DQ_TF_PLUGIN_DIR", "")}
    return {k: v for k, v in env.items() if v}


def compose_cli_unavailable(cli: str) -> str | None:
    """Why ``cli`` (``docker compose`` or ``docker-compose``) cannot run here, or ``None`` when it answers."""
    words = cli.split()
    if shutil.which(words[0]) is None:
        return f"{cli} is not installed"
    try:
        answer = subprocess.run([*words, "version"], capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return f"{cli} version timed out"
    if answer.returncode != 0:
        hint = " (scripts/install-compose-v2.sh installs it)" if cli == "docker compose" else ""
        return f"{cli} does not answer{hint}: {(answer.stderr or answer.stdout).strip()[-300:]}"
    return None


EMULATORS = {
    # emulator: (make arguments, the Compose command line it runs under); LocalStack's image is the public one
    # where the production base could be had (a registry answers), else the one make localstack-image builds.
    "localstack": ([f"LOCALSTACK_IMAGE={LOCAL_LOCALSTACK_IMAGE}"], "docker compose"),
    "moto": (["EMULATOR=moto"], "docker-compose"),
}


def emulator_args(emulator: str, base: str) -> list[str]:
    args = EMULATORS[emulator][0]
    return [] if emulator == "localstack" and base == docker_base.production_base() else args


# Cold, the images (and the local bases and emulator images) are built first: minutes each on a vfs engine.
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("emulator", list(EMULATORS))
def test_local_stack_produces_the_known_report(
    *,
    request: pytest.FixtureRequest,
    project: tuple[str, str],
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: str,
) -> None:
    cli = EMULATORS[emulator][1]
    unavailable = compose_cli_unavailable(cli)
    if unavailable:
        pytest.skip(f"compose unavailable: {unavailable}")
    name, gateway = project
    base = request.getfixturevalue("base_image")
    ports = {"DQ_AWS_PORT": free_port(), "DQ_INGEST_PORT": free_port(), "DQ_REPORT_PORT": free_port()}
    args = [
        *emulator_args(emulator, base),
        f"COMPOSE_CLI={cli}",
        "RIE=standin",
        f"COMPOSE_PROJECT={name}",
        f"LOCAL_DIR={tmp_path / 'local'}",
        f"BASE_IMAGE={base}",
        f"IMAGE_TAG={TEST_TAG}",
        "LOCAL_INVOKE_TIMEOUT=600",
        *(f"{k}={v}" for k, v in ports.items()),
    ]
    tree = shared_tree(shared_data)
    timings: dict[str, float] = {}
    with BlsSite() as site, Forwarder(gateway, int(site.origin.rsplit(":", 1)[1])) as forwarder:
        publish(site, tree)
        origin = f"http://{gateway}:{forwarder.port}"
        env = {
            "DQ_CONTACT": "dataquest-tests@example.org",
            "DQ_BLS_BASE_URL": f"{origin}/pub/time.series/",
            "DQ_POPULATION_URL": f"{origin}{POPULATION_PATH}",
            "DQ_REQUEST_INTERVAL": "0",
            **_tf_env(),
        }
        try:
            started = time.monotonic()
            _local_up(args, env, tmp_path / "local" / "terraform-init.log")
            timings["local-up"] = time.monotonic() - started
            _check_emulator(emulator, ports["DQ_AWS_PORT"])
            started = time.monotonic()
            invoked = make("-s", "local-invoke", *args, env=env)
            timings["local-invoke"] = time.monotonic() - started
            report: dict[str, Any] = json.loads(invoked.stdout)
            endpoint = f"http://127.0.0.1:{ports['DQ_AWS_PORT']}"
            _check_transfers(
                client("s3", endpoint), invoked.stderr, make("-s", "local-logs", *args, env=env).stdout, tree
            )

            # The known answers of the pr release of 2025-09 and the ACS population (tests/data/README.md).
            assert report["population_stats"]["mean"] == 322069808.0
            assert report["population_stats"]["std"] == pytest.approx(4158441.04, abs=0.01)
            best = {r["series_id"]: (r["year"], r["value"], r["basis"]) for r in report["best_years"]}
            assert len(best) == 282
            assert best["PRS30006011"] == (2022, 16.4, "quarters")
            assert best["PRS30006013"] == (1998, 564.713, "quarters")
            assert sum(1 for b in best.values() if b[2] == "annual") == 45
            rows = {r["year"]: r for r in report["series_population"]}
            assert sorted(rows) == list(range(1995, 2026))
            assert (rows[2018]["value"], rows[2018]["population"]) == (0.5, 327167439)
            assert rows[2020]["population"] is None

            # The same document is in the emulator's S3; the relay emptied the queue; the data came through BLS.
            s3, sqs = client("s3", endpoint), client("sqs", endpoint)
            stored = json.loads(
                s3.get_object(Bucket="dataquest-local", Key="reports/latest/report.json")["Body"].read()
            )
            assert stored == report
            mirrored = s3.get_object(Bucket="dataquest-local", Key="bls/pr/pr.data.0.Current")["Body"].read()
            assert mirrored == tree.files["pr/pr.data.0.Current"]
            assert site.count("/pub/time.series/pr/pr.data.0.Current") == 1

            # The relay deleted every record: the report function acknowledges a notification of one input that
            # comes before the other input exists (it waits for that input's own notification), so nothing is
            # left in flight for the visibility timeout to bring back, and nothing heads for the DLQ.
            queue_url = sqs.get_queue_url(QueueName="dataquest-local-report")["QueueUrl"]
            deadline = time.monotonic() + 60  # the relay may still be deleting the batch that made the report
            while True:
                visible, in_flight = _queue_counts(sqs, queue_url)
                batches = _relay_batches(make("-s", "local-logs", *args, env=env).stdout)
                settled = visible == 0 and in_flight == sum(b["failed"] for b in batches)
                if settled or time.monotonic() > deadline:
                    break
                time.sleep(2)
            assert batches, "the relay delivered nothing"
            assert visible == 0
            assert sum(b["received"] for b in batches) == sum(b["deleted"] + b["failed"] for b in batches)
            assert sum(b["deleted"] for b in batches) >= 2  # both inputs' notifications (and S3's TestEvent)
            assert [b for b in batches if b["failed"]] == []
            assert in_flight == 0

            # The lake: the EventBridge rule put bls/'s events on the lake queue, its relay fed the lake function.
            # moto serves Glue, so the lake commits and local-invoke shows that commit; LocalStack's free edition
            # has no Glue, so there the lake's records fail (to its dead-letter queue) and the report stands alone.
            # Without Glue, local-invoke says so at once instead of waiting out its timeout for a commit.
            deadline = time.monotonic() + 120
            while True:
                lake_batches = _relay_batches(make("-s", "local-logs", *args, env=env).stdout, "lake-relay")
                if sum(b["received"] for b in lake_batches) >= 1 or time.monotonic() > deadline:
                    break
                time.sleep(5)
            assert sum(b["received"] for b in lake_batches) >= 1, "the lake queue received nothing"
            if emulator == "moto":
                assert "local-invoke: lake: observations committed (lake/observations/metadata/" in invoked.stderr
                # local-invoke returns on silver's first commit; gold follows in the lake function's same or next
                # batch (after pr's update), so it is waited for, not raced.
                glue, wanted, names = client("glue", endpoint), {"observations", "series", "best_years"}, set()
                deadline = time.monotonic() + 180
                while not wanted <= names and time.monotonic() < deadline:
                    names = {t["Name"] for t in glue.get_tables(DatabaseName="dataquest")["TableList"]}
                    time.sleep(0 if wanted <= names else 3)
                assert wanted <= names, f"gold did not follow silver within 180 s: {sorted(names)}"
            else:
                assert "local-invoke: lake: not checked: the emulator has no lake catalog" in invoked.stderr
        except BaseException:
            logs = make("-s", "local-logs", *args, env=env).stdout
            relay_lines = "\n".join(ln for ln in logs.splitlines() if ln.startswith("relay"))
            print(f"--- make local-logs (relay) ---\n{relay_lines[-20000:]}\n--- (all) ---\n{logs[-20000:]}")
            raise
        finally:
            make("-s", "local-down", *args, env=env)
    with capsys.disabled():
        print(f"\ncompose e2e ({emulator}, {cli}): " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


def _check_emulator(emulator: str, port: int) -> None:
    """The emulator that answers on the AWS port is the one asked for (LocalStack's health document, or moto's)."""
    if emulator == "localstack":
        health = httpx.get(f"http://127.0.0.1:{port}/_localstack/health", timeout=10).json()
        assert health["version"].startswith("4.14.0"), health
        assert {health["services"][s] for s in ("s3", "sqs", "sts")} <= {"available", "running"}, health
    else:
        assert httpx.get(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=10).status_code == 200


def _queue_counts(sqs: Any, queue_url: str, timeout: float = 60) -> tuple[int, int]:
    """(visible, in flight) once nothing is visible (the relay long-polls), or as they are after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        visible, in_flight = (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )
        if visible == 0 or time.monotonic() > deadline:
            return visible, in_flight
        time.sleep(1)


def _check_transfers(s3: Any, stderr: str, logs: str, tree: Any) -> None:
    """The ingest function planned and the transfer functions moved every file: their outcomes are under
    ``_logs/ingest/<run>/transfers/`` (what make local-invoke reported), and the transfer relays delivered every
    message they received, none failed."""
    said = re.search(r"transfers of run (\S+): (\d+) uploaded, (\d+) already there, (\d+) failed", stderr)
    assert said, f"make local-invoke reported no transfers:\n{stderr[-3000:]}"
    run = said.group(1)
    assert (int(said.group(2)), int(said.group(4))) == (len(tree.files), 0)
    outcomes = status.transfer_outcomes(s3, "dataquest-local", run)
    assert (outcomes.uploaded, outcomes.failed) == (len(tree.files), 0)
    assert sorted(outcomes.files) == sorted(f"bls/{path}" for path in tree.files)
    batches = _relay_batches(logs, service="transfer-relay")
    assert batches, "the transfer relays delivered nothing"
    assert sum(b["received"] for b in batches) == sum(b["deleted"] for b in batches)
    assert [b for b in batches if b["failed"]] == []


def _relay_batches(logs: str, service: str = "relay") -> list[dict[str, Any]]:
    """A relay's "relay batch" log events (JSON lines) from ``docker-compose logs``: those of the services whose
    name starts with ``service`` (``relay``: the report queue's; ``transfer-relay``: the transfer queue's)."""
    batches = []
    for line in logs.splitlines():
        name, _, rest = line.partition("|")
        if name.strip().startswith(service) and rest.strip().startswith("{"):
            doc = json.loads(rest)
            if doc.get("message") == "relay batch":
                batches.append(doc)
    return batches
