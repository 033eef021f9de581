"""`make local-invoke`: run the local pipeline once, as the daily schedule would, and print the report.

Posts a scheduled-rule event to the ingest function's invoke endpoint (the RIE, or the test suite's stand-in),
prints its summary on stderr. The ingest function plans: it sends the uploads to the transfer queue, and the
transfer functions (fed by their relays) log one outcome object per transfer under
``_logs/ingest/<run>/transfers/``; this waits until every planned file has an outcome there and prints their
counts on stderr (``dataquest status`` reads the same). Then it waits until the report function (fed by the relay
from the queue S3 notifies) writes a new ``reports/latest/report.json`` to the emulator's S3, and prints that
document on stdout. Last, it waits for the lake function (fed by the lake queue, which an EventBridge rule fills
with the bucket's events on ``bls/``) to commit ``observations``: a new Iceberg metadata file under
``lake/observations/metadata/``, whose current snapshot it prints on stderr. An emulator without Glue (LocalStack's
free edition) cannot hold the lake's catalog: then it says so at once instead of waiting. Exit status: 0 with a
report (and,
with ``--require-lake``, a lake commit); 1 when the ingest function or a transfer failed, or no new report (or
required lake commit) came within ``--timeout``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from typing import Any

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError

from dataquest.config import INGEST_LOG_PREFIX
from dataquest.events import scheduled_event
from dataquest.ops import status

REPORT_KEY = "reports/latest/report.json"
LAKE_METADATA = "lake/observations/metadata/"


def lake_commits(s3: Any, bucket: str) -> set[str]:
    """The observations table's metadata files (one per commit) in the bucket."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LAKE_METADATA)
    return {o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".metadata.json")}


def aws_client(service: str, endpoint: str) -> Any:
    """A client of the emulator (its test credentials)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the emulator's, not a secret
    )


def glue_missing(glue: Any) -> str | None:
    """Why the emulator cannot hold the lake's catalog (its Glue does not answer), or None when it can."""
    try:
        glue.get_databases(MaxResults=1)
    except (ClientError, BotoCoreError) as exc:
        return f"its Glue does not answer ({str(exc).splitlines()[0][:200]})"
    return None


def read_metadata(body: bytes, key: str) -> dict[str, Any]:
    """A table version's metadata file: gzipped where its name says so (``*.gz.metadata.json``, as the lake writes
    them: docs/lake.md), else plain JSON, as Iceberg readers pick the codec."""
    document: dict[str, Any] = json.loads(gzip.decompress(body) if key.endswith(".gz.metadata.json") else body)
    return document


def wait_for_lake(s3: Any, bucket: str, before: set[str], deadline: float) -> bool:
    """Wait for a new commit of the lake's observations; print its current snapshot. False if none came."""
    print(f"local-invoke: waiting for the lake's commit under s3://{bucket}/{LAKE_METADATA}", file=sys.stderr)
    while time.monotonic() < deadline:
        new = sorted(lake_commits(s3, bucket) - before)
        if new:
            metadata = read_metadata(s3.get_object(Bucket=bucket, Key=new[-1])["Body"].read(), new[-1])
            current = metadata.get("current-snapshot-id")
            snapshots: list[dict[str, Any]] = metadata.get("snapshots", [])
            snapshot = next((s for s in snapshots if s.get("snapshot-id") == current), {})
            summary = {k: v for k, v in snapshot.get("summary", {}).items() if not k.startswith("dataquest.lineage")}
            print(f"local-invoke: lake: observations committed ({new[-1]}): {json.dumps(summary)}", file=sys.stderr)
            return True
        time.sleep(1)
    print(
        f"local-invoke: lake: no new commit under s3://{bucket}/{LAKE_METADATA} in time: see the lake and "
        "lake-relay logs (make local-logs); the lake needs Glue, which LocalStack's free edition lacks (EMULATOR=moto)",
        file=sys.stderr,
    )
    return False


