"""Benchmark: `dataquest sync-bls` against `rclone sync` on the same pair (local BLS stand-in -> moto server).

    .venv/bin/python bench/bench_sync.py [--size-mib 512] [--pairs 3]

A generated file (512 MiB by default) is served by tests/support/bls_site.py (IIS listing, bytes made on the
fly) and synced into a moto server running as its own process. After a warm-up transfer of each tool, ``--pairs``
pairs run in alternating order, each into a fresh bucket (emptied afterwards: moto keeps objects in memory).
Each tool runs as a subprocess; its wall time and peak RSS (``ru_maxrss`` from ``wait4``) are recorded. Then a
no-op re-sync of an up-to-date mirror: requests and bytes the stand-in served, per tool. Targets: dataquest no
slower than rclone (median), peak RSS under 200 MiB. Exits 2 when rclone is missing.

dataquest runs as shipped (default part size, concurrency and the 0.5 s request pacing BLS asks for), with its
bytecode cached as an installed package has it; rclone runs with ``--s3-no-head`` and its defaults otherwise.
Other processes on the machine make the times noisy: the table prints the load average and each tool's CPU time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.aws import free_port  # noqa: E402
from tests.support.bls_site import BlsSite  # noqa: E402

MiB = 1024 * 1024
CONTACT = "bench@example.org"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class Sample:
    tool: str
    seconds: float
    max_rss_mib: float
    cpu_seconds: float
    returncode: int


@contextmanager
def moto_process() -> Iterator[str]:
    port = free_port()
    exe = ROOT / ".venv" / "bin" / "moto_server"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(tool: str, cmd: list[str], env: dict[str, str]) -> Sample:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        print(f"{tool} failed (exit {proc.returncode}):\n{err[-2000:]}", file=sys.stderr)
    return Sample(tool, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode)


class Bench:
    def __init__(self, site: BlsSite, endpoint: str) -> None:
        self.site = site
        self.endpoint = endpoint
        self.s3: Any = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_creds())

    def fresh_bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:12]}"
        self.s3.create_bucket(Bucket=name)
        return name

    def empty(self, bucket: str) -> None:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                self.s3.delete_object(Bucket=bucket, Key=obj["Key"])
        for up in self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            self.s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
        self.s3.delete_bucket(Bucket=bucket)

    def run(self, tool: str, bucket: str) -> Sample:
        # plain-HTTP endpoints: no CA bundle; bytecode cached as an installed package has it (after the warm-up)
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_CA_BUNDLE", "PYTHONDONTWRITEBYTECODE")}
        env.update(KEYS)
        if tool == "dataquest":
            env.update(
                AWS_ENDPOINT_URL=self.endpoint,
                DQ_BUCKET=bucket,
                DQ_CONTACT=CONTACT,
                DQ_BLS_BASE_URL=self.site.base_url,
            )
            cmd = [str(ROOT / ".venv" / "bin" / "dataquest"), "sync-bls", "--json"]
        else:
            cmd = [
                "rclone",
                "sync",
                ":http:pr/",
                f":s3:{bucket}/bls/pr/",
                "--http-url",
                self.site.base_url,
                "--s3-provider",
                "Other",
                "--s3-endpoint",
                self.endpoint,
                "--s3-access-key-id",
                "testing",
                "--s3-secret-access-key",
                "testing",
                "--s3-region",
                "us-east-1",
                "--s3-no-head",
                "--user-agent",
                f"rclone-bench (+{CONTACT})",
                "--config",
                "/dev/null",
            ]
        return measure(tool, cmd, env)

    def check(self, bucket: str, size: int) -> None:
        got = self.s3.head_object(Bucket=bucket, Key="bls/pr/big.bin")["ContentLength"]
        if got != size:
            raise SystemExit(f"s3://{bucket}/bls/pr/big.bin has {got} bytes, expected {size}")


def _creds() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("rclone") is None:
        print(
            "bench-sync: rclone is not installed; install it (apt-get install -y rclone, or `make bench-sync` as "
            "root does it) and run again",
            file=sys.stderr,
        )
        return 2
    size = args.size_mib * MiB
    version = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    print(
        f"bench-sync: a {args.size_mib} MiB file, local BLS stand-in -> moto server; {version}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    with BlsSite() as site, moto_process() as endpoint:
        site.put_generated("pr/big.bin", size, seed=7)
        bench = Bench(site, endpoint)
        samples: dict[str, list[Sample]] = {"dataquest": [], "rclone": []}
        for tool in ("dataquest", "rclone"):  # warm-up, not counted
            bucket = bench.fresh_bucket()
            s = bench.run(tool, bucket)
            bench.check(bucket, size)
            bench.empty(bucket)
            print(f"  warm-up {tool:9} {s.seconds:6.2f} s  {s.max_rss_mib:6.1f} MiB  cpu {s.cpu_seconds:5.2f} s")
        for i in range(args.pairs):
            order = ("dataquest", "rclone") if i % 2 == 0 else ("rclone", "dataquest")
            for tool in order:
                bucket = bench.fresh_bucket()
                s = bench.run(tool, bucket)
                if s.returncode != 0:
                    return 1
                bench.check(bucket, size)
                bench.empty(bucket)
                samples[tool].append(s)
                print(
                    f"  pair {i + 1} {tool:9} {s.seconds:6.2f} s  {s.max_rss_mib:6.1f} MiB  cpu {s.cpu_seconds:5.2f} s"
                )

        noop: dict[str, tuple[int, int, int]] = {}
        for tool in ("dataquest", "rclone"):
            bucket = bench.fresh_bucket()
            bench.run(tool, bucket)
            site.reset_counts()
            s = bench.run(tool, bucket)
            gets, heads = site.count(method="GET"), site.count(method="HEAD")
            noop[tool] = (gets, heads, site.bytes_sent)
            bench.empty(bucket)
            if s.returncode != 0:
                return 1

    med = {t: statistics.median(x.seconds for x in v) for t, v in samples.items()}
    rss = {t: max(x.max_rss_mib for x in v) for t, v in samples.items()}
    cpu = {t: statistics.median(x.cpu_seconds for x in v) for t, v in samples.items()}
    rate = {t: args.size_mib / med[t] for t in med}
    print()
    print(f"{'':28}{'dataquest':>12}{'rclone':>12}{'dq/rclone':>12}")
    print(
        f"{'median time (s)':28}{med['dataquest']:12.2f}{med['rclone']:12.2f}{med['dataquest'] / med['rclone']:12.2f}"
    )
    print(f"{'throughput (MiB/s)':28}{rate['dataquest']:12.1f}{rate['rclone']:12.1f}")
    print(
        f"{'median CPU time (s)':28}{cpu['dataquest']:12.2f}{cpu['rclone']:12.2f}"
        f"{cpu['dataquest'] / cpu['rclone']:12.2f}"
    )
    print(f"{'peak RSS (MiB)':28}{rss['dataquest']:12.1f}{rss['rclone']:12.1f}{rss['dataquest'] / rss['rclone']:12.2f}")
    dq, rc = noop["dataquest"], noop["rclone"]
    print(f"{'no-op: GET requests':28}{dq[0]:12d}{rc[0]:12d}")
    print(f"{'no-op: HEAD requests':28}{dq[1]:12d}{rc[1]:12d}")
    print(f"{'no-op: bytes downloaded':28}{dq[2]:12d}{rc[2]:12d}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (times are noisy under load)")
    print()
    fast = med["dataquest"] <= med["rclone"]
    small = rss["dataquest"] < 200
    print(f"target: no slower than rclone (median): {'met' if fast else 'MISSED'}")
    print(f"target: peak RSS under 200 MiB: {'met' if small else 'MISSED'} ({rss['dataquest']:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
