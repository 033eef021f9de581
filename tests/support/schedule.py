"""How `make test` spreads the test modules over its pytest-xdist workers: ``--dist loadfile``, longest work first.

With plain ``--dist loadfile`` a module is one unit of work, handed out in collection order, two per worker at the
start: the slow modules (a Compose stack, the Docker images, a Terraform apply, each minutes) start wherever
alphabetical order puts them, and a slow module can wait behind another on one worker while the others idle. So:

- Collection order (each worker sorts alike, tests/conftest.py): the modules that need Docker first, then those
  that run Terraform, then the other integration modules, then the rest (tests/unit, tests/repo, tests/harness). A
  module keeps its own order. The units are handed out in that order (not xdist's default, most tests first, which
  starts the one-test units last).
- ``ONE_UNIT_PER_TEST``: the modules whose tests share nothing but a session fixture are one unit per test, so that
  two workers can run them at once (each Compose stack, each module's ``terraform test``, each ``validate``).
- A worker still on the unit it started with gets its next unit (xdist gives a worker a queue of two) from the end
  of the queue, a short unit-test module, instead of the next slow module, which would then wait behind the first.

A module whose tests depend on each other's order stays one unit, and so does a package of ``ONE_UNIT_PER_PACKAGE``,
whose modules share a package-scoped fixture and run in an order (tests/integration/terraform_apply/: one apply, the
checks, least privilege, then plan and destroy): spread over workers, each would make the apply again.
tests/harness/test_schedule.py checks this scheduling.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController

ONE_UNIT_PER_TEST = frozenset(
    {
        "tests/integration/test_compose_e2e.py",
        "tests/integration/test_terraform_modules.py",
        "tests/integration/test_terraform_validate.py",
    }
)

# Packages whose modules share a package-scoped fixture (conftest.py): all their tests are one unit, in their order.
ONE_UNIT_PER_PACKAGE = frozenset({"tests/integration/terraform_apply/"})

# Markers, slowest kind first: a module's rank is that of its slowest-ranked test.
RANKED_MARKERS = ("docker", "terraform", "integration")


def rank(item: pytest.Item) -> int:
    return next((i for i, name in enumerate(RANKED_MARKERS) if item.get_closest_marker(name)), len(RANKED_MARKERS))


def longest_first(items: list[pytest.Item]) -> None:
    """Sort ``items`` in place by their module's rank, keeping the collection order within a rank and a module."""
    module_rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        module_rank[module] = min(module_rank.get(module, len(RANKED_MARKERS)), rank(item))
    items.sort(key=lambda item: module_rank[item.nodeid.split("::", 1)[0]])


class LongestFirstScheduling(LoadFileScheduling):
    """``--dist loadfile`` with the modules of ``ONE_UNIT_PER_TEST`` split per test, the packages of
    ``ONE_UNIT_PER_PACKAGE`` one unit each, short units behind long ones."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        # pytest-xdist's default (--loadscope-reorder) queues the units with the most tests first, which puts the
        # one-test units last: the collection order above is the order wanted.
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        if module in ONE_UNIT_PER_TEST:
            return nodeid
        return next((package for package in ONE_UNIT_PER_PACKAGE if module.startswith(package)), module)

    def _assign_work_unit(self, node: WorkerController) -> None:
        started_with = next(iter(self.assigned_work.get(node, {}).values()), None)  # dicts keep their order
        if started_with is not None and not all(started_with.values()):
            # The worker is still on the unit it started with, one of the long ones, and xdist's worker holds a
            # unit's last test until it has the next one: what it is given now waits for that unit to end. So a
            # short unit, the last one queued; the long ones go to the workers that are free.
            queue: OrderedDict[str, dict[str, bool]] = self.workqueue
            queue.move_to_end(next(reversed(queue)), last=False)
        super()._assign_work_unit(node)
