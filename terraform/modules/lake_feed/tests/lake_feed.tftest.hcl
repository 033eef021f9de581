# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# The lake's feed, shared by modules/lake and envs/local; terraform_apply/ applies both to moto and sends through it.

mock_provider "aws" {
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/dataquest-test-lake" }
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
}

variables {
  name        = "dataquest-test-lake"
  bucket_name = "dataquest-test"
  queue_arn   = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-lake"
  queue_url   = "https://sqs.us-east-1.amazonaws.com/123456789012/dataquest-test-lake"
}

run "the_rule_hears_bls_and_the_population_of_the_bucket_and_sends_to_the_queue" {
  command = apply

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern).detail.object.key == [{ prefix = "bls/" }, "population/nation_population.json"]
    error_message = "The lake hears every change under bls/, and the population (layout.json's)."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern).detail.bucket.name == ["dataquest-test"]
    error_message = "The rule hears the data bucket only."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern)["detail-type"] == ["Object Created", "Object Deleted"]
    error_message = "Created and deleted objects both reach the lake (a deleted file takes its rows out)."
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == var.queue_arn && aws_cloudwatch_event_target.this.rule == "dataquest-test-lake"
    error_message = "The rule's target is the lake queue."
  }

  assert {
    condition     = local.rule_arn == aws_cloudwatch_event_rule.this.arn
    error_message = "The policy admits the rule by the ARN the rule gets (computed from its name, on the default bus)."
  }

  assert {
    condition     = aws_sqs_queue_policy.this.queue_url == var.queue_url
    error_message = "The policy is written on the lake queue."
  }
}

run "rejects_a_rule_name_eventbridge_refuses" {
  command = plan

  variables {
    name = "dataquest lake"
  }

  expect_failures = [var.name]
}
