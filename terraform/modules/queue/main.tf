# A queue feeding a function, with a dead-letter queue for messages the consumer keeps failing on; optionally fed by
# S3 ObjectCreated notifications for a few exact keys (the report queue), with a policy that lets only the data
# bucket (in this account) send. Without notification keys (the transfer queue) only IAM principals of the account
# whose policies allow it may send: no queue policy, no notification.
#
# Redrive and access policies are standalone resources, not inline queue arguments: emulators hand inline JSON
# back reformatted, which drifts forever, and the two are written one after the other (SQS has been seen to stall
# a policy write racing a redrive write on the same queue).

data "aws_caller_identity" "current" {}

locals {
  notified = length(var.notification_keys) > 0

  # AWS's rule for queues feeding Lambda: at least six times the function timeout, plus the batching window.
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
      condition     = !local.notified || (var.bucket_name != null && var.bucket_arn != null)
      error_message = "notification_keys need bucket_name and bucket_arn: the bucket that notifies, and the only one the queue admits."
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

# S3 checks that it may send to the queue when the notification is written: the policy must exist first.
resource "aws_s3_bucket_notification" "this" {
  count = local.notified ? 1 : 0

  bucket = var.bucket_name

  dynamic "queue" {
    for_each = var.notification_keys
    content {
      id        = "object-created-${replace(queue.value, "/[^A-Za-z0-9-]/", "-")}"
      queue_arn = aws_sqs_queue.this.arn
      events    = ["s3:ObjectCreated:*"]
      # An exact key: its own prefix, and its file name as suffix, so that `key.tmp` or `key/...` do not match.
      filter_prefix = queue.value
      filter_suffix = element(split("/", queue.value), length(split("/", queue.value)) - 1)
    }
  }

  depends_on = [aws_sqs_queue_policy.this]
}

# Deployments made before the notification became optional keep their policy and notification (no replacement).
moved {
  from = aws_sqs_queue_policy.this
  to   = aws_sqs_queue_policy.this[0]
}

moved {
  from = aws_s3_bucket_notification.this
  to   = aws_s3_bucket_notification.this[0]
}
