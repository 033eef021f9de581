# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# The report queue is fed by the bucket's notifications (modules/notifications writes them; this module admits the
# bucket); the transfer queue by the planner's role alone.

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

run "without_bucket_notifications_no_queue_policy" {
  command = apply

  assert {
    condition     = length(aws_sqs_queue_policy.this) == 0
    error_message = "A queue no bucket notifies has no queue policy (IAM alone decides who sends)."
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

run "bucket_notifications_admit_only_the_bucket" {
  command = apply

  variables {
    name                       = "dataquest-test-report"
    admit_bucket_notifications = true
    bucket_arn                 = "arn:aws:s3:::dataquest-test"
  }

  assert {
    condition     = length(aws_sqs_queue_policy.this) == 1 && output.notification_queue_arn == aws_sqs_queue.this.arn
    error_message = "A notified queue has a policy, and gives its ARN to the notifications module."
  }
}

run "rejects_bucket_notifications_without_a_bucket" {
  command = plan

  variables {
    admit_bucket_notifications = true
  }

  expect_failures = [aws_sqs_queue.this]
}
