# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# The report queue is fed by the bucket's notifications; the transfer queue by the planner's role alone.

mock_provider "aws" {
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-queue" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name                     = "dataquest-test-transfer"
  consumer_timeout_seconds = 900
}

run "without_notification_keys_no_bucket_notification_and_no_queue_policy" {
  command = apply

  assert {
    condition     = length(aws_s3_bucket_notification.this) == 0 && length(aws_sqs_queue_policy.this) == 0
    error_message = "A queue no bucket notifies has no notification and no queue policy (IAM alone decides who sends)."
  }

  assert {
    condition     = aws_sqs_queue.this.visibility_timeout_seconds == 5400 && output.queue_max_receive_count == 5
    error_message = "Six consumer timeouts of visibility; dead-lettered after 5 receives by default."
  }

  assert {
    condition     = aws_sqs_queue.dead_letter.name == "dataquest-test-transfer-dlq" && aws_sqs_queue.this.sqs_managed_sse_enabled
    error_message = "The dead-letter queue is <name>-dlq; SSE on."
  }
}

run "the_redrive_takes_the_receive_count_given" {
  command = apply

  variables {
    max_receive_count = 3
  }

  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_policy.this.redrive_policy).maxReceiveCount == 3
    error_message = "max_receive_count is the redrive policy's maxReceiveCount."
  }
}

run "notification_keys_notify_the_queue_and_admit_only_the_bucket" {
  command = apply

  variables {
    name              = "dataquest-test-report"
    bucket_name       = "dataquest-test"
    bucket_arn        = "arn:aws:s3:::dataquest-test"
    notification_keys = ["population/nation_population.json"]
  }

  assert {
    condition     = length(aws_sqs_queue_policy.this) == 1 && aws_s3_bucket_notification.this[0].bucket == "dataquest-test"
    error_message = "Notification keys: a queue policy and the bucket's notification."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.this[0].queue[*].filter_suffix) == "nation_population.json"
    error_message = "An exact key: its file name as suffix."
  }
}

run "rejects_notification_keys_without_a_bucket" {
  command = plan

  variables {
    notification_keys = ["population/nation_population.json"]
  }

  expect_failures = [aws_sqs_queue.this]
}
