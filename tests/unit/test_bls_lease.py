from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from dataquest.bls.holder import ProcessIdentity, owner_gone
from dataquest.bls.lease import Lease, acquire, lease_key
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


def last_modified(s3: Any) -> float:
    return float(s3.head_object(Bucket=BUCKET, Key=lease_key("pr"))["LastModified"].timestamp())


MALFORMED: list[bytes] = [
    b"garbage",
    b"",
    b"[1, 2]",
    b'"a string"',
    b'{"owner": "x"}',  # expires_at missing
    b'{"owner": "x", "expires_at": null}',
    b'{"owner": "x", "expires_at": "tomorrow"}',
    b'{"owner": "x", "expires_at": NaN}',
    b'{"owner": "x", "expires_at": Infinity}',
    b'{"owner": "x", "expires_at": -Infinity}',
    b'{"owner": "x", "expires_at": 1e400}',
    b'{"owner": "x", "expires_at": ' + b"9" * 400 + b"}",  # an integer too large for a float
    b'{"owner": "x", "expires_at": true}',
    b'{"owner": "x", "expires_at": [1]}',
    b'{"owner": "x", "expires_at": {"at": 1}}',
    b'{"owner": 7, "expires_at": "x", "process": "not an object"}',
    b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
    b"\xff\xfe\x00garbage",
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_lease_is_held_until_its_last_modified_plus_the_ttl_then_taken_over(
    s3: Any, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    s3.put_object(Bucket=BUCKET, Key=lease_key("pr"), Body=body)
    modified = last_modified(s3)
    clock = Clock()
    clock.now = modified + 30  # within LastModified + TTL: held
    with pytest.raises(LeaseHeldError, match=r"held by .* until .*: held until its LastModified plus the TTL"):
        acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    assert s3.get_object(Bucket=BUCKET, Key=lease_key("pr"))["Body"].read() == body  # not touched
    clock.now = modified + 61
    with caplog.at_level("WARNING", logger="dataquest"):
        lease = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    assert lease_doc(s3)["owner"] == lease.owner
    taken = [r for r in caplog.records if r.getMessage() == "lease taken over"]
    assert len(taken) == 1
    assert "malformed lease" in taken[0].fields["reason"]  # type: ignore[attr-defined]


def test_an_expiry_far_in_the_future_is_bounded_by_last_modified_plus_the_recorded_ttl(s3: Any) -> None:
    doc = {"owner": "x", "expires_at": 4e12, "ttl": 60}
    s3.put_object(Bucket=BUCKET, Key=lease_key("pr"), Body=json.dumps(doc).encode())
    clock = Clock()
    clock.now = last_modified(s3) + 59
    with pytest.raises(LeaseHeldError):
        acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    clock.now += 2
    acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep).release()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lease_whose_owner_process_is_gone_on_this_host_is_taken_over_at_once(s3: Any) -> None:
    here = ProcessIdentity.current()
    dead = ProcessIdentity(host=here.host, pid=_dead_pid(), boot_id=here.boot_id, pid_ns=here.pid_ns, start="1")
    clock = Clock()
    killed = Lease(s3, BUCKET, "pr", ttl=60, clock=clock, process=dead)
    assert killed.try_acquire() is None
    assert lease_doc(s3)["process"]["pid"] == dead.pid
    second = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)  # no wait for the expiry
    assert lease_doc(s3)["owner"] == second.owner
    assert clock.sleeps == []


def test_a_live_owner_on_this_host_keeps_its_lease(s3: Any) -> None:
    clock = Clock()
    first = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)  # this very process: alive
    with pytest.raises(LeaseHeldError):
        acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    first.release()


def test_a_reused_pid_is_not_the_owner() -> None:
    here = ProcessIdentity.current()
    if here.start is None:
        pytest.skip("no /proc on this platform: process start times are not available")
    reused = ProcessIdentity(here.host, here.pid, here.boot_id, here.pid_ns, start=str(int(here.start) - 1))
    assert owner_gone(reused, here)
    assert not owner_gone(here, here)


def test_another_host_or_namespace_is_never_judged_from_here() -> None:
    here = ProcessIdentity.current()
    dead_pid = _dead_pid()
    assert owner_gone(ProcessIdentity(here.host, dead_pid, here.boot_id, here.pid_ns), here)
    assert not owner_gone(ProcessIdentity("elsewhere", dead_pid, here.boot_id, here.pid_ns), here)
    assert not owner_gone(ProcessIdentity(here.host, dead_pid, "another-boot", here.pid_ns), here)
    assert not owner_gone(ProcessIdentity(here.host, dead_pid, here.boot_id, "pid:[1]"), here)


def test_the_heartbeat_renews_the_lease_while_the_run_lives(s3: Any) -> None:
    clock = Clock()
    lease = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    first = lease_doc(s3)["expires_at"]
    clock.now += 40
    lease.keep_alive(every=0.01)
    deadline = time.monotonic() + 5
    # Wait on the lease's own record of its last successful PUT: moto in-process is not safe for a GET of a key
    # racing a PUT of it from the heartbeat thread (the GET may read the replaced object's closed buffer).
    while lease.expires_at == first and time.monotonic() < deadline:
        time.sleep(0.01)
    with lease._lock:  # no renewal in flight while the object is read back
        assert lease_doc(s3)["expires_at"] == lease.expires_at == first + 40
    lease.release()
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_lease_whose_renewals_failed_past_its_expiry_stops_the_run(s3: Any) -> None:
    clock = Clock()
    lease = acquire(s3, BUCKET, "pr", ttl=60, clock=clock, sleep=clock.sleep)
    lease.check()
    clock.now += 61  # no renewal happened
    with pytest.raises(LeaseHeldError, match="lapsed"):
        lease.check()
