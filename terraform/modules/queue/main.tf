# A queue feeding a function, with a dead-letter queue for messages the consumer keeps failing on; optionally fed by
# a bucket's event notifications (the report queue), with a policy that lets only that bucket (in this account)
# send. The notification itself is the notifications module's: a bucket has one notification configuration, which
# lists every queue it feeds. Without bucket notifications (the transfer queue) only IAM principals of the account
# whose policies allow it may send: no queue policy.
#
# Redrive and access policies are standalone resources, not inline queue arguments: emulators hand inline JSON
# back reformatted, which drifts forever, and the two are written one after the other (SQS has been seen to stall
# a policy write racing a redrive write on the same queue).

data "aws_caller_identity" "current" {}

locals {
  notified = var.admit_bucket_notifications

  # AWS's recommendation for queues feeding Lambda (its hard rule is only visibility >= the function's timeout): six
  # times the function timeout, plus the batching window.
  visibility_timeout_seconds = 6 * var.consumer_timeout_seconds + var.consumer_batching_window_seconds
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look at what failed
  sqs_managed_sse_enabled   = var.kms_master_key_id == null ? true : null
  kms_master_key_id         = var.kms_master_key_id
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  max_message_size           = var.max_message_size
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = var.kms_master_key_id == null ? true : null
  kms_master_key_id          = var.kms_master_key_id
  tags                       = var.tags

  # Written by the standalone resources below; read back here (reformatted by emulators), never set here.
  lifecycle {
    ignore_changes = [redrive_policy, policy]

    precondition {
      condition     = !local.notified || var.bucket_arn != null
      error_message = "admit_bucket_notifications needs bucket_arn: the bucket that notifies, and the only one the queue admits."
    }
  }
}

resource "aws_sqs_queue_redrive_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

data "aws_iam_policy_document" "this" {
  count = local.notified ? 1 : 0

  statement {
    sid       = "AllowDataBucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  count = local.notified ? 1 : 0

  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.this[0].json

  depends_on = [aws_sqs_queue_redrive_policy.this]
}

# Deployments made before the queue policy became optional keep it (no replacement). The notification that was
# here is the notifications module's now (modules/pipeline and envs/local move it there).
moved {
  from = aws_sqs_queue_policy.this
  to   = aws_sqs_queue_policy.this[0]
}
