"""`make test`'s schedule (tests/support/schedule.py): which unit each pytest-xdist worker gets at the start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import ROOT
from tests.support.schedule import ONE_UNIT_PER_PACKAGE, ONE_UNIT_PER_TEST, LongestFirstScheduling

COMPOSE = "tests/integration/test_compose_e2e.py"
APPLY = "tests/integration/terraform_apply/"  # a package of ONE_UNIT_PER_PACKAGE
COLLECTION = [
    f"{COMPOSE}::test_local_stack_produces_the_known_report[localstack]",
    f"{COMPOSE}::test_local_stack_produces_the_known_report[moto]",
    "tests/integration/test_docker_images.py::test_image_configuration[ingest]",
    "tests/integration/test_docker_images.py::test_image_configuration[report]",
    "tests/integration/test_docker_images.py::test_image_sizes_are_reported",
    f"{APPLY}test_environments.py::test_apply",
    f"{APPLY}test_least_privilege.py::test_ingest",
    f"{APPLY}test_plan_and_destroy.py::test_destroy",
    "tests/integration/test_sync_bls.py::test_a",
    "tests/integration/test_sync_cli.py::test_b",
    "tests/integration/test_sync_tree.py::test_c",
    "tests/unit/test_a.py::test_one",
    "tests/unit/test_a.py::test_two",
    "tests/unit/test_a.py::test_three",
    "tests/unit/test_z.py::test_one",
    "tests/unit/test_z.py::test_two",
]


@dataclass(eq=False)
class FakeWorker:
    """What the scheduler uses of a pytest-xdist WorkerController: it records the tests sent to it."""

    sent: list[str] = field(default_factory=list)
    shutting_down: bool = False
    gateway: Any = field(default_factory=lambda: SimpleNamespace(id="gw"))

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += [COLLECTION[i] for i in indices]

    def shutdown(self) -> None:
        self.shutting_down = True


def start(workers: int) -> tuple[LongestFirstScheduling, list[FakeWorker]]:
    config: Any = type("Config", (), {"getvalue": lambda self, name: {"tx": [f"{workers}*popen"]}[name]})()
    config.option = type("Option", (), {"loadscopereorder": True})()
    scheduler = LongestFirstScheduling(config)
    nodes = [FakeWorker() for _ in range(workers)]
    for node in nodes:
        scheduler.add_node(node)  # type: ignore[arg-type]
        scheduler.add_node_collection(node, COLLECTION)  # type: ignore[arg-type]
    scheduler.schedule()
    return scheduler, nodes


def test_compose_stacks_start_at_once_on_two_workers_each_followed_by_a_short_module() -> None:
    assert COMPOSE in ONE_UNIT_PER_TEST
    _, nodes = start(4)
    # One test alone would wait for a next one (xdist's worker holds a test until it knows the next): the second
    # unit is the queue's last, a short one, not the Docker images, which get a worker of their own.
    assert nodes[0].sent == [COLLECTION[0], *COLLECTION[14:16]]
    assert nodes[1].sent == [COLLECTION[1], *COLLECTION[11:14]]
    # A module stays one unit: its tests share a module's fixtures, in order. So does the Terraform apply's package,
    # whose three modules share its one apply: one worker, in their order.
    assert nodes[2].sent == COLLECTION[2:5]
    assert APPLY in ONE_UNIT_PER_PACKAGE
    assert nodes[3].sent == COLLECTION[5:8]


def test_a_worker_still_on_its_long_unit_gets_the_short_end_and_a_free_one_the_next_in_order() -> None:
    scheduler, nodes = start(4)
    scheduler.mark_test_complete(nodes[3], 5)  # type: ignore[arg-type]
    # Two tests of the Terraform package left, the last of which waits for what comes next: the queue's last unit.
    assert nodes[3].sent == [*COLLECTION[5:8], COLLECTION[10]]
    scheduler.mark_test_complete(nodes[0], 0)  # type: ignore[arg-type]
    # The LocalStack stack is done, its short unit left: the next unit in order.
    assert nodes[0].sent == [COLLECTION[0], *COLLECTION[14:16], COLLECTION[8]]
    assert list(scheduler.workqueue) == [COLLECTION[9].split("::")[0]]


def test_workers_without_work_are_shut_down() -> None:
    _, nodes = start(10)
    assert sum(1 for node in nodes if node.sent) == 9  # nine units: compose twice, the Terraform package, six modules
    assert [node.shutting_down for node in nodes if not node.sent] == [True]


PROBE = """
import json, os

def pytest_collection_finish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    with open(f"collected-{worker}.json", "w") as out:
        json.dump([item.nodeid for item in session.items], out)
"""


def test_under_xdist_every_worker_collects_the_slow_kinds_of_module_first(tmp_path: Path) -> None:
    """The workers' collection, the order the scheduler hands units out in: Docker, Terraform, integration, the rest;
    each module's tests in their own order. (Serially nothing is reordered.)"""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "order_probe.py").write_text(PROBE)
    modules = {
        "test_a_unit.py": "",
        "test_b_integration.py": "pytestmark = pytest.mark.integration",
        "test_c_docker.py": "pytestmark = [pytest.mark.integration, pytest.mark.docker]",
        "test_d_terraform.py": "pytestmark = [pytest.mark.integration, pytest.mark.terraform]",
    }
    for name, marks in modules.items():
        (tmp_path / name).write_text(
            f"import pytest\n{marks}\n\ndef test_one():\n    pass\n\ndef test_two():\n    pass\n"
        )
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "order_probe", "-c", os.devnull]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not this run's worker's
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{tmp_path}"
    for workers in (["-n", "2", "--dist", "loadfile"], []):
        done = subprocess.run(
            [*cmd, "--rootdir", str(tmp_path), *workers, str(tmp_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    collected = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("collected-*.json")}
    order = ["c_docker", "d_terraform", "b_integration", "a_unit"]
    expected = [f"test_{module}.py::test_{n}" for module in order for n in ("one", "two")]
    assert collected == {
        "collected-gw0.json": expected,
        "collected-gw1.json": expected,
        "collected-controller.json": sorted(expected),
    }
