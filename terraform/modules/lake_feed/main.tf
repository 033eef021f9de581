# The lake's feed: the EventBridge rule that takes the bucket's changes under bls/ (and the population, gold's input)
# to the lake queue, the queue policy that lets only that rule send, and the rule's target. One definition for
# modules/lake (dev and prod) and envs/local (the emulator), so the two cannot hear different keys.
#
# The bucket must send its events to EventBridge (modules/notifications' `eventbridge = true`): modules/lake's
# README says why EventBridge and not a second notification entry.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # The S3 layout (one file, read by the Python package too).
  layout     = jsondecode(file("${path.module}/../../../src/dataquest/layout.json"))
  bls        = local.layout.prefixes.bls
  population = local.layout.report_inputs.population

  # The rule's ARN (default bus), known before the rule is written: the queue policy reads no attribute of the
  # rule, so an in-place change of the rule (its description) never defers the policy to apply time.
  rule_arn = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${var.name}"
}

# S3's events of the bucket, as EventBridge delivers them: every object created or deleted under bls/ (a survey's
# data, series, mapping or footnote file), and the population. Nothing else of the bucket is sent.
resource "aws_cloudwatch_event_rule" "this" {
  name        = var.name
  description = "Objects created or deleted under s3://${var.bucket_name}/${local.bls}, and the population: to the lake queue."
  tags        = var.tags

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created", "Object Deleted"]
    detail = {
      bucket = { name = [var.bucket_name] }
      object = { key = [{ prefix = local.bls }, local.population] }
    }
  })
}

# Only that rule may send to the lake queue (modules/queue makes no policy for a queue no bucket notifies).
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "AllowTheLakeRule"
    actions   = ["sqs:SendMessage"]
    resources = [var.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  # modules/queue's policy_queue_url: known once the queue's redrive policy is written (the two writes never race).
  queue_url = var.queue_url
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_cloudwatch_event_target" "this" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "lake-queue"
  arn       = var.queue_arn

  # The queue policy first: EventBridge drops what the queue refuses (to the rule's FailedInvocations metric).
  depends_on = [aws_sqs_queue_policy.this]
}
