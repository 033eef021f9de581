"""Least privilege, proven by running: each function's real work under exactly the policies Terraform gives its role.

These tests run on the package's one apply of dev (``envs/aws``) (conftest.py: ``applied``, ``deployed``,
``enforcing``): a second apply would cost minutes and prove nothing more.

1. Each function role's policies are read back from the applied dev environment's IAM (inline and attached), with
   its bucket, queues and the bucket's notification configuration.
2. A second moto server enforces IAM (tests/support/moto_iam.py says what moto checks and what it does not). Its
   first three requests create an administrator, who then creates the same bucket (versioned), the same queues and
   notification (so every ARN in the policies names a resource there) and, per function, an IAM user holding
   exactly that role's policies, with an access key.
3. The functions' entry points run on that server under those keys: the ingest handler (a first sync with a
   multipart file, a no-op sync, a changed and a deleted file, a held lease, a dead owner's lease, the trail, the
   population), the report handler on the S3 notifications the queue received (what the event source mapping
   does with the role: receive, then delete), ``reports/latest/``; and the reverse: the report role cannot write
   ``bls/``, the ingest role cannot write ``reports/``, nor send where only Lambda sends for it. The transfer role's
   checks are test_least_privilege_transfer.py.

A permission the code needs and the role lacks fails here with the AccessDenied the code saw. A call added to the
handlers later is covered without touching this file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dataquest.bls import lease as leases
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.config import INGEST_LOG_PREFIX, LATEST_REPORT_PREFIX, POPULATION_KEY, REPORT_FILES
from dataquest.documents import to_document
from dataquest.handlers import ingest, report
from dataquest.ingest import IngestFailedError
from dataquest.local.relay import sqs_event
from tests.conftest import EVENTS
from tests.integration.terraform_apply.deployment import (
    REPORT_QUEUE,
    Deployed,
    Enforcing,
    context,
    denied,
    run_as,
    run_ingest,
)
from tests.integration.test_run_embedded import POPULATION_PATH, check_report, small_tree
from tests.support.aws import receive_all
from tests.support.bls_site import BlsSite
from tests.support.terraform import DEV_BUCKET

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

BIG = "pr/pr.data.1.AllData"


def _trail(s3: Any, key: str | None) -> list[dict[str, Any]]:
    assert key, "the run wrote no trail"
    body = s3.get_object(Bucket=DEV_BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def _trails(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=DEV_BUCKET, Prefix=INGEST_LOG_PREFIX).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_ingest_does_its_whole_job_with_only_its_roles_policies(
    enforcing: Enforcing, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = enforcing.s3()
    tree = small_tree()
    # Over the real default threshold, so that the handler's own transfer settings take the multipart path.
    defaults = TransferConfig()
    big_size = defaults.multipart_threshold + defaults.part_size // 2
    with BlsSite() as site:
        for path, body in tree.files.items():
            site.put(path, body)
        site.put("pr/pr.txt", b"readme " * 100)
        site.put("pr/gone.txt", b"soon gone")
        site.put_generated(BIG, big_size, seed=1)
        site.serve(POPULATION_PATH, tree.population)
        site.put_calendar()  # BLS's release calendar: mirrored to calendar/ (get and put, never delete)
        run_as(
            monkeypatch,
            enforcing,
            "ingest",
            DQ_CONTACT="dataquest-tests@example.org",
            DQ_BLS_BASE_URL=site.base_url,
            DQ_BLS_CALENDAR_URL=site.calendar_url,
            DQ_POPULATION_URL=site.url(POPULATION_PATH),
            DQ_BLS_SURVEYS="pr",
            DQ_REQUEST_INTERVAL="0",
            DQ_LEASE_TTL="1",  # renewed every third of a second: the heartbeat's writes run too
        )
        ingest.container_app.cache_clear()  # a cold container: clients built from this environment

        # A first sync: every file, the big one in parts; the population stored; a trail written.
        first = run_ingest()
        assert (first["uploaded"], first["deleted"], first["errors"]) == (5, 0, [])
        assert first["population"]["written"] is True
        assert (first["freshness"]["checked"], first["freshness"]["calendar"]["written"]) == (True, True)
        uploads = {e["key"]: e for e in _trail(admin, _trails(admin)[-1]) if e["event"] == "upload"}
        assert uploads[f"bls/{BIG}"]["multipart"] is True
        assert uploads[f"bls/{BIG}"]["parts"] >= 2
        mirrored = admin.get_object(Bucket=DEV_BUCKET, Key=f"bls/{BIG}")["Body"].read()
        assert mirrored == site.data_of(BIG)
        assert admin.get_object(Bucket=DEV_BUCKET, Key=POPULATION_KEY)["Body"].read() == tree.population

        # A no-op sync: the mirror read (list, HEADs, the multipart file's tag) and nothing written but the trail.
        again = run_ingest()
        assert (again["uploaded"], again["skipped"], again["deleted"], again["errors"]) == (0, 5, 0, [])
        assert again["population"]["written"] is False
        assert again["freshness"]["calendar"]["written"] is False  # read back with the role's HEAD: unchanged

        # A changed file and a deleted one.
        site.put("pr/pr.txt", b"a new release " * 80)
        site.remove("pr/gone.txt")
        changed = run_ingest()
        assert (changed["uploaded"], changed["deleted"], changed["errors"]) == (1, 1, [])
        with pytest.raises(ClientError, match="404"):
            admin.head_object(Bucket=DEV_BUCKET, Key="bls/pr/gone.txt")

        # A live lease held by another run (renewed by its heartbeat): the sync stops on the lease (it could read
        # it), not on AccessDenied. Its TTL is 30 s: at 1 s, a loaded machine once let a renewal come late and the
        # run took the lease over as expired, which is right for an expired lease but not what this checks.
        holder = leases.acquire(admin, DEV_BUCKET, "pr", ttl=30)
        holder.keep_alive()
        try:
            event = json.loads((EVENTS / "schedule-scheduler.json").read_text())
            with pytest.raises(IngestFailedError) as held:
                ingest.handler(event, context("ingest"))
            errors = json.dumps(to_document(held.value.summary.errors))
            assert "another sync" in errors
            assert "AccessDenied" not in errors
            assert "Forbidden" not in errors
        finally:
            holder.release()

        # A dead owner's lease: never renewed, so expired (S3's LastModified has whole seconds), taken over, then
        # released by the run.
        leases.acquire(admin, DEV_BUCKET, "pr", ttl=1)
        time.sleep(2.5)
        taken = run_ingest()
        assert taken["errors"] == []
        with pytest.raises(ClientError, match="404"):
            admin.head_object(Bucket=DEV_BUCKET, Key=leases.lease_key("pr"))

    assert len(_trails(admin)) == 5  # one per run, the refused one too


def test_report_does_its_whole_job_with_only_its_roles_policies(
    enforcing: Enforcing, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = enforcing.s3()
    tree = small_tree()
    admin.put_object(Bucket=DEV_BUCKET, Key="bls/pr/pr.data.0.Current", Body=tree.files["pr/pr.data.0.Current"])
    admin.put_object(Bucket=DEV_BUCKET, Key=POPULATION_KEY, Body=tree.population)
    run_as(monkeypatch, enforcing, "report")
    report.container_app.cache_clear()  # a cold container: clients built from this environment

    # What the event source mapping does with the function's role (it knows the queue by ARN, so no GetQueueUrl):
    # read the queue's attributes, receive, hand the batch to the function, delete what succeeded.
    queue_url = enforcing.sqs().get_queue_url(QueueName=REPORT_QUEUE)["QueueUrl"]
    sqs = enforcing.sqs("report")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = receive_all(sqs, queue_url)
    assert messages, "the bucket's notifications reached no queue"
    answer = report.handler(sqs_event(messages, queue_arn), context("report"))
    assert answer == {"batchItemFailures": []}
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    latest = {
        name: admin.get_object(Bucket=DEV_BUCKET, Key=f"{LATEST_REPORT_PREFIX}{name}")["Body"].read()
        for name in REPORT_FILES
    }
    check_report(json.loads(latest["report.json"]), tree)


def test_neither_role_can_write_the_others_prefix(enforcing: Enforcing) -> None:
    report_s3, ingest_s3 = enforcing.s3("report"), enforcing.s3("ingest")
    assert denied(report_s3.put_object, Bucket=DEV_BUCKET, Key="bls/pr/pr.data.0.Current", Body=b"x")
    assert denied(report_s3.put_object, Bucket=DEV_BUCKET, Key=POPULATION_KEY, Body=b"x")
    assert denied(ingest_s3.put_object, Bucket=DEV_BUCKET, Key="reports/latest/report.json", Body=b"x")
    refused = ingest_s3.delete_objects(Bucket=DEV_BUCKET, Delete={"Objects": [{"Key": "reports/latest/report.json"}]})
    assert [e["Code"] for e in refused.get("Errors", [])] == ["AccessDenied"]
    # Each may write its own prefix (the same check, allowed: the refusals above are about the prefix).
    ingest_s3.put_object(Bucket=DEV_BUCKET, Key="bls/least-privilege-probe", Body=b"x")
    report_s3.put_object(Bucket=DEV_BUCKET, Key="reports/least-privilege-probe", Body=b"x")


def test_only_the_ingest_role_may_send_to_its_failure_destination(deployed: Deployed, enforcing: Enforcing) -> None:
    """Lambda sends a failed asynchronous invocation's record to the destination with the function's role."""
    assert set(deployed.on_failure) == {"ingest"}, "the ingest function has an on-failure destination"
    queue = deployed.on_failure["ingest"].rsplit(":", 1)[1]
    url = enforcing.sqs().get_queue_url(QueueName=queue)["QueueUrl"]
    enforcing.sqs("ingest").send_message(
        QueueUrl=url, MessageBody='{"requestContext": {"condition": "RetriesExhausted"}}'
    )
    assert denied(enforcing.sqs("report").send_message, QueueUrl=url, MessageBody="{}")
    report_queue = enforcing.sqs().get_queue_url(QueueName=REPORT_QUEUE)["QueueUrl"]
    assert denied(enforcing.sqs("ingest").send_message, QueueUrl=report_queue, MessageBody="{}")
