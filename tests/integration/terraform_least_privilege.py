"""Least privilege, proven by running: each function's real work under exactly the policies Terraform gives its role.

These tests run inside tests/integration/test_terraform_apply.py (which imports them), on the one apply of
the dev environment (``envs/aws``) that module makes: a second apply would cost minutes and prove nothing more.

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
   checks are tests/integration/terraform_least_privilege_transfer.py.

A permission the code needs and the role lacks fails here with the AccessDenied the code saw. A call added to the
handlers later is covered without touching this file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from dataquest.bls import lease as leases
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.config import INGEST_LOG_PREFIX, LATEST_REPORT_PREFIX, POPULATION_KEY, REPORT_FILES
from dataquest.documents import to_document
from dataquest.errors import IngestFailedError
from dataquest.handlers import ingest, report
from dataquest.local.relay import sqs_event
from tests.conftest import EVENTS
from tests.integration.test_run_embedded import POPULATION_PATH, check_report, small_tree
from tests.support.aws import client, moto_process, receive_all
from tests.support.bls_site import BlsSite
from tests.support.terraform import DEV_BUCKET, REGION

FUNCTIONS = {"ingest": "dataquest-dev-ingest", "transfer": "dataquest-dev-transfer", "report": "dataquest-dev-report"}
REPORT_QUEUE = "dataquest-dev-report"
# Requests moto lets through unchecked: the administrator's CreateUser, PutUserPolicy and CreateAccessKey.
BOOTSTRAP_REQUESTS = 3
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BIG = "pr/pr.data.1.AllData"


@dataclass
class Deployed:
    """What the applied dev environment holds, as read back from the first moto server."""

    roles: dict[str, str]  # function -> its execution role's name
    policies: dict[str, dict[str, dict[str, Any]]]  # function -> policy name -> document
    queues: list[str]
    notification: dict[str, Any]
    on_failure: dict[str, str] = field(default_factory=dict)  # function -> its asynchronous on-failure queue ARN


@dataclass
class Keys:
    access_key_id: str
    secret_access_key: str

    def client(self, service: str, endpoint: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


@dataclass
class Enforcing:
    endpoint: str
    admin: Keys
    functions: dict[str, Keys]

    def s3(self, who: str = "admin") -> Any:
        return (self.admin if who == "admin" else self.functions[who]).client("s3", self.endpoint)

    def sqs(self, who: str = "admin") -> Any:
        return (self.admin if who == "admin" else self.functions[who]).client("sqs", self.endpoint)


def _role_policies(iam: Any, role: str) -> dict[str, dict[str, Any]]:
    found = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        found[attached["PolicyName"]] = version["PolicyVersion"]["Document"]
    return found


@pytest.fixture(scope="module")
def deployed(applied: Any) -> Deployed:
    """What the applied dev environment holds (``applied``: test_terraform_apply.py's fixture, where this runs)."""
    endpoint = applied.dev.endpoint
    iam, lam = client("iam", endpoint), client("lambda", endpoint)
    roles = {
        function: lam.get_function(FunctionName=name)["Configuration"]["Role"].rsplit("/", 1)[1]
        for function, name in FUNCTIONS.items()
    }
    on_failure = {}
    for function, name in FUNCTIONS.items():
        try:
            config = lam.get_function_event_invoke_config(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            continue
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            on_failure[function] = destination
    notification = client("s3", endpoint).get_bucket_notification_configuration(Bucket=DEV_BUCKET)
    notification.pop("ResponseMetadata", None)
    return Deployed(
        roles=roles,
        policies={function: _role_policies(iam, role) for function, role in roles.items()},
        queues=[u.rsplit("/", 1)[1] for u in client("sqs", endpoint).list_queues().get("QueueUrls", [])],
        notification=notification,
        on_failure=on_failure,
    )


def _keys(iam: Any, user: str) -> Keys:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def enforcing(deployed: Deployed) -> Iterator[Enforcing]:
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_REQUESTS)}
    with moto_process(module="tests.support.moto_iam", env=env) as endpoint:
        iam = client("iam", endpoint)
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=json.dumps(ADMIN_POLICY))
        admin = _keys(iam, "admin")
        # From here on every request is checked: unsigned by a known key, even listing the buckets fails.
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            client("s3", endpoint).list_buckets()

        iam = admin.client("iam", endpoint)
        s3, sqs = admin.client("s3", endpoint), admin.client("sqs", endpoint)
        s3.create_bucket(Bucket=DEV_BUCKET)
        s3.put_bucket_versioning(Bucket=DEV_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for queue in deployed.queues:
            sqs.create_queue(QueueName=queue)
        s3.put_bucket_notification_configuration(Bucket=DEV_BUCKET, NotificationConfiguration=deployed.notification)
        functions = {}
        for function, policies in deployed.policies.items():
            user = deployed.roles[function]  # the user is named after the role whose policies it holds
            iam.create_user(UserName=user)
            for name, document in policies.items():
                iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(document))
            functions[function] = _keys(iam, user)
        yield Enforcing(endpoint, admin, functions)


def _as(monkeypatch: pytest.MonkeyPatch, enforcing: Enforcing, function: str, **env: str) -> None:
    """The process environment a function runs with: its keys (no session token), the endpoint, its settings."""
    keys = enforcing.functions[function]
    # boto3.client() resolves credentials once per default session and keeps them: a fresh session per function,
    # or the second function would run with the first one's keys (in Lambda a process has one role).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_access_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", enforcing.endpoint)
    monkeypatch.setenv("DQ_BUCKET", DEV_BUCKET)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@dataclass
