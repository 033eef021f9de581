# A daily EventBridge Scheduler schedule invoking one function, with retries, a dead-letter queue for invocations
# that never got through, and a role that may do exactly that: invoke this function and send to this queue.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  # IAM names are global to the account, schedules regional: the region keeps two deployments apart.
  name               = "${var.name}-${data.aws_region.current.name}-scheduler"
  description        = "EventBridge Scheduler: invoke ${var.function_name} and dead-letter to ${var.name}-dlq."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeTheFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.function_arn, "${var.function_arn}:*"]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "invoke-and-dead-letter"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:the schedule's only payload is a constant JSON trigger; an AWS-owned key encrypts it at rest
  name        = var.name
  description = var.description
  state       = var.enabled ? "ENABLED" : "DISABLED"

  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_expression_timezone

  flexible_time_window {
    mode                      = var.flexible_window_minutes == 0 ? "OFF" : "FLEXIBLE"
    maximum_window_in_minutes = var.flexible_window_minutes == 0 ? null : var.flexible_window_minutes
  }

  target {
    arn      = var.function_arn
    role_arn = aws_iam_role.this.arn
    input    = var.input

    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = aws_sqs_queue.dead_letter.arn
    }
  }

  # The role must be able to invoke before the first run.
  depends_on = [aws_iam_role_policy.this]
}
