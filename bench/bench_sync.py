"""Benchmark: `dataquest sync-bls` against `rclone sync` and a ceiling, on the same pair (BLS stand-in -> moto).

    .venv/bin/python bench/bench_sync.py [--size-mib 512] [--pairs 3]

A generated file (512 MiB by default) is served by tests/support/bls_site.py (IIS listing, bytes made on the
fly) and synced into a moto server running as its own process. Three contenders, each a subprocess whose wall
time, CPU and peak RSS (``ru_maxrss`` from ``wait4``) are recorded:

- dataquest, as shipped (8 MiB parts, ``DQ_PARTS_IN_FLIGHT`` default, the 1.0 s request interval BLS asks for,
  so the file's GET starts at least 1 s after the listing's), bytecode cached as an installed package has it;
- unpaced: the same command with ``DQ_REQUEST_INTERVAL=0`` (never for BLS): dataquest's own overhead, apart from
  the one-second pause the politeness rule puts between the listing and the file;
- ``rclone sync --s3-no-head``, defaults otherwise;
- the ceiling: boto3's ``upload_file`` of the same bytes from local disk (no source to read, no listing, no
  pacing) into the same moto, 8 MiB parts, as many in flight as dataquest's default; its start-up alone (the
  interpreter, boto3, the client) is timed too, for the floor the politeness rule sets.

After a warm-up of each, ``--pairs`` rounds run, the order rotating, each into a fresh bucket (emptied afterwards:
moto keeps objects in memory). Then a no-op re-sync of an up-to-date mirror: requests and bytes the stand-in
served, per tool. Targets: dataquest <= 0.75x rclone and <= 1.3x the ceiling (medians), peak RSS under 200 MiB.
Exits 2 when rclone is missing. Other processes on the machine make the times noisy: the table prints the load
average and each tool's CPU time; read the ratios.
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

from dataquest.config import DEFAULT_PARTS_IN_FLIGHT  # noqa: E402

MiB = 1024 * 1024
TOOLS = ("dataquest", "unpaced", "rclone", "ceiling")
INTERVAL = 1.0  # DQ_REQUEST_INTERVAL's default: the listing's GET and the file's start at least this far apart
TARGET_VS_RCLONE = 0.75
TARGET_VS_CEILING = 1.3
CEILING = """
import sys, boto3
from boto3.s3.transfer import TransferConfig
endpoint, bucket, path, parts = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
cfg = TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=int(parts))
s3.upload_file(path, bucket, "bls/pr/big.bin", Config=cfg)
"""
STARTUP = """
import sys, boto3
from boto3.s3.transfer import TransferConfig
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
"""
STARTUP_RUNS = 5
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
    def __init__(self, site: BlsSite, endpoint: str, local_copy: Path) -> None:
        self.site = site
        self.endpoint = endpoint
        self.local_copy = local_copy
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
        if tool in ("dataquest", "unpaced"):
            if tool == "unpaced":  # the same command without the pause BLS asks for: our own overhead, measured
                env["DQ_REQUEST_INTERVAL"] = "0"
            env.update(
                AWS_ENDPOINT_URL=self.endpoint,
                DQ_BUCKET=bucket,
                DQ_CONTACT=CONTACT,
                DQ_BLS_BASE_URL=self.site.base_url,
            )
            cmd = [str(ROOT / ".venv" / "bin" / "dataquest"), "sync-bls", "--json"]
        elif tool == "ceiling":
            env.update(AWS_ENDPOINT_URL=self.endpoint)
            parts = str(DEFAULT_PARTS_IN_FLIGHT)
            cmd = [sys.executable, "-c", CEILING, self.endpoint, bucket, str(self.local_copy), parts]
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

    local_copy = ROOT / ".bench" / f"big-{args.size_mib}MiB.bin"
    with BlsSite() as site, moto_process() as endpoint:
        site.put_generated("pr/big.bin", size, seed=7)
        if not (local_copy.is_file() and local_copy.stat().st_size == size):  # the ceiling's input: the same bytes
            local_copy.parent.mkdir(exist_ok=True)
            with local_copy.open("wb") as f:
                for chunk in site.files[site.root + "pr/big.bin"].chunks():
                    f.write(chunk)
        bench = Bench(site, endpoint, local_copy)
        samples: dict[str, list[Sample]] = {t: [] for t in TOOLS}
        for tool in TOOLS:  # warm-up, not counted
            bucket = bench.fresh_bucket()
            s = bench.run(tool, bucket)
            bench.check(bucket, size)
            bench.empty(bucket)
            print(f"  warm-up {tool:9} {s.seconds:6.2f} s  {s.max_rss_mib:6.1f} MiB  cpu {s.cpu_seconds:5.2f} s")
        for i in range(args.pairs):
            order = TOOLS[i % len(TOOLS) :] + TOOLS[: i % len(TOOLS)]
            for tool in order:
                bucket = bench.fresh_bucket()
                s = bench.run(tool, bucket)
                if s.returncode != 0:
                    return 1
                bench.check(bucket, size)
                bench.empty(bucket)
                samples[tool].append(s)
                print(
                    f"  round {i + 1} {tool:9} {s.seconds:6.2f} s  {s.max_rss_mib:6.1f} MiB  cpu {s.cpu_seconds:5.2f} s"
                )

        env = {**os.environ, **KEYS}  # the ceiling's start-up alone: its interpreter, boto3, the client; no bytes
        startup = min(
            measure("startup", [sys.executable, "-c", STARTUP, endpoint], env).seconds for _ in range(STARTUP_RUNS)
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
    vs_rclone, vs_ceiling = med["dataquest"] / med["rclone"], med["dataquest"] / med["ceiling"]
    print()
    print(f"{'':26}" + "".join(f"{t:>11}" for t in TOOLS) + f"{'dq/rclone':>11}{'dq/ceiling':>11}")

    def row(label: str, v: dict[str, float], fmt: str) -> None:
        cells = "".join(f"{v[t]:11{fmt}}" for t in TOOLS)
        print(f"{label:26}{cells}{v['dataquest'] / v['rclone']:11.2f}{v['dataquest'] / v['ceiling']:11.2f}")

    row("median time (s)", med, ".2f")
    row("throughput (MiB/s)", rate, ".1f")
    row("median CPU time (s)", cpu, ".2f")
    row("peak RSS (MiB)", rss, ".1f")
    dq, rc = noop["dataquest"], noop["rclone"]
    gap = " " * 11  # the no-op rows: dataquest (paced) and rclone
    print(f"{'no-op: GET requests':26}{dq[0]:11d}{gap}{rc[0]:11d}")
    print(f"{'no-op: HEAD requests':26}{dq[1]:11d}{gap}{rc[1]:11d}")
    print(f"{'no-op: bytes downloaded':26}{dq[2]:11d}{gap}{rc[2]:11d}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (times are noisy under load)")
    print()
    verdict = {True: "met", False: "MISSED"}
    print(
        f"target: <= {TARGET_VS_RCLONE}x rclone (median): {verdict[vs_rclone <= TARGET_VS_RCLONE]} ({vs_rclone:.2f}x)"
    )
    print(
        f"target: <= {TARGET_VS_CEILING}x the ceiling (median): "
        f"{verdict[vs_ceiling <= TARGET_VS_CEILING]} ({vs_ceiling:.2f}x)"
    )
    floor = med["ceiling"] - startup + INTERVAL
    print(
        f"the floor under the politeness rule: the file's GET starts at least {INTERVAL:.1f} s after the listing's, "
        f"and the copy takes at least the ceiling's own time without its start-up ({startup:.2f} s, best of "
        f"{STARTUP_RUNS}): {floor:.2f} s even with no start-up of ours = {floor / med['rclone']:.2f}x rclone, "
        f"{floor / med['ceiling']:.2f}x the ceiling"
    )
    print(
        f"without the pause (DQ_REQUEST_INTERVAL=0, not for BLS): {med['unpaced'] / med['rclone']:.2f}x rclone, "
        f"{med['unpaced'] / med['ceiling']:.2f}x the ceiling"
    )
    print(f"target: peak RSS under 200 MiB: {verdict[rss['dataquest'] < 200]} ({rss['dataquest']:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
