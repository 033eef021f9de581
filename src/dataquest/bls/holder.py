"""Who holds a lease (:mod:`dataquest.bls.lease`), as another run reads it.

A lease records its owner's host (host name, kernel boot id, PID namespace), PID and process start time
(:class:`ProcessIdentity`): a run on the same host sees at once that the owner is gone (its PID is free, or now a
younger process's) without waiting for the expiry (:func:`owner_gone`); another host's owner only the expiry can
tell. :func:`read_holder` reads a lease object and trusts none of it: a malformed one is held until its
``LastModified`` plus the TTL, and a well-formed expiry is bounded by the same.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MAX_RECORDED_TTL = 24 * 3600.0
"""A TTL recorded in a lease is believed up to this; past it, the reader's own TTL bounds the lease."""


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), where /proc exists."""
    stat = _read_text(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold blanks and parentheses
    return fields[19] if len(fields) > 19 else None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


@dataclass(frozen=True)
class ProcessIdentity:
    """Enough to tell, on the same host, whether a process still runs: host, boot, PID namespace, PID, start."""

    host: str
    pid: int
    boot_id: str | None = None
    """The kernel's boot id: after a reboot, the same host name and PID are another process."""
    pid_ns: str | None = None
    """The PID namespace: a container on the same machine has one of its own."""
    start: str | None = None
    """The start time in clock ticks since boot: a PID taken over by a younger process shows a later one."""

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(
            host=socket.gethostname(),
            pid=pid,
            boot_id=_read_text("/proc/sys/kernel/random/boot_id"),
            pid_ns=_pid_namespace(),
            start=_process_start(pid),
        )

    @classmethod
    def from_document(cls, doc: object) -> ProcessIdentity | None:
        if not isinstance(doc, Mapping):
            return None
        host, pid = doc.get("host"), doc.get("pid")
        if not isinstance(host, str) or isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31:
            return None
        boot_id, pid_ns, start = (doc.get(k) for k in ("boot_id", "pid_ns", "start"))
        return cls(
            host=host,
            pid=pid,
            boot_id=boot_id if isinstance(boot_id, str) else None,
            pid_ns=pid_ns if isinstance(pid_ns, str) else None,
            start=start if isinstance(start, str) else None,
        )

    def same_host(self, other: ProcessIdentity) -> bool:
        """Both on one host and one PID namespace (a container on the same machine has a namespace of its own)."""
        if self.host != other.host:
            return False
        if self.boot_id and other.boot_id and self.boot_id != other.boot_id:
            return False
        return not (self.pid_ns and other.pid_ns and self.pid_ns != other.pid_ns)


def owner_gone(owner: ProcessIdentity, here: ProcessIdentity) -> bool:
    """True when ``owner`` ran on this host and no longer runs (its PID is free, or now a younger process)."""
    if not here.same_host(owner):
        return False  # another host's process: only its expiry can tell
    if owner.pid == here.pid:
        return owner.start is not None and here.start is not None and owner.start != here.start
    start_now = _process_start(owner.pid)
    if start_now is not None:  # the PID runs: the owner, or a newer process that took its PID
        return owner.start is not None and owner.start != start_now
    if Path("/proc/self/stat").exists():
        return True  # /proc works here and has no such PID
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's)
    return False


@dataclass(frozen=True)
class Holder:
    """A lease someone else holds, as read: who, until when (effective), and whether it was malformed."""

    owner: str
    expires_at: float
    etag: str | None
    problem: str | None = None
    """Why the object could not be trusted as written (then ``expires_at`` is its LastModified plus the TTL)."""
    process: ProcessIdentity | None = None


def _finite_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def read_holder(raw: bytes, etag: str | None, last_modified: float, ttl: float) -> Holder:
    """What a lease object says, made safe: an expiry no later than ``LastModified`` plus the recorded TTL."""
    try:
        doc: object = json.loads(raw)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        bound = last_modified + ttl
        return Holder("an unreadable lease (not a JSON object)", bound, etag, problem="it is not a JSON object")
    owner = doc.get("owner")
    owner_text = owner if isinstance(owner, str) else "an unnamed holder"
    recorded_ttl = _finite_number(doc.get("ttl"))
    holder_ttl = max(ttl, recorded_ttl) if recorded_ttl is not None and 0 < recorded_ttl <= MAX_RECORDED_TTL else ttl
    bound = last_modified + holder_ttl
    expires = _finite_number(doc.get("expires_at"))
    process = ProcessIdentity.from_document(doc.get("process"))
    if expires is None:
        seen = "missing" if "expires_at" not in doc else _short(doc.get("expires_at"))
        return Holder(owner_text, bound, etag, problem=f"its expires_at is {seen}", process=process)
    return Holder(owner_text, min(expires, bound), etag, process=process)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
