# The one notification configuration of a bucket. S3 keeps exactly one per bucket, and aws_s3_bucket_notification
# replaces it whole: two resources on one bucket overwrite each other on every apply. So every queue the bucket
# notifies is one entry of var.queues here, written by this one resource: the report queue's exact keys, and the
# lake's queue (or any later consumer) as one more entry in the caller's list.
#
# Ordering: pass the bucket's configured_bucket_name (known once the bucket's policy and other settings are written:
# S3 answers 409 OperationAborted to concurrent configuration writes on one bucket) and each queue's
# notification_queue_arn (known once its queue policy lets the bucket send: S3 sends a test message and refuses the
# configuration when it is denied). The references carry the order; no depends_on is needed in the caller.

locals {
  # S3 refuses a configuration in which two entries can match one event: the same event type (or a wildcard over
  # it), and prefixes of which one starts the other, and suffixes of which one ends the other (an absent filter
  # matches everything). Checked here so that the plan fails, naming the pair, instead of the apply.
  entries = [for q in var.queues : merge(q, { prefix = q.filter_prefix == null ? "" : q.filter_prefix, suffix = q.filter_suffix == null ? "" : q.filter_suffix })]
  overlapping = flatten([
    for i, a in local.entries : [
      for j, b in local.entries : "${a.id} and ${b.id}"
      if j > i &&
      (startswith(a.prefix, b.prefix) || startswith(b.prefix, a.prefix)) &&
      (endswith(a.suffix, b.suffix) || endswith(b.suffix, a.suffix)) &&
      anytrue([
        for ea in a.events : anytrue([
          for eb in b.events : ea == eb || startswith(ea, trimsuffix(eb, "*")) || startswith(eb, trimsuffix(ea, "*"))
        ])
      ])
    ]
  ])
}

resource "aws_s3_bucket_notification" "this" {
  bucket      = var.bucket_name
  eventbridge = var.eventbridge

  dynamic "queue" {
    for_each = var.queues
    content {
      id            = queue.value.id
      queue_arn     = queue.value.queue_arn
      events        = queue.value.events
      filter_prefix = queue.value.filter_prefix
      filter_suffix = queue.value.filter_suffix
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.overlapping) == 0
      error_message = "The bucket notifications ${join(", ", local.overlapping)} overlap (same event type, prefixes and suffixes that can match one key), which S3 refuses: narrow one filter, or turn on eventbridge and route the events with an EventBridge rule."
    }
  }
}
