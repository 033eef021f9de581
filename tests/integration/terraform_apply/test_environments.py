"""Terraform's environments applied to moto servers (conftest.py's one apply), each resource checked with boto3.

``envs/local`` gets its own moto server; dev (``envs/aws``) and ``envs/shared`` (the ECR repositories) share a second
one. The three applies run at the same time. Each environment is applied from a temporary copy of ``terraform/``
with a ``moto_override.tf`` pointing the provider at moto (as ``tflocal`` does), so no override file ever lands in
the repository. dev is the root ``envs/aws`` with ``dev.tfvars``; prod is the same root with ``prod.tfvars``
(tests/integration/test_terraform_envs.py plans both), so applying dev applies what prod runs. The least-privilege tests
(test_least_privilege*.py) and the plan and destroy (test_plan_and_destroy.py) run on the same apply.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

import pytest

from tests.integration.terraform_apply.deployment import Applied
from tests.support.aws import client
from tests.support.terraform import (
    ACCOUNT,
    DEV_BUCKET,
    INGEST_IMAGE,
    REGION,
    REPORT_IMAGE,
)

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

TRIGGER_KEYS = ["population/nation_population.json", "bls/pr/pr.data.0.Current"]


# --- envs/local ----------------------------------------------------------------------------------------------


def test_local_outputs_name_the_bucket_and_queue(applied: Applied) -> None:
    outputs = applied.local.outputs()
    assert outputs["bucket_name"] == "dataquest-local"
    assert outputs["report_queue_url"].endswith("/123456789012/dataquest-local-report")
    sqs = client("sqs", applied.local.endpoint)
    assert sqs.get_queue_url(QueueName="dataquest-local-report")["QueueUrl"] == outputs["report_queue_url"]
    assert sqs.get_queue_url(QueueName="dataquest-local-transfer")["QueueUrl"] == outputs["transfer_queue_url"]


def test_local_bucket_has_no_tls_policy_for_plain_http_emulators(applied: Applied) -> None:
    s3 = client("s3", applied.local.endpoint)
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket="dataquest-local")
    assert s3.get_bucket_versioning(Bucket="dataquest-local")["Status"] == "Enabled"


def test_local_notifies_the_queue_of_exactly_the_report_inputs(applied: Applied) -> None:
    s3 = client("s3", applied.local.endpoint)
    sqs = client("sqs", applied.local.endpoint)
    queue_url = applied.local.outputs()["report_queue_url"]
    for key in [*TRIGGER_KEYS, "bls/pr/pr.series", "population/nation_population.json.tmp", "reports/x.json"]:
        s3.put_object(Bucket="dataquest-local", Key=key, Body=b"{}")

    keys: list[str] = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            body = json.loads(message["Body"])
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(keys) == sorted(TRIGGER_KEYS)


# --- dev, envs/aws --------------------------------------------------------------------------------------------


def test_dev_bucket_is_versioned_encrypted_private_tls_only_with_lifecycle(applied: Applied) -> None:
    s3 = client("s3", applied.dev.endpoint)
    assert s3.get_bucket_versioning(Bucket=DEV_BUCKET)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=DEV_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules] == ["AES256"]
    assert s3.get_public_access_block(Bucket=DEV_BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=DEV_BUCKET)["Policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{DEV_BUCKET}", f"arn:aws:s3:::{DEV_BUCKET}/*"]

    lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=DEV_BUCKET)["Rules"]}
    assert lifecycle["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    # The delete marker a removed BLS file leaves is expired once the versions under it are.
    assert lifecycle["expire-noncurrent-versions"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert lifecycle["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    # The runs' trail expires; the lease's heartbeat versions (one every 20 s) are kept a day.
    assert (lifecycle["expire-logs"]["Filter"]["Prefix"], lifecycle["expire-logs"]["Expiration"]["Days"]) == (
        "_logs/",
        90,
    )
    assert lifecycle["expire-locks"]["Filter"]["Prefix"] == "_locks/"
    assert lifecycle["expire-locks"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert "Expiration" not in lifecycle["expire-locks"]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=DEV_BUCKET)["TagSet"]}
    assert tags == {"Project": "RearcDataQuest", "Environment": "dev"}


def test_dev_outputs_pass_the_pipeline_modules_outputs_through(applied: Applied) -> None:
    outputs = applied.dev.outputs()
    sqs = client("sqs", applied.dev.endpoint)
    assert outputs == {
        "bucket_name": DEV_BUCKET,
        "bucket_arn": f"arn:aws:s3:::{DEV_BUCKET}",
        "report_queue_url": sqs.get_queue_url(QueueName="dataquest-dev-report")["QueueUrl"],
        "report_dead_letter_queue_url": sqs.get_queue_url(QueueName="dataquest-dev-report-dlq")["QueueUrl"],
        "transfer_queue_url": sqs.get_queue_url(QueueName="dataquest-dev-transfer")["QueueUrl"],
        "transfer_dead_letter_queue_url": sqs.get_queue_url(QueueName="dataquest-dev-transfer-dlq")["QueueUrl"],
        "ingest_function_name": "dataquest-dev-ingest",
        "transfer_function_name": "dataquest-dev-transfer",
        "report_function_name": "dataquest-dev-report",
        "schedule_name": "dataquest-dev-ingest-daily",
        "alarm_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:dataquest-dev-alarms",
        "dashboard_name": "dataquest-dev",
        "ingest_image_uri": INGEST_IMAGE,
        "report_image_uri": REPORT_IMAGE,
        "lake_queue_url": sqs.get_queue_url(QueueName="dataquest-dev-lake")["QueueUrl"],
        "lake_function_name": "dataquest-dev-lake",
        "lake_workgroup_name": "dataquest-dev-lake",
        "lake_analyst_policy_arn": f"arn:aws:iam::{ACCOUNT}:policy/dataquest-dev-lake-{REGION}-analyst",
        # No lake_image_uri given: the lake runs the report image (built with the lake extra).
        "lake_image_uri": REPORT_IMAGE,
    }


def test_dev_dashboard_shows_the_environments_runs_files_errors_queues_duration_memory_and_report_age(
    applied: Applied,
) -> None:
    body = json.loads(
        client("cloudwatch", applied.dev.endpoint).get_dashboard(DashboardName="dataquest-dev")["DashboardBody"]
    )
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == [
        "Runs and their outcome (ingest, per day)",
        "Files and bytes moved per day",
        "Transfer errors (files failed, per hour)",
        "Queues: depth and age of the oldest message",
        "Duration against the timeout (maximum, ms)",
        "Memory used against the limit (MB, per function and hour)",
        "Report age: the latest reports written",
        "Freshness: surveys stale 24 h after a BLS release, report older than its inputs",
        "Stale surveys: the survey, the release, what to do",
        "Lake updates: invocations, errors and throttles (per hour)",
    ]
    freshness = body["widgets"][7]["properties"]["metrics"]
    assert [m[:6] for m in freshness] == [
        ["DataQuest", metric, "Environment", "dev", "Function", "ingest"] for metric in ("StaleSurveys", "StaleReport")
    ]
    assert "'/aws/lambda/dataquest-dev-ingest'" in body["widgets"][8]["properties"]["query"]
    errors = body["widgets"][2]["properties"]["metrics"]
    assert [m[:6] for m in errors] == [
        ["DataQuest", "Errors", "Environment", "dev", "Function", fn] for fn in ("ingest", "transfer")
    ]
    queues = {m[3] for m in body["widgets"][3]["properties"]["metrics"]}
    assert {"dataquest-dev-report", "dataquest-dev-transfer", "dataquest-dev-transfer-dlq"} <= queues
    assert "'/aws/lambda/dataquest-dev-report'" in body["widgets"][6]["properties"]["query"]


def test_dev_queue_redrives_to_its_dead_letter_queue_and_admits_only_the_bucket(applied: Applied) -> None:
    sqs = client("sqs", applied.dev.endpoint)
    url = sqs.get_queue_url(QueueName="dataquest-dev-report")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-report-dlq",
        "maxReceiveCount": 5,
    }
    assert int(attrs["VisibilityTimeout"]) == 6 * 300  # six times the report function's timeout
    assert int(attrs["MaximumMessageSize"]) == 262144
    assert attrs["SqsManagedSseEnabled"] == "true"
    [statement] = json.loads(attrs["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": f"arn:aws:s3:::{DEV_BUCKET}"}

    dlq = sqs.get_queue_url(QueueName="dataquest-dev-report-dlq")["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert dlq_attrs["SqsManagedSseEnabled"] == "true"
    assert int(dlq_attrs["MessageRetentionPeriod"]) == 1209600


@pytest.mark.parametrize("env", ["dev", "local"])
def test_the_transfer_queue_redrives_failures_only_and_no_bucket_feeds_it(applied: Applied, env: str) -> None:
    deployment = applied.dev if env == "dev" else applied.local
    sqs = client("sqs", deployment.endpoint)
    url = sqs.get_queue_url(QueueName=f"dataquest-{env}-transfer")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # A continuation is a new message: the receive count counts failures, not the invocations a big file takes.
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-{env}-transfer-dlq",
        "maxReceiveCount": 5,
    }
    assert int(attrs["VisibilityTimeout"]) == 6 * 900  # six times the transfer function's timeout
    assert attrs["SqsManagedSseEnabled"] == "true"
    assert "Policy" not in attrs, "no queue policy: only the roles IAM allows send (the planner, the transfers)"
    dlq = sqs.get_queue_url(QueueName=f"dataquest-{env}-transfer-dlq")["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert (dlq_attrs["SqsManagedSseEnabled"], dlq_attrs["MessageRetentionPeriod"]) == ("true", "1209600")


def _filters(endpoint: str, bucket: str) -> list[tuple[str, list[str], dict[str, str]]]:
    config = client("s3", endpoint).get_bucket_notification_configuration(Bucket=bucket)
    found = [
        (
            c["QueueArn"].rsplit(":", 1)[1],
            c["Events"],
            {r["Name"].lower(): r["Value"] for r in c["Filter"]["Key"]["FilterRules"]},
        )
        for c in config["QueueConfigurations"]
    ]
    return sorted(found, key=lambda config: (config[0], config[2].get("prefix", "")))


def test_dev_notification_filters_are_the_report_inputs_as_in_local(applied: Applied) -> None:
    dev = _filters(applied.dev.endpoint, DEV_BUCKET)
    expected = [
        ("dataquest-dev-report", ["s3:ObjectCreated:*"], {"prefix": key, "suffix": key.rsplit("/", 1)[1]})
        for key in TRIGGER_KEYS
    ]
    assert dev == sorted(expected, key=lambda config: config[2]["prefix"])
    local = _filters(applied.local.endpoint, "dataquest-local")
    assert [(e, f) for _, e, f in local] == [(e, f) for _, e, f in dev]


def test_dev_functions_run_images_by_digest_with_their_settings(applied: Applied) -> None:
    lam = client("lambda", applied.dev.endpoint)
    expected_env = {
        "DQ_BUCKET": DEV_BUCKET,
        "DQ_CONTACT": "dq-tests@example.com",
        "DQ_ENVIRONMENT": "dev",
        "DQ_BLS_SURVEYS": "pr",
        "DQ_POPULATION_URL": (
            "https://honolulu-api.datausa.io/tesseract/data.jsonrecords?cube=acs_yg_total_population_1"
            "&drilldowns=Year%2CNation&locale=en&measures=Population"
        ),
    }
    transfer_queue = client("sqs", applied.dev.endpoint).get_queue_url(QueueName="dataquest-dev-transfer")["QueueUrl"]
    fanout_env = {
        "DQ_BLS_BASE_URL": "https://download.bls.gov/pub/time.series/",
        "DQ_REQUEST_INTERVAL": "1",
        "DQ_TRANSFER_STREAMS": "2",
        "DQ_TRANSFER_QUEUE_URL": transfer_queue,
    }
    freshness_env = {  # the planner's freshness check: BLS's calendar, the hours a release has
        "DQ_BLS_CALENDAR_URL": "https://www.bls.gov/schedule/news_release/bls.ics",
        "DQ_FRESHNESS_HOURS": "24",
    }
    environments = {
        "ingest": expected_env | fanout_env | freshness_env,
        "report": expected_env,
        "transfer": {
            "DQ_BUCKET": DEV_BUCKET,
            "DQ_CONTACT": "dq-tests@example.com",
            "DQ_ENVIRONMENT": "dev",
            "DQ_LOG_LEVEL": "INFO",
        }
        | fanout_env,
    }
    for name, image, handler, timeout, memory in [
        ("ingest", INGEST_IMAGE, "dataquest.handlers.ingest.handler", 900, 1024),
        # The ingest image with another handler.
        ("transfer", INGEST_IMAGE, "dataquest.handlers.transfer.handler", 900, 1024),
        ("report", REPORT_IMAGE, "dataquest.handlers.report.handler", 300, 2048),
    ]:
        function = lam.get_function(FunctionName=f"dataquest-dev-{name}")
        config = function["Configuration"]
        assert config["PackageType"] == "Image"
        assert function["Code"]["ImageUri"] == image
        assert config["ImageConfigResponse"]["ImageConfig"]["Command"] == [handler]
        assert config["Environment"]["Variables"] == environments[name]
        assert (config["Timeout"], config["MemorySize"], config["Architectures"]) == (timeout, memory, ["x86_64"])
        # Lambda's JSON log format, into the group Terraform created (with its retention).
        assert config["LoggingConfig"] == {
            "LogFormat": "JSON",
            "LogGroup": f"/aws/lambda/dataquest-dev-{name}",
            "ApplicationLogLevel": "INFO",
            "SystemLogLevel": "INFO",
        }
        # IAM names are per account: the region in the role's name lets one environment live in two regions.
        assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/dataquest-dev-{name}-{REGION}"

    groups = client("logs", applied.dev.endpoint).describe_log_groups(logGroupNamePrefix="/aws/lambda/dataquest-dev-")
    assert {g["logGroupName"]: g["retentionInDays"] for g in groups["logGroups"]} == {
        "/aws/lambda/dataquest-dev-ingest": 365,
        "/aws/lambda/dataquest-dev-lake": 365,
        "/aws/lambda/dataquest-dev-report": 365,
        "/aws/lambda/dataquest-dev-transfer": 365,
    }


# The transfer function takes one message per invocation: one file (or the planner's batch of small files) that may
# need the whole 15 minutes; the report function batches notifications. Both at most 2 at once.
@pytest.mark.parametrize(("function", "batch_size"), [("report", 10), ("transfer", 1), ("lake", 10)])
def test_dev_queues_feed_their_functions_reporting_batch_item_failures_at_most_two_at_once(
    applied: Applied, function: str, batch_size: int
) -> None:
    lam = client("lambda", applied.dev.endpoint)
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    mine = [m for m in mappings if m["FunctionArn"].endswith(f":function:dataquest-dev-{function}")]
    # One mapping: AWS refuses a second of the same queue and function (moto 5.2.5 does not). Should a create be
    # sent twice, the server's own log says so.
    assert len(mine) == 1, (mine, applied.requests("dev", "/event-source-mappings"))
    [mapping] = mine
    assert mapping["EventSourceArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-{function}"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == batch_size
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert not [m for m in mappings if m["FunctionArn"].endswith(":function:dataquest-dev-ingest")]


def test_dev_schedule_invokes_ingest_daily_with_retries_and_dead_letter_queue(applied: Applied) -> None:
    schedule = client("scheduler", applied.dev.endpoint).get_schedule(Name="dataquest-dev-ingest-daily")
    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dataquest-dev-ingest"
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    assert target["DeadLetterConfig"]["Arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-ingest-daily-dlq"
    role = f"dataquest-dev-ingest-daily-{REGION}-scheduler"
    assert target["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role}"

    iam = client("iam", applied.dev.endpoint)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "scheduler.amazonaws.com"}]
    policy = iam.get_role_policy(RoleName=role, PolicyName="invoke-and-dead-letter")
    granted = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert granted["InvokeTheFunction"]["Action"] == "lambda:InvokeFunction"
    assert granted["DeadLetter"]["Resource"] == target["DeadLetterConfig"]["Arn"]


def test_dev_ingest_retries_a_failed_run_once_and_keeps_its_record_in_an_alarmed_queue(applied: Applied) -> None:
    lam = client("lambda", applied.dev.endpoint)
    config = lam.get_function_event_invoke_config(FunctionName="dataquest-dev-ingest")
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 3600)
    failures = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-ingest-failures"
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": failures}
    for queued in ["report", "transfer"]:  # fed by their queues, never invoked asynchronously
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function_event_invoke_config(FunctionName=f"dataquest-dev-{queued}")
    sqs = client("sqs", applied.dev.endpoint)
    url = sqs.get_queue_url(QueueName="dataquest-dev-ingest-failures")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["SqsManagedSseEnabled"], attributes["MessageRetentionPeriod"]) == ("true", "1209600")


def test_dev_alarms_watch_dead_letters_errors_throttles_and_daily_success(applied: Applied) -> None:
    alarms = client("cloudwatch", applied.dev.endpoint).describe_alarms(AlarmNamePrefix="dataquest-dev-alarms-")
    by_name = {a["AlarmName"]: a for a in alarms["MetricAlarms"]}
    prefix = "dataquest-dev-alarms-"
    assert sorted(n.removeprefix(prefix) for n in by_name) == [
        "ingest-errors",
        "ingest-failed-files",
        "ingest-failures-dead-letters",
        "ingest-no-success-in-a-day",
        "ingest-throttles",
        "ingest-trigger-dead-letters",
        "lake-errors",
        "lake-queue-backlog",
        "lake-queue-dead-letters",
        "lake-throttles",
        "report-errors",
        "report-queue-backlog",
        "report-queue-dead-letters",
        "report-throttles",
        "stale-report",
        "stale-surveys",
        "transfer-errors",
        "transfer-failed-files",
        "transfer-queue-backlog",
        "transfer-queue-dead-letters",
        "transfer-throttles",
    ]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:dataquest-dev-alarms"
    assert all(a["AlarmActions"] == [topic] for a in by_name.values())
    dlq_alarm = by_name[prefix + "report-queue-dead-letters"]
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName", "Value": "dataquest-dev-report-dlq"}]
    assert by_name[prefix + "ingest-trigger-dead-letters"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "dataquest-dev-ingest-daily-dlq"}
    ]
    # Each single-metric alarm watches its own metric of its own queue or function, fires on any non-zero value.
    watched = {
        name.removeprefix(prefix): (
            a["Namespace"],
            a["MetricName"],
            a["Statistic"],
            sorted((d["Name"], d["Value"]) for d in a["Dimensions"]),
            (a["Period"], a["EvaluationPeriods"], a["ComparisonOperator"], a["Threshold"], a["TreatMissingData"]),
        )
        for name, a in by_name.items()
        if not name.endswith("-no-success-in-a-day")
    }
    # The freshness objective: the planner's daily verdict, kept between runs (missing hours are ignored).
    assert {k: watched.pop(k) for k in ["stale-surveys", "stale-report"]} == {
        f"stale-{kind}": (
            "DataQuest",
            metric,
            "Maximum",
            sorted([("Environment", "dev"), ("Function", "ingest")]),
            (3600, 1, "GreaterThanThreshold", 0.0, "ignore"),
        )
        for kind, metric in [("surveys", "StaleSurveys"), ("report", "StaleReport")]
    }
    assert "survey stale" in by_name[prefix + "stale-surveys"]["AlarmDescription"]
    any_in_5_minutes = (300, 1, "GreaterThanThreshold", 0.0, "notBreaching")
    assert watched == {
        f"{label}-dead-letters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            [("QueueName", queue)],
            any_in_5_minutes,
        )
        for label, queue in [
            ("report-queue", "dataquest-dev-report-dlq"),
            ("transfer-queue", "dataquest-dev-transfer-dlq"),
            ("ingest-trigger", "dataquest-dev-ingest-daily-dlq"),
            ("ingest-failures", "dataquest-dev-ingest-failures"),
            ("lake-queue", "dataquest-dev-lake-dlq"),
        ]
    } | {
        f"{fn}-{kind}": ("AWS/Lambda", metric, "Sum", [("FunctionName", f"dataquest-dev-{fn}")], any_in_5_minutes)
        for fn in ["ingest", "transfer", "report", "lake"]
        for kind, metric in [("errors", "Errors"), ("throttles", "Throttles")]
    } | {
        # The application's own count of failed files, on the dimensions its metric lines carry (DQ_ENVIRONMENT).
        f"{fn}-failed-files": (
            "DataQuest",
            "Errors",
            "Sum",
            sorted([("Environment", "dev"), ("Function", fn)]),
            any_in_5_minutes,
        )
        for fn in ["ingest", "transfer"]
    } | {
        f"{label}-backlog": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "Maximum",
            [("QueueName", queue)],
            (300, 1, "GreaterThanThreshold", float(age), "notBreaching"),
        )
        for label, queue, age in [
            ("report-queue", "dataquest-dev-report", 3600),
            ("transfer-queue", "dataquest-dev-transfer", 21600),
            ("lake-queue", "dataquest-dev-lake", 7200),
        ]
    }
    assert by_name[prefix + "report-errors"]["AlarmDescription"] == (
        "The function dataquest-dev-report failed: see its log group /aws/lambda/dataquest-dev-report."
    )
    daily = by_name[prefix + "ingest-no-success-in-a-day"]
    # tests/repo/test_terraform_alarm_math.py evaluates this alarm on a good day, a failed and a missing run.
    assert (daily["EvaluationPeriods"], daily["DatapointsToAlarm"], daily["Threshold"]) == (26, 26, 1.0)
    assert (daily["ComparisonOperator"], daily["TreatMissingData"]) == ("LessThanThreshold", "notBreaching")
    queries = {m["Id"]: m for m in daily["Metrics"]}
    assert queries["successes"]["Expression"] == "FILL(invocations, 0) - FILL(errors, 0)"
    assert queries["successes"]["ReturnData"] is True
    for query_id, metric in [("invocations", "Invocations"), ("errors", "Errors")]:
        stat = queries[query_id]["MetricStat"]
        assert (stat["Metric"]["MetricName"], stat["Period"], stat["Stat"]) == (metric, 3600, "Sum")
        assert stat["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "dataquest-dev-ingest"}]

    subscriptions = client("sns", applied.dev.endpoint).list_subscriptions_by_topic(TopicArn=topic)
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]] == [("email", "alarms@example.com")]


def test_shared_repositories_are_immutable_scanned_and_expire_only_untagged_images(applied: Applied) -> None:
    ecr = client("ecr", applied.shared.endpoint)
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert sorted(repos) == ["dataquest/ingest", "dataquest/report"]
    for name, repo in repos.items():
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
        rules = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged"]
        assert rules[0]["selection"]["countNumber"] == 10
    assert set(applied.shared.outputs()["repository_urls"]) == {"ingest", "report"}


def test_shared_lets_only_this_repositorys_actions_plan_and_only_its_environments_deploy(applied: Applied) -> None:
    iam = client("iam", applied.shared.endpoint)
    [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    subjects = {}
    for role in ("plan", "deploy"):
        trust = iam.get_role(RoleName=f"dataquest-github-{role}-{REGION}")["Role"]["AssumeRolePolicyDocument"]
        [statement] = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects[role] = sorted(
            _as_list(statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"])
        )
    assert subjects == {
        "plan": ["repo:example/dataquest:pull_request", "repo:example/dataquest:ref:refs/heads/main"],
        "deploy": ["repo:example/dataquest:environment:dev", "repo:example/dataquest:environment:prod"],
    }
    # The plan role reads; the deploy role writes dataquest-* resources and its state, nothing else.
    attached = iam.list_attached_role_policies(RoleName=f"dataquest-github-plan-{REGION}")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]
    assert iam.list_role_policies(RoleName=f"dataquest-github-plan-{REGION}")["PolicyNames"] == []
    policy = iam.get_role_policy(RoleName=f"dataquest-github-deploy-{REGION}", PolicyName="deploy-dataquest")
    for statement in policy["PolicyDocument"]["Statement"]:
        resources = _as_list(statement["Resource"])
        if statement["Sid"] == "Unscoped":
            assert all(not a.startswith(("iam:", "s3:", "sqs:")) for a in _as_list(statement["Action"]))
        elif statement["Sid"] == "TerraformState":
            state = "arn:aws:s3:::example-terraform-state"
            assert sorted(resources) == [state, f"{state}/dataquest/*"]
        else:  # event source mappings are named by a UUID Lambda draws: they cannot be named in advance
            assert all("dataquest" in r or r.endswith(":event-source-mapping:*") for r in resources), statement


# --- least privilege -----------------------------------------------------------------------------------------


def _role_policies(state: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Inline role policies in the applied state: resource address -> statements."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources", []):
            if resource["type"] == "aws_iam_role_policy":
                statements = json.loads(resource["values"]["policy"])["Statement"]
                found[resource["address"]] = statements if isinstance(statements, list) else [statements]
        for child in module.get("child_modules", []):
            walk(child)

    walk(state["values"]["root_module"])
    return found


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_function_roles_grant_no_wildcard_actions_or_resources(applied: Applied) -> None:
    policies = _role_policies(applied.dev.applied_state())
    assert sorted(policies) == [
        "module.lake.aws_iam_role_policy.function_glue",
        "module.lake.module.function.aws_iam_role_policy.this",
        "module.pipeline.module.ingest.aws_iam_role_policy.this",
        "module.pipeline.module.report.aws_iam_role_policy.this",
        "module.pipeline.module.schedule.aws_iam_role_policy.this",
        "module.pipeline.module.transfer.aws_iam_role_policy.this",
    ]
    for address, statements in policies.items():
        for statement in statements:
            assert statement["Effect"] == "Allow", address
            assert "NotAction" not in statement, address
            assert "NotResource" not in statement, address
            actions, resources = _as_list(statement["Action"]), _as_list(statement["Resource"])
            assert not [a for a in actions if "*" in a], f"{address}: wildcard action in {actions}"
            for arn in resources:
                # '*' only ends an ARN that is already scoped: a log group's streams or a key prefix.
                assert arn != "*", f"{address}: {statement}"
                assert "*" not in arn.removesuffix("*"), f"{address}: {arn}"
                if arn.endswith("*"):
                    scoped = arn.endswith(":*") and ":log-group:/aws/lambda/" in arn
                    scoped = scoped or re.fullmatch(rf"arn:aws:s3:::{DEV_BUCKET}/[^*/][^*]*/\*", arn) is not None
                    scoped = scoped or re.fullmatch(r"arn:aws:lambda:.*:function:dataquest-dev-ingest:\*", arn)
                    scoped = scoped or re.fullmatch(rf"arn:aws:glue:{REGION}:{ACCOUNT}:table/dataquest_dev/\*", arn)
                    assert scoped, (
                        f"{address}: {arn} is wider than a log group, a key prefix, function versions or the "
                        "lake database's tables"
                    )


def _s3_grants(statements: list[dict[str, Any]], action: str) -> set[str]:
    prefix = f"arn:aws:s3:::{DEV_BUCKET}/"
    return {
        arn.removeprefix(prefix).removesuffix("*")
        for s in statements
        if action in _as_list(s["Action"])
        for arn in _as_list(s["Resource"])
        if arn.startswith(prefix)
    }


def test_function_roles_touch_only_their_own_prefixes(applied: Applied) -> None:
    policies = _role_policies(applied.dev.applied_state())
    ingest = policies["module.pipeline.module.ingest.aws_iam_role_policy.this"]
    report = policies["module.pipeline.module.report.aws_iam_role_policy.this"]
    assert _s3_grants(ingest, "s3:PutObject") == {"bls/", "population/", "_logs/", "_locks/", "calendar/"}
    assert _s3_grants(ingest, "s3:DeleteObject") == {"bls/", "population/", "_logs/", "_locks/"}  # not calendar/
    assert _s3_grants(ingest, "s3:GetObject") == {"bls/", "population/", "_locks/", "calendar/"}
    assert _s3_grants(report, "s3:PutObject") == {"reports/"}
    assert _s3_grants(report, "s3:DeleteObject") == {"reports/"}
    assert _s3_grants(report, "s3:GetObject") == {"bls/", "population/", "reports/"}
    # Only the sync lists (then aborts) the multipart uploads a killed run left.
    [ingest_list, report_list] = [
        [s for s in statements if _as_list(s["Resource"]) == [f"arn:aws:s3:::{DEV_BUCKET}"]]
        for statements in (ingest, report)
    ]
    assert "s3:ListBucketMultipartUploads" in _as_list(ingest_list[0]["Action"])
    assert "s3:ListBucketMultipartUploads" not in _as_list(report_list[0]["Action"])
    # The ingest role may only send: to the transfer queue (the planner's messages) and to its own failure queue
    # (Lambda's on-failure destination).
    sends = [s for s in ingest if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
    assert {a for s in sends for a in _as_list(s["Action"])} == {"sqs:SendMessage"}
    assert {r for s in sends for r in _as_list(s["Resource"])} == {
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-ingest-failures",
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-transfer",
    }
    # The transfer role mirrors bls/ and logs its outcomes, never deletes, never reads or writes anything else.
    transfer = policies["module.pipeline.module.transfer.aws_iam_role_policy.this"]
    assert _s3_grants(transfer, "s3:PutObject") == {"bls/", "_logs/ingest/"}
    assert _s3_grants(transfer, "s3:GetObject") == {"bls/"}
    assert _s3_grants(transfer, "s3:PutObjectTagging") == {"bls/"}
    assert _s3_grants(transfer, "s3:DeleteObject") == set()
    [consume] = [s for s in report if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
    assert _as_list(consume["Resource"]) == [f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-dev-report"]


# Secrets have no place in state: the functions get settings, never credentials. (An access key *id* is not a
# secret: moto's caller identity reports AWS's documented example one as its user id.)
SECRET_IN_STATE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|"
    r"\"(?:aws_)?(?:secret_access_key|session_token|password|secret)\"\s*:\s*\"[^\"]+\"",
    re.IGNORECASE,
)


def test_no_secrets_in_state(applied: Applied) -> None:
    for deployment in applied.all:
        found = SECRET_IN_STATE.findall(json.dumps(deployment.applied_state()))
        assert not found, f"envs/{deployment.name}: secret-looking values in state: {found[:3]}"
    assert SECRET_IN_STATE.search('{"DQ_X": "1", "AWS_SECRET_ACCESS_KEY": "abc"}'), "must see a planted secret"
    assert SECRET_IN_STATE.search('{"password": "hunter2"}'), "must see a planted password"


# --- the lake: bls/ by EventBridge, beside the report queue's exact keys ------------------------------------------


def _keys(sqs: Any, url: str) -> list[tuple[str, str]]:
    """(what happened, key) of every message on the queue, consumed: S3's notifications and EventBridge's events."""
    found: list[tuple[str, str]] = []
    for _ in range(4):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if "detail-type" in body:
                found.append((body["detail-type"], body["detail"]["object"]["key"]))
            found += [(r["eventName"], unquote_plus(r["s3"]["object"]["key"])) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


# Run on local: envs/local and dev share the notifications module and the rule's pattern (the next test holds the
# two equal), and on dev moto's event source mappings take every message off the queues for the functions.
def test_a_file_under_bls_reaches_the_lake_queue_and_the_report_queue_still_gets_its_exact_keys(
    applied: Applied,
) -> None:
    bucket = "dataquest-local"
    s3, sqs = client("s3", applied.local.endpoint), client("sqs", applied.local.endpoint)
    report_url = sqs.get_queue_url(QueueName="dataquest-local-report")["QueueUrl"]
    lake_url = sqs.get_queue_url(QueueName="dataquest-local-lake")["QueueUrl"]
    for url in (report_url, lake_url):
        _keys(sqs, url)  # what earlier tests left
    for key in [*TRIGGER_KEYS, "bls/ce/ce.series", "bls/ce/ce.data.0.AllCESSeries", "reports/latest/report.json"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    # A version deleted for good: moto announces that (not a delete marker, which AWS announces too).
    version = s3.head_object(Bucket=bucket, Key="bls/ce/ce.series")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="bls/ce/ce.series", VersionId=version)

    assert sorted(_keys(sqs, report_url)) == sorted(("ObjectCreated:Put", k) for k in TRIGGER_KEYS)
    assert sorted(_keys(sqs, lake_url)) == sorted(
        [
            ("Object Created", "bls/ce/ce.data.0.AllCESSeries"),
            ("Object Created", "bls/ce/ce.series"),
            ("Object Created", "bls/pr/pr.data.0.Current"),
            ("Object Created", "population/nation_population.json"),
            ("Object Deleted", "bls/ce/ce.series"),
        ]
    )


@pytest.mark.parametrize("env", ["dev", "local"])
def test_only_the_lake_rule_may_send_to_the_lake_queue_which_redrives_to_its_dead_letter_queue(
    applied: Applied, env: str
) -> None:
    deployment = applied.dev if env == "dev" else applied.local
    sqs, events = client("sqs", deployment.endpoint), client("events", deployment.endpoint)
    rule = events.describe_rule(Name=f"dataquest-{env}-lake")
    bucket = DEV_BUCKET if env == "dev" else "dataquest-local"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {
            "bucket": {"name": [bucket]},
            "object": {"key": [{"prefix": "bls/"}, "population/nation_population.json"]},
        },
    }
    [target] = events.list_targets_by_rule(Rule=f"dataquest-{env}-lake")["Targets"]
    assert target["Arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:dataquest-{env}-lake"
    url = sqs.get_queue_url(QueueName=f"dataquest-{env}-lake")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    [statement] = json.loads(attrs["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": rule["Arn"]}
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].endswith(f":dataquest-{env}-lake-dlq")
    # The bucket sends its events to EventBridge beside the report queue's exact-key entries.
    notification = client("s3", deployment.endpoint).get_bucket_notification_configuration(Bucket=bucket)
    assert "EventBridgeConfiguration" in notification
    assert {c["QueueArn"].rsplit(":", 1)[1] for c in notification["QueueConfigurations"]} == {f"dataquest-{env}-report"}


def test_dev_lake_function_runs_the_report_image_with_the_lake_handler_and_its_database(applied: Applied) -> None:
    config = client("lambda", applied.dev.endpoint).get_function(FunctionName="dataquest-dev-lake")
    assert config["Code"]["ImageUri"] == REPORT_IMAGE
    assert config["Configuration"]["ImageConfigResponse"]["ImageConfig"]["Command"] == [
        "dataquest.handlers.lake.handler"
    ]
    assert config["Configuration"]["Environment"]["Variables"] == {
        "DQ_BUCKET": DEV_BUCKET,
        "DQ_ENVIRONMENT": "dev",
        "DQ_LAKE_DATABASE": "dataquest_dev",
    }
    glue = client("glue", applied.dev.endpoint)
    assert glue.get_database(Name="dataquest_dev")["Database"]["Name"] == "dataquest_dev"
    group = client("athena", applied.dev.endpoint).get_work_group(WorkGroup="dataquest-dev-lake")["WorkGroup"]
    assert group["Configuration"]["EnforceWorkGroupConfiguration"] is True
    # Its alarms are the pipeline's (test_dev_alarms_watch_...): none of its own.
    alarms = client("cloudwatch", applied.dev.endpoint).describe_alarms(AlarmNamePrefix="dataquest-dev-lake-")
    assert alarms["MetricAlarms"] == []


def test_dev_dashboard_shows_the_lakes_queues_duration_memory_and_updates(applied: Applied) -> None:
    body = json.loads(
        client("cloudwatch", applied.dev.endpoint).get_dashboard(DashboardName="dataquest-dev")["DashboardBody"]
    )
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    queues = widgets["Queues: depth and age of the oldest message"]["metrics"]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "dataquest-dev-lake-dlq"] in [
        m[:4] for m in queues
    ]
    assert ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "dataquest-dev-lake"] in [m[:4] for m in queues]
    duration = widgets["Duration against the timeout (maximum, ms)"]
    assert ["AWS/Lambda", "Duration", "FunctionName", "dataquest-dev-lake"] in [m[:4] for m in duration["metrics"]]
    assert {"label": "lake timeout", "value": 900 * 1000} in duration["annotations"]["horizontal"]
    memory = widgets["Memory used against the limit (MB, per function and hour)"]["query"]
    assert "'/aws/lambda/dataquest-dev-lake'" in memory
    updates = widgets["Lake updates: invocations, errors and throttles (per hour)"]["metrics"]
    metrics = ("Invocations", "Errors", "Throttles")
    assert [m[:4] for m in updates] == [["AWS/Lambda", m, "FunctionName", "dataquest-dev-lake"] for m in metrics]