def report_etag(s3: Any, bucket: str) -> str | None:
    try:
        return str(s3.head_object(Bucket=bucket, Key=REPORT_KEY)["ETag"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def wait_for_transfers(s3: Any, bucket: str, runs_before: set[str], summary: dict[str, Any], deadline: float) -> bool:
    """Wait until every file the ingest run planned has a transfer outcome; say what they are. False on a failure."""
    planned = sum(int(p.get("files", 0)) for p in (summary.get("planned") or {}).values())
    runs = [r for r in status.run_ids(s3, bucket) if r not in runs_before]
    if not runs:
        print(
            f"local-invoke: error: the ingest run left no trail under s3://{bucket}/{INGEST_LOG_PREFIX}",
            file=sys.stderr,
        )
        return False
    run, folder = runs[0], f"s3://{bucket}/{INGEST_LOG_PREFIX}{runs[0]}/{status.TRANSFERS_FOLDER}"
    print(
        f"local-invoke: run {run} planned {planned} transfer(s); waiting for their outcomes in {folder}",
        file=sys.stderr,
    )
    while True:
        outcomes = status.transfer_outcomes(s3, bucket, run)
        settled = outcomes.done + outcomes.failed >= planned
        if settled or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(
        f"local-invoke: transfers of run {run}: {outcomes.uploaded} uploaded, {outcomes.skipped} already there, "
        f"{outcomes.failed} failed, {outcomes.resumed} resumed, {outcomes.bytes} bytes ({folder})",
        file=sys.stderr,
    )
    if outcomes.failed or not settled:
        why = "; ".join(f"{e.key}: {e.error}" for e in outcomes.failures()) or "not all transfers finished in time"
        print(f"local-invoke: error: the transfers did not all succeed: {why} (see make local-logs)", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest-url", required=True, help="the ingest function's invoke endpoint")
    parser.add_argument("--aws-endpoint", required=True, help="the emulator, as reached from this machine")
    parser.add_argument("--bucket", required=True, help="the data bucket (terraform/envs/local's bucket_name)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the ingest and report")
    parser.add_argument("--require-lake", action="store_true", help="fail without a new commit of the lake's tables")
    args = parser.parse_args(argv)

    s3 = aws_client("s3", args.aws_endpoint)
    before = report_etag(s3, args.bucket)
    runs_before = set(status.run_ids(s3, args.bucket))
    commits_before = lake_commits(s3, args.bucket)
    deadline = time.monotonic() + args.timeout
    print(f"local-invoke: posting a scheduled event to {args.ingest_url}", file=sys.stderr)
    response = httpx.post(
        args.ingest_url,
        json=scheduled_event("arn:aws:events:us-east-1:000000000000:rule/dataquest-local-ingest"),
        timeout=args.timeout,
    )
    summary = response.json() if response.content else None
    print(f"local-invoke: ingest answered HTTP {response.status_code}: {json.dumps(summary)}", file=sys.stderr)
    failed = response.headers.get("X-Amz-Function-Error") or (isinstance(summary, dict) and "errorType" in summary)
    if response.status_code != 200 or failed:
        print("local-invoke: error: the ingest function failed (see make local-logs)", file=sys.stderr)
        return 1
    if not wait_for_transfers(s3, args.bucket, runs_before, summary, deadline):
        return 1
    print(f"local-invoke: waiting for a new s3://{args.bucket}/{REPORT_KEY}", file=sys.stderr)
    while time.monotonic() < deadline:
        etag = report_etag(s3, args.bucket)
        if etag is not None and etag != before:
            print(s3.get_object(Bucket=args.bucket, Key=REPORT_KEY)["Body"].read().decode())
            missing = glue_missing(aws_client("glue", args.aws_endpoint))
            if missing is not None:
                print(
                    f"local-invoke: lake: not checked: the emulator has no lake catalog: {missing}; LocalStack's "
                    "free edition lacks Glue, EMULATOR=moto serves it",
                    file=sys.stderr,
                )
                return 1 if args.require_lake else 0
            lake = wait_for_lake(s3, args.bucket, commits_before, deadline)
            return 0 if lake or not args.require_lake else 1
        time.sleep(1)
    print(
        f"local-invoke: error: no new {REPORT_KEY} in {args.bucket} within {args.timeout:.0f}s: the report did "
        "not run or failed (make local-logs shows the relay and report logs)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
