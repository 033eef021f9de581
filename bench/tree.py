"""Benchmark: `dataquest sync-bls` over a whole synthetic /pub/time.series/ tree; a model of the real one (issue 12).

    .venv/bin/python bench/tree.py [--scale 1] [--seed 7] [--interval 1.0] [--bandwidth-mib 0] [--changed 3]

A synthetic tree (tests/support/bls_tree.py: ``round(10 * scale)`` surveys, sub-folders, heavy-tailed sizes, a
``compressed/`` folder and documentation files at the root) is served by the BLS stand-in
(tests/support/bls_site.py) and mirrored into a moto server by ``dataquest sync-bls`` as a subprocess, as
bench/bench_sync.py does (its moto helper is reused; stderr goes to a file, as a whole tree logs more than a
pipe holds). Three phases, each measured at the source:

- first sync (``sync-bls --survey all``): files and bytes, checked byte for byte against the tree, wall time,
  requests started in any one second (max), bodies in flight (max);
- no-op re-sync: listing requests per folder (checked: exactly one per folder plus the root) and file bodies
  (checked: none);
- a new release of ``--changed`` surveys (``SyntheticTree.mutate``): the files moved (checked: exactly the files
  changed or added).

Requests per second are counted where they start: ``sync-bls`` runs with ``--log-level DEBUG`` and logs each
request's start on its pacer's clock (``http request``, ``start``); the most starts in any half-open window
``[t, t + 1 s)`` and the shortest gap between two starts are the client's. At the source the same count uses
windows ``[t, t + 1 s - JITTER)``, so that a request arriving up to ``JITTER`` late or early (the stand-in's arrival
jitter: threads, the loopback, a loaded machine) is not taken for a faster client.
A failed check prints FAILED and makes the exit status 1.

Then the model: the measured cost of a request (the no-op's median gap between requests at the source, and its
time outside them) and a stream's throughput (body bytes / time streaming; ``--model-rate-mib`` replaces it with an
assumed rate from BLS) projected onto the real tree (65 surveys, 1,095 files, 35 GB) at 1 request/s and 2
streams: hours for a first full mirror, a no-op day's requests and cost, and Lambda GB-seconds per month.
It prints; it asserts no timing. ``DQ_REQUEST_INTERVAL`` is ``--interval`` (1.0 s, what BLS asks for, by default;
a smaller one makes a quick run). ``--bandwidth-mib`` caps each body's rate at the source (slow large files).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_sync import CONTACT, KEYS, _creds, moto_process  # noqa: E402
from tests.support.bls_site import BlsSite  # noqa: E402
from tests.support.bls_tree import SyntheticTree  # noqa: E402

MiB = 1024 * 1024
GB = 10**9
# The real tree (one public full-mirror run) and the deployment's politeness defaults (issue 12).
REAL_SURVEYS, REAL_FILES, REAL_BYTES = 65, 1_095, 35 * GB
REAL_RATE, REAL_STREAMS = 1.0, 2  # requests started per second, bodies in flight
JITTER = 0.05  # seconds a request may arrive early at the stand-in without counting as a faster start
# AWS Lambda, us-east-1, x86_64, on-demand (https://aws.amazon.com/lambda/pricing/, as listed 2025-09; unchanged
# since 2020): per GB-second of duration and per request; the monthly free tier is not deducted.
LAMBDA_GB_S_USD, LAMBDA_REQUEST_USD = 0.0000166667, 0.20 / 1_000_000
LAMBDA_MEMORY_GB = 1024 / 1024  # terraform/modules/pipeline: ingest_memory_size default 1024 MB
RUNS_PER_MONTH = 30  # schedule_expression default: once a day
LAMBDA_MB_PER_VCPU = 1769  # Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB


@dataclass
class Phase:
    name: str
    seconds: float
    returncode: int
    requests: int
    listings: dict[str, int]
    bodies: list[str]
    body_bytes: int
    stream_seconds: float
    max_rps: int  # client-side: starts in any [t, t + 1 s)
    client_min_gap: float  # client-side: the shortest gap between two starts
    source_max_rps: int  # at the stand-in, in windows [t, t + 1 s - JITTER)
    max_streams: int
    request_gap: float  # median time between two requests' starts at the source
    min_gap: float  # the shortest (a gap a little under the interval is arrival jitter, not a faster client)
    outside: float  # wall time before the first request and after the last one (start-up, S3, exit)


def max_starts_per_second(starts: list[float], jitter: float = JITTER) -> int:
    """The most request starts in any half-open window ``[t, t + 1 s - jitter)``."""
    times = sorted(starts)
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0 - jitter:
            first += 1
        best = max(best, last - first + 1)
    return best


def client_starts(stderr: str) -> list[float]:
    """The request starts ``sync-bls --log-level DEBUG`` logged (JSON lines ``http request``), sorted."""
    starts = []
    for line in stderr.splitlines():
        if '"http request"' in line:
            with contextlib.suppress(ValueError, KeyError):
                starts.append(float(json.loads(line)["start"]))
    return sorted(starts)


def sync(site: BlsSite, endpoint: str, bucket: str, *, interval: float, name: str) -> Phase:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_CA_BUNDLE", "PYTHONDONTWRITEBYTECODE")}
    env.update(KEYS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        DQ_BUCKET=bucket,
        DQ_CONTACT=CONTACT,
        DQ_BLS_BASE_URL=site.base_url,
        DQ_REQUEST_INTERVAL=str(interval),
    )
    site.reset_counts()
    cmd = [str(ROOT / ".venv" / "bin" / "dataquest"), "sync-bls", "--json", "--survey", "all", "--log-level", "DEBUG"]
    with tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        returncode = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, check=False).returncode
        seconds = time.perf_counter() - began
        if returncode != 0:
            err.seek(0)
            print(f"{name}: sync-bls failed (exit {returncode}):\n{err.read().decode(errors='replace')[-2000:]}")
        err.seek(0)
        client = client_starts(err.read().decode(errors="replace"))
    site.wait_idle()
    starts = sorted(r.at for r in site.requests)
    gaps = [b - a for a, b in pairwise(starts)]
    return Phase(
        name=name,
        seconds=seconds,
        returncode=returncode,
        requests=len(site.requests),
        listings=site.listing_gets(),
        bodies=sorted(s.path[len(site.root) :] for s in site.streams),
        body_bytes=sum(s.bytes for s in site.streams),
        stream_seconds=sum(s.end - s.start for s in site.streams),
        max_rps=max_starts_per_second(client, jitter=0.0),
        client_min_gap=min((b - a for a, b in pairwise(client)), default=0.0),
        source_max_rps=max_starts_per_second(starts),
        max_streams=site.max_streams(),
        request_gap=statistics.median(gaps) if gaps else 0.0,
        min_gap=min(gaps, default=0.0),
        outside=seconds - (starts[-1] - starts[0] if starts else 0.0),
    )


def mirror_hours(sizes: list[int], rate: float, request_cost: float) -> float:
    """A first mirror's duration: one request per file started at most ``REAL_RATE`` a second and no sooner than
    ``request_cost`` after the one before, each body streaming at ``rate`` bytes/s, ``REAL_STREAMS`` at once."""
    free = [0.0] * REAL_STREAMS  # when each stream slot is free
    start = 0.0
    for size in sizes:
        slot = min(range(REAL_STREAMS), key=free.__getitem__)
        start = max(start + max(1 / REAL_RATE, request_cost), free[slot])
        free[slot] = start + size / rate
    return max(free) / 3600


def model(tree: SyntheticTree, first: Phase, noop: Phase, rate_override: float | None, noop_interval: float) -> None:
    request_cost = noop.request_gap  # pacing and latency: the source's view of one request after another
    rate = first.body_bytes / first.stream_seconds if first.stream_seconds else float("inf")
    used = rate_override * MiB if rate_override else rate
    shape = SyntheticTree(seed=tree.seed, scale=6.5)  # the real shape: its files repeated to 1,095, sizes to 35 GB
    synthetic = [f.size for f in sorted(shape.files.values(), key=lambda f: f.path)]
    synthetic = (synthetic * math.ceil(REAL_FILES / len(synthetic)))[:REAL_FILES]
    sizes = [int(size * REAL_BYTES / sum(synthetic)) for size in synthetic]
    real_folders = REAL_SURVEYS + sum(1 for f in shape.folders() if f.count("/") > 1)
    hours = mirror_hours(sizes, used, request_cost)
    noop_requests = real_folders + 1  # every folder's listing and the root's
    noop_seconds = noop.outside + noop_requests * max(1 / REAL_RATE, request_cost)
    month_gb_s = RUNS_PER_MONTH * noop_seconds * LAMBDA_MEMORY_GB
    first_gb_s = hours * 3600 * LAMBDA_MEMORY_GB
    invocations = max(1, math.ceil(hours * 3600 / 900))
    print()
    print("model of the real tree (65 surveys, 1,095 files, 35 GB) at 1 request/s and 2 streams")
    print(
        f"  measured: {request_cost:.3f} s between requests (no-op, median), {noop.outside:.1f} s outside them "
        f"(start-up, S3, exit) at --interval {noop_interval}"
    )
    print(f"  measured: {rate / MiB:.1f} MiB/s per stream (first sync: {first.body_bytes} bytes in bodies)")
    if rate_override:
        print(f"  used:     {rate_override:.1f} MiB/s per stream (--model-rate-mib), not the measured rate")
    print(
        f"  shape:    {len(sizes)} files, {real_folders} folders, largest {max(sizes) / GB:.2f} GB (scale 6.5): "
        f"{max(sizes) / used / 60:.0f} min alone (a Lambda invocation lasts at most 15 min)"
    )
    print(
        f"  first full mirror: {hours:.2f} h ({len(sizes)} requests >= {len(sizes) / REAL_RATE / 3600:.2f} h of pacing,"
    )
    print(
        f"    {REAL_BYTES / (REAL_STREAMS * used) / 3600:.2f} h of bytes at 2 streams); Lambda: {first_gb_s:,.0f} GB-s,"
    )
    print(f"    ${first_gb_s * LAMBDA_GB_S_USD:.2f}, at least {invocations} invocations of 15 min")
    print(
        f"  no-op day: {noop_requests} listing requests, 0 bodies, {noop_seconds:.0f} s, "
        f"{noop_seconds * LAMBDA_MEMORY_GB:.0f} GB-s, ${noop_seconds * LAMBDA_MEMORY_GB * LAMBDA_GB_S_USD:.4f}"
    )
    print(
        f"  a month of no-op days ({RUNS_PER_MONTH}): {month_gb_s:,.0f} GB-s, "
        f"${month_gb_s * LAMBDA_GB_S_USD + RUNS_PER_MONTH * LAMBDA_REQUEST_USD:.2f} "
        f"(x86_64, {LAMBDA_MEMORY_GB:.0f} GB, ${LAMBDA_GB_S_USD}/GB-s, $0.20/1M requests, us-east-1, 2025-09; "
        "free tier not deducted)"
    )


def report(phase: Phase, folders: int) -> None:
    per_folder = sorted(set(phase.listings.values()))
    print(
        f"{phase.name:12} exit {phase.returncode}  {phase.seconds:7.1f} s  {phase.requests:5} requests  "
        f"{len(phase.bodies):4} bodies  {phase.body_bytes / MiB:9.2f} MiB  max {phase.max_rps} req/s started "
        f"(min gap {phase.client_min_gap:.3f} s; at the source {phase.source_max_rps}, min gap {phase.min_gap:.3f} s)  "
        f"max {phase.max_streams} streams  "
        f"listings: {len(phase.listings)}/{folders} folders, {per_folder} per folder"
    )


def mirror_check(s3: Any, bucket: str, site: BlsSite, tree: SyntheticTree) -> tuple[bool, str]:
    """Whether ``bls/`` holds exactly the surveys' files of ``tree``, each byte for byte as the source serves it."""
    keys = sorted(
        o["Key"]
        for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="bls/")
        for o in p.get("Contents", [])
    )
    expected = sorted(f"bls/{p}" for p in tree.files if p.split("/", 1)[0] in tree.surveys)
    if keys != expected:
        return False, f"{len(keys)} objects under bls/, the tree's surveys have {len(expected)} files"
    different = [k for k in keys if s3.get_object(Bucket=bucket, Key=k)["Body"].read() != site.data_of(k[4:])]
    if different:
        return False, f"{len(different)} of {len(keys)} objects differ from the source, e.g. {different[0]}"
    return True, f"{len(keys)} objects, byte for byte equal to the source"


