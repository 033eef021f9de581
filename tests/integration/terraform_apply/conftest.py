"""The one apply of terraform/ that every module of this package checks, and the least-privilege fixtures.

``envs/local`` gets its own moto server; dev (``envs/aws``) and ``envs/shared`` (the ECR repositories) share a second
one. An apply costs minutes, so the package applies once (``applied``, package-scoped) and `make test` hands the
package to one worker as one unit (tests/support/schedule.py). Its modules run in ``ORDER``: the resources checked
(test_environments.py), each role's work run under exactly its policies (test_least_privilege*.py: ``deployed``
reads the roles back, ``enforcing`` is a second moto server that enforces them), then no drift and the destroy
(test_plan_and_destroy.py), last because they end what the others read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import PurePosixPath

import pytest
from botocore.exceptions import ClientError

from tests.integration.terraform_apply.deployment import (
    ADMIN_POLICY,
    BOOTSTRAP_REQUESTS,
    FUNCTIONS,
    Applied,
    Deployed,
    Enforcing,
    access_keys,
    role_policies,
)
from tests.support.aws import client, moto_process
from tests.support.terraform import DEV_BUCKET, DEV_VARS, copy_env, init, require_success, require_terraform, run_all

PACKAGE = "tests/integration/terraform_apply/"
ORDER = (
    "test_environments.py",
    "test_least_privilege.py",
    "test_least_privilege_transfer.py",
    "test_plan_and_destroy.py",
)

SHARED_VARS = [
    "-var=force_delete=true",
    "-var=github_repository=example/dataquest",
    "-var=terraform_state_bucket=example-terraform-state",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """This package's tests in ``ORDER`` of their modules (each module's own order kept), in the places the
    collection gave them, whatever order the command line named the modules in."""
    slots = [i for i, item in enumerate(items) if item.nodeid.startswith(PACKAGE)]

    def rank(item: pytest.Item) -> int:
        name = PurePosixPath(item.nodeid.split("::", 1)[0]).name
        return ORDER.index(name) if name in ORDER else len(ORDER)

    for slot, item in zip(slots, sorted((items[i] for i in slots), key=rank), strict=True):
        items[slot] = item


@pytest.fixture(scope="package")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    require_terraform()
    tmp = tmp_path_factory.mktemp("terraform")
    with ExitStack() as stack:
        # Processes, not in-process servers: moto's state is per process, and each env needs an account of its own.
        # S3's events reach EventBridge as in AWS there (tests/support/moto_lake.py), as on dev's.
        # Each server's access log is kept (Applied.logs): a failure can show what Terraform asked, and how often.
        logs = {"local": tmp / "moto-local.log", "dev": tmp / "moto-dev.log"}
        local_endpoint = stack.enter_context(moto_process(module="tests.support.moto_lake", log=logs["local"]))
        # The dev server keeps the functions' LoggingConfig, as AWS does (moto drops it), and answers the lake's
        # Athena workgroup's tags as AWS does (tests/support/moto_lake.py).
        dev_endpoint = stack.enter_context(
            moto_process(
                module="tests.support.moto_lake", env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}, log=logs["dev"]
            )
        )
        result = Applied(
            # envs/local takes the endpoint as its one variable: no override file needed.
            local=copy_env(tmp, "local", local_endpoint, [f"-var=aws_endpoint_url={local_endpoint}"], False),
            dev=copy_env(tmp, "dev", dev_endpoint, DEV_VARS, True),
            shared=copy_env(tmp, "shared", dev_endpoint, SHARED_VARS, True),
            timings={},
            logs=logs,
        )
        for deployment in result.all:
            init(deployment)

        started = time.monotonic()
        require_success(run_all(result.all, "apply", "-auto-approve", "-input=false"), "apply")
        result.timings["apply"] = time.monotonic() - started
        yield result

        remaining = [d for d in result.all if not d.destroyed]
        if remaining:  # a run that stopped before test_destroy_removes_everything
            require_success(run_all(remaining, "destroy", "-auto-approve", "-input=false"), "destroy")
        print(f"\nterraform timings (s): {json.dumps({k: round(v, 1) for k, v in result.timings.items()})}")


@pytest.fixture(scope="package")
def deployed(applied: Applied) -> Deployed:
    """What the applied dev (``envs/aws``) holds: each function's role and policies, the queues, the bucket's
    notification."""
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
        policies={function: role_policies(iam, role) for function, role in roles.items()},
        queues=[u.rsplit("/", 1)[1] for u in client("sqs", endpoint).list_queues().get("QueueUrls", [])],
        notification=notification,
        on_failure=on_failure,
    )


@pytest.fixture(scope="package")
def enforcing(deployed: Deployed) -> Iterator[Enforcing]:
    """A moto server that enforces IAM, holding dev's bucket, queues and notification, and per function a user with
    exactly its role's policies."""
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_REQUESTS)}
    with moto_process(module="tests.support.moto_iam", env=env) as endpoint:
        iam = client("iam", endpoint)
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=json.dumps(ADMIN_POLICY))
        admin = access_keys(iam, "admin")
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
            functions[function] = access_keys(iam, user)
        yield Enforcing(endpoint, admin, functions)
