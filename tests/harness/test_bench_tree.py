"""The first-mirror model of bench/tree.py (make bench-tree): pacing and two streams bound the schedule."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "tree.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tree", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_empty_files_are_paced_one_request_a_second(bench: ModuleType) -> None:
    assert bench.mirror_hours([0] * 3600, rate=1.0, request_cost=0.0) == pytest.approx(1.0)


def test_a_slow_request_is_the_pace_when_above_a_second(bench: ModuleType) -> None:
    assert bench.mirror_hours([0] * 1800, rate=1.0, request_cost=2.0) == pytest.approx(1.0)


def test_two_streams_at_most_carry_the_bytes(bench: ModuleType) -> None:
    # starts at 1 s and 2 s, both 3600 s long; a third waits for the first slot (3601 s) and ends at 7201 s
    assert bench.mirror_hours([3600, 3600], rate=1.0, request_cost=0.0) * 3600 == pytest.approx(3602)
    assert bench.mirror_hours([3600, 3600, 3600], rate=1.0, request_cost=0.0) * 3600 == pytest.approx(7201)


def test_requests_per_second_count_starts_in_half_open_windows_that_jitter_cannot_fool(bench: ModuleType) -> None:
    paced = [0.0, 0.995, 2.0, 2.99, 4.0]  # one a second, some arriving a few ms early
    assert bench.max_starts_per_second(paced, jitter=0.02) == 1
    assert bench.max_starts_per_second([0.0, 0.5, 0.9, 1.0], jitter=0.02) == 3  # a faster client is seen
    assert bench.max_starts_per_second([], jitter=0.02) == 0


def test_the_client_starts_are_read_from_the_debug_log(bench: ModuleType) -> None:
    stderr = "\n".join(
        [
            '{"message": "http request", "method": "GET", "start": 12.5}',
            "a line that is not JSON",
            '{"message": "http request", "method": "HEAD", "start": 11.0}',
            '{"message": "upload", "key": "bls/pr/x"}',
        ]
    )
    assert bench.client_starts(stderr) == [11.0, 12.5]
