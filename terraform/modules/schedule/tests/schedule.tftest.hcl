# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# A daily schedule invoking one function, retrying, dead-lettering, with a role that may do that and nothing else.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-ingest-daily-dlq" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dataquest-test-ingest-daily-us-east-1-scheduler" }
  }
}

variables {
  name          = "dataquest-test-ingest-daily"
  function_name = "dataquest-test-ingest"
  function_arn  = "arn:aws:lambda:us-east-1:123456789012:function:dataquest-test-ingest"
}

run "runs_daily_with_retries_and_a_dead_letter_queue" {
  command = apply

  assert {
    condition     = aws_scheduler_schedule.this.schedule_expression == "cron(0 6 * * ? *)" && aws_scheduler_schedule.this.state == "ENABLED"
    error_message = "Every day at 06:00 (UTC by default), enabled."
  }

  assert {
    condition     = aws_scheduler_schedule.this.flexible_time_window[0].mode == "OFF"
    error_message = "No flexible window by default: the run starts at its minute."
  }

  assert {
    condition = (
      aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_retry_attempts == 3 &&
      aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      aws_scheduler_schedule.this.target[0].dead_letter_config[0].arn == aws_sqs_queue.dead_letter.arn
    )
    error_message = "3 retries within an hour, then the dead-letter queue."
  }

  assert {
    condition     = aws_iam_role.this.name == "dataquest-test-ingest-daily-us-east-1-scheduler" && aws_sqs_queue.dead_letter.name == "dataquest-test-ingest-daily-dlq"
    error_message = "The role carries the region (IAM names are per account); the dead-letter queue is <name>-dlq."
  }
}

run "the_role_may_invoke_the_function_and_dead_letter_only" {
  command = apply

  assert {
    condition = jsonencode(data.aws_iam_policy_document.this.statement[*].resources) == jsonencode([
      [var.function_arn, "${var.function_arn}:*"],
      [aws_sqs_queue.dead_letter.arn],
    ])
    error_message = "Invoke this function (and its versions), send to its dead-letter queue: nothing else."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.assume.statement[0].principals[*].identifiers) == toset(["scheduler.amazonaws.com"])
    error_message = "Only EventBridge Scheduler assumes the role."
  }
}

run "a_flexible_window_and_a_disabled_schedule" {
  command = apply

  variables {
    flexible_window_minutes = 15
    enabled                 = false
  }

  assert {
    condition     = aws_scheduler_schedule.this.flexible_time_window[0].mode == "FLEXIBLE" && aws_scheduler_schedule.this.flexible_time_window[0].maximum_window_in_minutes == 15 && aws_scheduler_schedule.this.state == "DISABLED"
    error_message = "A window makes it FLEXIBLE; enabled = false disables it."
  }
}

run "rejects_an_expression_that_is_not_cron_rate_or_at" {
  command = plan

  variables {
    schedule_expression = "0 6 * * *"
  }

  expect_failures = [var.schedule_expression]
}

run "rejects_a_qualified_function_arn" {
  command = plan

  variables {
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dataquest-test-ingest:live"
  }

  expect_failures = [var.function_arn]
}

run "rejects_a_name_too_long_for_its_role" {
  command = plan

  variables {
    name = "dataquest-a-name-far-too-long-for-its-role"
  }

  expect_failures = [var.name]
}
