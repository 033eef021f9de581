"""`make invoke` and `make logs`: the deployed functions, by the names Terraform output (boto3; AWS credentials).

python scripts/functions.py invoke FUNCTION            # invoke once, wait, print the summary it returned
python scripts/functions.py logs FUNCTION... [--since 10m]  # follow the functions' log groups (Ctrl-C stops)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def invoke(name: str) -> int:
    client = boto3.client("lambda", config=Config(read_timeout=960, retries={"max_attempts": 0}))
    answer = client.invoke(FunctionName=name, InvocationType="RequestResponse", Payload=b"{}")
    payload: Any = json.loads(answer["Payload"].read() or b"null")
    print(json.dumps(payload, indent=2))
    if "FunctionError" in answer:
        print(f"invoke: {name} failed ({answer['FunctionError']}): make logs shows why", file=sys.stderr)
        return 1
    return 0


def seconds(since: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd])", since)
    if not match:
        raise SystemExit(f"logs: --since {since!r} is not a duration such as 30s, 10m, 2h or 1d")
    return int(match.group(1)) * UNITS[match.group(2)]


def follow(names: list[str], since: str) -> int:
    logs = boto3.client("logs")
    groups = [f"/aws/lambda/{name}" for name in names]
    start = int((time.time() - seconds(since)) * 1000)
    seen: set[str] = set()
    print(f"logs: following {', '.join(groups)} (Ctrl-C stops)", file=sys.stderr)
    while True:
        for group in groups:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start)
            for event in (e for page in pages for e in page.get("events", [])):
                if event["eventId"] not in seen:
                    seen.add(event["eventId"])
                    print(f"{group.rsplit('/', 1)[-1]} {event['message'].rstrip()}", flush=True)
        time.sleep(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("invoke").add_argument("function")
    logs = commands.add_parser("logs")
    logs.add_argument("functions", nargs="+")
    logs.add_argument("--since", default="10m")
    args = parser.parse_args()
    try:
        return invoke(args.function) if args.command == "invoke" else follow(args.functions, args.since)
    except KeyboardInterrupt:
        return 130
    except (BotoCoreError, ClientError) as exc:
        print(
            f"{args.command}: {exc} (AWS credentials and region for the deployed account? AWS_PROFILE=...)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