class Context:
    aws_request_id: str = "least-privilege"


def _ingest() -> dict[str, Any]:
    event = json.loads((EVENTS / "schedule-scheduler.json").read_text())
    try:
        return ingest.handler(event, Context())
    except IngestFailedError as exc:
        pytest.fail(f"the ingest run failed under its role's policies: {json.dumps(to_document(exc.summary.errors))}")


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
        _as(
            monkeypatch,
            enforcing,
            "ingest",
            DQ_CONTACT="dataquest-tests@example.org",
            DQ_BLS_BASE_URL=site.base_url,
            DQ_POPULATION_URL=site.url(POPULATION_PATH),
            DQ_BLS_SURVEYS="pr",
            DQ_REQUEST_INTERVAL="0",
            DQ_LEASE_TTL="1",  # renewed every third of a second: the heartbeat's writes run too
        )
        ingest.container_app.cache_clear()  # a cold container: clients built from this environment

        # A first sync: every file, the big one in parts; the population stored; a trail written.
        first = _ingest()
        assert (first["uploaded"], first["deleted"], first["errors"]) == (5, 0, [])
        assert first["population"]["written"] is True
        uploads = {e["key"]: e for e in _trail(admin, _trails(admin)[-1]) if e["event"] == "upload"}
        assert uploads[f"bls/{BIG}"]["multipart"] is True
        assert uploads[f"bls/{BIG}"]["parts"] >= 2
        mirrored = admin.get_object(Bucket=DEV_BUCKET, Key=f"bls/{BIG}")["Body"].read()
        assert mirrored == site.data_of(BIG)
        assert admin.get_object(Bucket=DEV_BUCKET, Key=POPULATION_KEY)["Body"].read() == tree.population

        # A no-op sync: the mirror read (list, HEADs, the multipart file's tag) and nothing written but the trail.
        again = _ingest()
        assert (again["uploaded"], again["skipped"], again["deleted"], again["errors"]) == (0, 5, 0, [])
        assert again["population"]["written"] is False

        # A changed file and a deleted one.
        site.put("pr/pr.txt", b"a new release " * 80)
        site.remove("pr/gone.txt")
        changed = _ingest()
        assert (changed["uploaded"], changed["deleted"], changed["errors"]) == (1, 1, [])
        with pytest.raises(ClientError, match="404"):
            admin.head_object(Bucket=DEV_BUCKET, Key="bls/pr/gone.txt")

        # A live lease held by another run (renewed by its heartbeat): the sync stops on the lease (it could read
        # it), not on AccessDenied.
        holder = leases.acquire(admin, DEV_BUCKET, "pr", ttl=1)
        holder.keep_alive()
        try:
            event = json.loads((EVENTS / "schedule-scheduler.json").read_text())
            with pytest.raises(IngestFailedError) as held:
                ingest.handler(event, Context())
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
        taken = _ingest()
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
    _as(monkeypatch, enforcing, "report")
    report.container_app.cache_clear()  # a cold container: clients built from this environment

    # What the event source mapping does with the function's role (it knows the queue by ARN, so no GetQueueUrl):
    # read the queue's attributes, receive, hand the batch to the function, delete what succeeded.
    queue_url = enforcing.sqs().get_queue_url(QueueName=REPORT_QUEUE)["QueueUrl"]
    sqs = enforcing.sqs("report")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = receive_all(sqs, queue_url)
    assert messages, "the bucket's notifications reached no queue"
    answer = report.handler(sqs_event(messages, queue_arn), Context())
    assert answer == {"batchItemFailures": []}
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    latest = {
        name: admin.get_object(Bucket=DEV_BUCKET, Key=f"{LATEST_REPORT_PREFIX}{name}")["Body"].read()
        for name in REPORT_FILES
    }
    check_report(json.loads(latest["report.json"]), tree)


def _denied(call: Any, **kwargs: Any) -> bool:
    """Whether the call is refused for want of permission (moto's SQS answers its JSON clients with the query
    protocol's XML error, so botocore sees code 403 and the AccessDenied in the message)."""
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    error = refused.value.response["Error"]
    return error.get("Code") or "<Code>AccessDenied</Code>" in str(error.get("Message", ""))


def test_neither_role_can_write_the_others_prefix(enforcing: Enforcing) -> None:
    report_s3, ingest_s3 = enforcing.s3("report"), enforcing.s3("ingest")
    assert _denied(report_s3.put_object, Bucket=DEV_BUCKET, Key="bls/pr/pr.data.0.Current", Body=b"x")
    assert _denied(report_s3.put_object, Bucket=DEV_BUCKET, Key=POPULATION_KEY, Body=b"x")
    assert _denied(ingest_s3.put_object, Bucket=DEV_BUCKET, Key="reports/latest/report.json", Body=b"x")
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
    assert _denied(enforcing.sqs("report").send_message, QueueUrl=url, MessageBody="{}")
    report_queue = enforcing.sqs().get_queue_url(QueueName=REPORT_QUEUE)["QueueUrl"]
    assert _denied(enforcing.sqs("ingest").send_message, QueueUrl=report_queue, MessageBody="{}")
