# terraform test (Terraform >= 1.7): the whole pipeline against a mock AWS provider, for what its wiring and
# validation decide without any AWS call. tests/integration/test_terraform_modules.py runs it; what only a real
# apply proves (moto accepts it, no drift, least privilege by running) is tests/integration/test_terraform_apply.py.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dataquest-test-ingest-us-east-1" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:dataquest-test-ingest" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::dataquest-test-123456789012-us-east-1" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:dataquest-test-alarms" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-queue" }
  }
}

variables {
  environment      = "test"
  contact_email    = "dq-tests@example.com"
  ingest_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/ingest@sha256:1111111111111111111111111111111111111111111111111111111111111111"
  report_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/report@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "failed_scheduled_runs_are_kept_and_alarmed" {
  command = apply

  assert {
    condition     = module.ingest.on_failure_queue_name == "dataquest-test-ingest-failures"
    error_message = "The ingest function keeps its failed runs in a queue."
  }

  assert {
    condition     = contains(keys(module.alarms.alarm_arns), "dataquest-test-alarms-ingest-failures-dead-letters")
    error_message = "The failure queue is alarmed."
  }

  assert {
    condition     = module.report.on_failure_queue_name == null
    error_message = "The report function is not invoked asynchronously: no failure queue."
  }
}

run "rejects_an_image_given_by_tag" {
  command = plan

  variables {
    ingest_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/ingest:latest"
  }

  expect_failures = [var.ingest_image_uri]
}

run "rejects_a_kms_alias" {
  command = plan

  variables {
    bucket_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/aws/s3"
  }

  expect_failures = [var.bucket_kms_key_arn]
}

run "rejects_a_second_retry" {
  command = plan

  variables {
    ingest_retry_attempts = 2
  }

  expect_failures = [var.ingest_retry_attempts]
}
