"""The deployed topology without containers: moto in-process, both handlers as awslambdaric processes under the
mini-RIE (``python -m tests.support.runtime_api --port P -- <handler>``, as docker-compose runs it), an invoke of
ingest through the RIE's invoke endpoint, the queued S3 messages relayed to report's invoke endpoint, the report
in S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataquest.local import invoke as invokers
from dataquest.local import relay
from dataquest.local.embedded import create_topology
from tests.conftest import ROOT
from tests.integration.test_run_embedded import check_report, pipeline_env, publish, small_tree
from tests.support.aws import client, free_port
from tests.support.bls_site import BlsSite
from tests.support.runtime_api import INVOKE_PATH

pytestmark = pytest.mark.integration


@contextmanager
def mini_rie(handler: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """The mini-RIE as its own process (its CLI mode); yields the invoke URL once /healthz says ready."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.runtime_api", "--port", str(port), "--", handler],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the mini-RIE did not become ready"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}{INVOKE_PATH}"
        finally:
            proc.terminate()
            proc.wait(20)


def test_ingest_then_report_through_the_mini_rie(moto_endpoint: str, tmp_path: Path) -> None:
    name = f"dq-{uuid.uuid4().hex[:10]}"
    s3, sqs = client("s3", moto_endpoint), client("sqs", moto_endpoint)
    topology = create_topology(s3, sqs, name, queue=f"{name}-q", dlq=f"{name}-dlq", max_receive_count=2)
    tree = small_tree()
    aws = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "DQ_BUCKET": name,
    }
    with BlsSite() as site:
        publish(site, tree)
        env = {**aws, **pipeline_env(site)}
        with (
            mini_rie("dataquest.handlers.ingest.handler", env, tmp_path / "ingest.log") as ingest_url,
            mini_rie("dataquest.handlers.report.handler", env, tmp_path / "report.log") as report_url,
        ):
            answer = httpx.post(ingest_url, json={"source": "dataquest.schedule"}, timeout=120)
            assert answer.status_code == 200
            assert "X-Amz-Function-Error" not in answer.headers, answer.text
            summary = answer.json()
            assert (summary["uploaded"], summary["population"]["written"], summary["errors"]) == (2, True, [])

            answers: list[invokers.Answer] = []
            with httpx.Client(timeout=120) as http:
                post = invokers.http_invoker(http, report_url)

                def invoke_report(event: dict[str, Any]) -> invokers.Answer:
                    answers.append(post(event))
                    return answers[-1]

                relayed = relay.run(
                    sqs,
                    topology.report.url,
                    topology.report.arn,
                    invoke_report,
                    wait_seconds=0,
                    once=True,
                    retry_now=True,
                    dlq_url=topology.report.dlq_url,
                )

            # an error in a handler comes back as the RIE answers it: 200 and the error document (the RIE passes
            # on no X-Amz-Function-Error, so the relay and local-invoke tell an error by its errorType)
            broken = httpx.post(report_url, json={"not": "an SQS event"}, timeout=60)
            assert broken.status_code == 200
            assert "X-Amz-Function-Error" not in broken.headers
            assert broken.json()["errorType"] == "ValidationError"
            with httpx.Client(timeout=60) as http:
                failed = invokers.failed_ids(["m1"], invokers.http_invoker(http, report_url)({"not": "an SQS event"}))
            assert failed == ({"m1"}, "the function failed: ValidationError: " + broken.json()["errorMessage"])

    assert answers == [invokers.Answer(200, {"batchItemFailures": []})]
    assert (relayed.received, relayed.deleted, relayed.dead_letters, relayed.left_on_queue) == (3, 3, [], 0)
    doc = json.loads(s3.get_object(Bucket=name, Key="reports/latest/report.json")["Body"].read())
    check_report(doc, tree)
    assert "report done" in (tmp_path / "report.log").read_text()
