from __future__ import annotations

import json
from typing import Any

import pytest

from dataquest.bls.lease import acquire, lease_key
from dataquest.errors import LeaseHeldError

BUCKET = "lease-bucket"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def lease_doc(s3: Any) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=lease_key("pr"))["Body"].read()))


def test_a_second_sync_is_declined_naming_the_holder_and_expiry(s3: Any) -> None:
    clock = Clock()
    first = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    assert lease_doc(s3)["owner"] == first.owner
    with pytest.raises(LeaseHeldError, match=r"another sync of survey 'pr' is running .* held by .* until"):
        acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    # another survey is independent
    acquire(s3, BUCKET, "ce", ttl=60, clock=clock, sleep=clock.sleep).release()
    first.release()
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep).release()


def test_a_waiting_sync_polls_until_its_deadline(s3: Any) -> None:
    clock = Clock()
    acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    with pytest.raises(LeaseHeldError):
        acquire(s3, BUCKET, "pr", ttl=60, wait=5, poll=2, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [2, 2, 1]


def test_an_expired_lease_of_a_killed_run_is_taken_over(s3: Any) -> None:
    clock = Clock()
    killed = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    clock.now += 61
    second = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    assert lease_doc(s3)["owner"] == second.owner != killed.owner
    # the killed run, were it to come back, finds it lost and stops; its release does not delete the new lease
    killed.renew()
    with pytest.raises(LeaseHeldError, match="taken over"):
        killed.check()
    killed.release()
    assert lease_doc(s3)["owner"] == second.owner


def test_renewing_extends_the_expiry(s3: Any) -> None:
    clock = Clock()
    lease = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    first_expiry = lease_doc(s3)["expires_at"]
    clock.now += 50
    lease.renew()
    assert lease_doc(s3)["expires_at"] == first_expiry + 50
    lease.check()
    clock.now += 50  # 100 s after the start, but only 50 after the renewal
    with pytest.raises(LeaseHeldError):
        acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)


def test_an_unreadable_lease_counts_as_expired(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=lease_key("pr"), Body=b"garbage")
    lease = acquire(s3, BUCKET, "pr", ttl=60)
    assert lease_doc(s3)["owner"] == lease.owner
