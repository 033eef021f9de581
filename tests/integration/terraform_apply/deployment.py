"""What the modules of tests/integration/terraform_apply/ share (conftest.py makes it once for the package): the
applied environments, and the dev deployment's roles as the enforcing moto server holds them, with the ways a test
runs a function under one role's keys."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from dataquest.documents import to_document
from dataquest.handlers import ingest
from dataquest.ingest import IngestFailedError
from dataquest.local.invoke import LambdaContext
from tests.conftest import EVENTS
from tests.support.terraform import DEV_BUCKET, REGION, Deployment

FUNCTIONS = {"ingest": "dataquest-dev-ingest", "transfer": "dataquest-dev-transfer", "report": "dataquest-dev-report"}
REPORT_QUEUE = "dataquest-dev-report"
# Requests moto lets through unchecked: the administrator's CreateUser, PutUserPolicy and CreateAccessKey.
BOOTSTRAP_REQUESTS = 3
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass
class Applied:
    local: Deployment
    dev: Deployment
    shared: Deployment
    timings: dict[str, float]
    logs: dict[str, Path] = field(default_factory=dict)  # "local"/"dev" -> that moto server's access log

    @property
    def all(self) -> list[Deployment]:
        return [self.local, self.dev, self.shared]

    def requests(self, server: str, path: str) -> list[str]:
        """The lines of a server's access log whose request names ``path``: what was asked, how often, answered how."""
        log = self.logs.get(server)
        text = log.read_text(errors="replace") if log and log.exists() else ""
        return [line for line in text.splitlines() if path in line]


@dataclass
class Deployed:
    """What the applied dev environment (``envs/aws``) holds, as read back from the first moto server."""

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


def role_policies(iam: Any, role: str) -> dict[str, dict[str, Any]]:
    found = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        found[attached["PolicyName"]] = version["PolicyVersion"]["Document"]
    return found


def access_keys(iam: Any, user: str) -> Keys:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


def run_as(monkeypatch: pytest.MonkeyPatch, enforcing: Enforcing, function: str, **env: str) -> None:
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


def context(function: str, **options: Any) -> LambdaContext:
    """The Lambda context an invocation of ``function`` (a key of FUNCTIONS) gets."""
    return LambdaContext(FUNCTIONS[function], aws_request_id="least-privilege", **options)


def run_ingest() -> dict[str, Any]:
    """The ingest handler on the scheduler's event, its summary; a failed run fails the test with its errors."""
    event = json.loads((EVENTS / "schedule-scheduler.json").read_text())
    try:
        return ingest.handler(event, context("ingest"))
    except IngestFailedError as exc:
        pytest.fail(f"the ingest run failed under its role's policies: {json.dumps(to_document(exc.summary.errors))}")


def denied(call: Any, **kwargs: Any) -> bool:
    """Whether the call is refused for want of permission (moto's SQS answers its JSON clients with the query
    protocol's XML error, so botocore sees code 403 and the AccessDenied in the message)."""
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    error = refused.value.response["Error"]
    return error.get("Code") or "<Code>AccessDenied</Code>" in str(error.get("Message", ""))