def check(name: str, ok: bool, detail: str) -> bool:
    print(f"  {'ok    ' if ok else 'FAILED'} {name}: {detail}")
    return ok


def run_phases(args: argparse.Namespace, tree: SyntheticTree, folders: list[str]) -> tuple[Phase, Phase, bool]:
    """The three syncs and their checks; the first sync's and the no-op's measures for the model."""
    with BlsSite(bandwidth=args.bandwidth_mib * MiB or None) as site, moto_process() as endpoint:
        tree.install(site)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_creds())
        bucket = f"bench-tree-{int(time.time())}"
        s3.create_bucket(Bucket=bucket)
        first = sync(site, endpoint, bucket, interval=args.interval, name="first sync")
        report(first, len(folders))
        first_ok, first_detail = mirror_check(s3, bucket, site, tree)
        noop = sync(site, endpoint, bucket, interval=args.interval, name="no-op")
        report(noop, len(folders))
        changed_surveys = tree.surveys[: args.changed]
        change = tree.mutate(changed_surveys)
        tree.install(site)
        changed = sync(site, endpoint, bucket, interval=args.interval, name="change")
        report(changed, len(folders))
        last_ok, last_detail = mirror_check(s3, bucket, site, tree)
        root = site.root
    phases = (first, noop, changed)
    one_each = {root: 1} | {root + f: 1 for f in folders}
    print()
    results = [
        check("exit status", not any(p.returncode for p in (first, noop, changed)), "0 for every sync"),
        check("first sync", first_ok, first_detail),
        check(
            "no-op",
            noop.listings == one_each and not noop.bodies,
            f"{len(noop.bodies)} bodies, {noop.requests} requests: {len(noop.listings)} folders listed "
            f"(the root and {len(folders)} folders), {sorted(set(noop.listings.values()))} listing(s) each",
        ),
        check(
            f"change in {', '.join(changed_surveys)}",
            changed.bodies == sorted(change.moved),
            f"moved {len(changed.bodies)} files, the {len(change.moved)} changed or added; "
            f"{len(change.removed)} removed at the source",
        ),
        check("mirror after the change", last_ok, last_detail),
        check(
            "politeness",
            all(p.client_min_gap >= args.interval - 1e-6 and p.max_streams <= REAL_STREAMS for p in phases),
            f"request starts at least {args.interval} s apart (shortest "
            f"{min(p.client_min_gap for p in phases):.3f} s, on the client's clock), at most "
            f"{max(p.max_streams for p in phases)} bodies at once",
        ),
    ]
    return first, noop, all(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--interval", type=float, default=1.0, help="DQ_REQUEST_INTERVAL (s)")
    parser.add_argument("--bandwidth-mib", type=float, default=0.0, help="per-stream cap at the source (0: none)")
    parser.add_argument("--changed", type=int, default=3, help="surveys in the new release")
    parser.add_argument("--model-rate-mib", type=float, default=0.0, help="per-stream rate for the model (0: measured)")
    args = parser.parse_args()

    tree = SyntheticTree(seed=args.seed, scale=args.scale)
    folders = [f for f in tree.folders() if f != "compressed/"]
    print(
        f"bench-tree: scale {args.scale}: {len(tree.surveys)} surveys, {len(tree.files)} files, {len(folders)} "
        f"folders, {tree.total_bytes / MiB:.1f} MiB; interval {args.interval} s; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    first, noop, ok = run_phases(args, tree, folders)
    model(tree, first, noop, args.model_rate_mib or None, args.interval)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())


def lake_model(*, rate: float, cpu_rate: float, noop_seconds: float, peak_mb: float, daily_changed: int) -> None:
    """Silver on the real tree: the first build and a day's updates, from a measured build rate (source bytes/s).

    Called by bench/bench_lake_update.py with what it measured on its synthetic tree. The data files' share of
    the real tree's 35 GB and the per-survey sizes come from the scale-6.5 shape, as :func:`model` does. The rate
    used is the one per CPU second times the vCPU share a Lambda of ``LAMBDA_MEMORY_GB`` gets (one vCPU at
    1,769 MB): a build is CPU-bound, and CPU seconds do not depend on the load of the machine that measured them.
    """
    shape = SyntheticTree(seed=7, scale=6.5)
    total = sum(f.size for f in shape.files.values())
    per_survey = {
        s: sum(f.size for f in shape.survey_files(s) if ".data." in f.path) * REAL_BYTES / total for s in shape.surveys
    }
    data = sum(per_survey.values())
    vcpu = min(1.0, LAMBDA_MEMORY_GB * 1024 / LAMBDA_MB_PER_VCPU)
    used = cpu_rate * vcpu
    first = data / used
    largest = max(per_survey.values())
    day = daily_changed * data / len(per_survey) / used + REAL_SURVEYS * noop_seconds / vcpu
    first_gb_s, day_gb_s = first * LAMBDA_MEMORY_GB, day * LAMBDA_MEMORY_GB
    print()
    print(f"model of silver on the real tree ({REAL_SURVEYS} surveys, {REAL_BYTES / GB:.0f} GB, of it data files")
    print(f"  {data / GB:.1f} GB by the scale-6.5 shape), on a Lambda of {LAMBDA_MEMORY_GB:.0f} GB ({vcpu:.2f} vCPU):")
    print(
        f"  measured: {rate / MiB:.1f} MiB/s of source per build here, {cpu_rate / MiB:.1f} MiB/s per CPU second, "
        f"{noop_seconds:.2f} s per unchanged survey, peak {peak_mb:.0f} MB (one process, streaming)"
    )
    print(
        f"  used: {used / MiB:.1f} MiB/s; first build: {first / 3600:.2f} h, {first_gb_s:,.0f} GB-s, "
        f"${first_gb_s * LAMBDA_GB_S_USD:.2f}; the largest survey ({largest / GB:.2f} GB of data) alone "
        f"{largest / used / 60:.1f} min (a Lambda invocation lasts at most 15 min)"
    )
    print(
        f"  a day ({daily_changed} surveys of the mean size rebuilt, {REAL_SURVEYS - daily_changed} unchanged): "
        f"{day:.0f} s, {day_gb_s:.0f} GB-s, ${day_gb_s * LAMBDA_GB_S_USD:.4f}; a month ({RUNS_PER_MONTH}): "
        f"{RUNS_PER_MONTH * day_gb_s:,.0f} GB-s, ${RUNS_PER_MONTH * day_gb_s * LAMBDA_GB_S_USD:.2f} "
        "(the unchanged surveys' cost measured on local files, which are hashed; in S3 the listing's ETags decide)"
    )
