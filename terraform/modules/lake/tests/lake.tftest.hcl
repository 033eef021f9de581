# terraform test (Terraform >= 1.7): the lake module against a mock AWS provider, for what its configuration decides
# without an AWS call. tests/integration/test_terraform_modules.py runs it; tests/integration/test_lake_terraform.py
# applies the module to moto and runs the lake function under its role with IAM enforced.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dataquest-test-lake-us-east-1" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:dataquest-test-lake" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/dataquest-test-lake" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-lake" }
  }
}

variables {
  name        = "dataquest-test-lake"
  bucket_name = "dataquest-test"
  bucket_arn  = "arn:aws:s3:::dataquest-test"
  image_uri   = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/report@sha256:0000000000000000000000000000000000000000000000000000000000000000"
}

run "the_workgroup_is_enforced_encrypted_and_capped" {
  command = apply

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration
    error_message = "The workgroup's result location and encryption are enforced on every query."
  }

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3"
    error_message = "Results are encrypted (SSE-S3 without a KMS key)."
  }

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10 * 1024 * 1024 * 1024
    error_message = "A query that would scan more than the cutoff (10 GiB by default) is cancelled."
  }

  assert {
    condition     = length(aws_athena_named_query.this) == 3
    error_message = "One named query per SQL file of the package: population_stats, best_years, series_population."
  }

  assert {
    condition     = output.event_rule_arn == "arn:aws:events:us-east-1:123456789012:rule/dataquest-test-lake"
    error_message = "The lake's feed (modules/lake_feed) is its rule, named as the lake."
  }

  assert {
    condition     = aws_iam_policy.analyst.name == "dataquest-test-lake-us-east-1-analyst"
    error_message = "The analyst policy's name carries the region, as every role and policy name does (IAM names are per account)."
  }

  assert {
    condition     = output.monitoring_targets == { function_name = "dataquest-test-lake", timeout_seconds = 900, queue_name = "dataquest-test-lake", dead_letter_queue_name = "dataquest-test-lake-dlq" }
    error_message = "What the pipeline's alarms and dashboard watch: the function, its timeout, the queue and its dead-letter queue."
  }
}

run "a_kms_key_encrypts_the_results_with_it" {
  command = plan

  variables {
    kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"]
  }

  assert {
    condition     = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS"
    error_message = "With a KMS key, the results are SSE-KMS."
  }
}

run "a_cutoff_below_athenas_minimum_is_refused" {
  command = plan

  variables {
    bytes_scanned_cutoff_per_query = 1024
  }

  expect_failures = [var.bytes_scanned_cutoff_per_query]
}
