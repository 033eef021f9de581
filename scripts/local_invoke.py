"""`make local-invoke`: run the local pipeline once, as the daily schedule would, and print the report.

Posts a scheduled-rule event to the ingest function's invoke endpoint (the RIE, or the test suite's stand-in),
prints its summary on stderr, then waits until the report function (fed by the relay from the queue S3 notifies)
writes a new ``reports/latest/report.json`` to the emulator's S3, and prints that document on stdout.
Exit status: 0 with a report; 1 when the ingest function failed or no new report came within ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import boto3
import httpx
from botocore.exceptions import ClientError

from dataquest.events import scheduled_event

REPORT_KEY = "reports/latest/report.json"


def report_etag(s3: Any, bucket: str) -> str | None:
    try:
        return str(s3.head_object(Bucket=bucket, Key=REPORT_KEY)["ETag"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest-url", required=True, help="the ingest function's invoke endpoint")
    parser.add_argument("--aws-endpoint", required=True, help="the emulator, as reached from this machine")
    parser.add_argument("--bucket", required=True, help="the data bucket (terraform/envs/local's bucket_name)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the ingest and report")
    args = parser.parse_args(argv)

    s3 = boto3.client(
        "s3",
        endpoint_url=args.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the emulator's, not a secret
    )
    before = report_etag(s3, args.bucket)
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
    print(f"local-invoke: waiting for a new s3://{args.bucket}/{REPORT_KEY}", file=sys.stderr)
    while time.monotonic() < deadline:
        etag = report_etag(s3, args.bucket)
        if etag is not None and etag != before:
            print(s3.get_object(Bucket=args.bucket, Key=REPORT_KEY)["Body"].read().decode())
            return 0
        time.sleep(1)
    print(
        f"local-invoke: error: no new {REPORT_KEY} in {args.bucket} within {args.timeout:.0f}s: the report did "
        "not run or failed (make local-logs shows the relay and report logs)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
