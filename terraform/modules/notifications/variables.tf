variable "bucket_name" {
  description = "Name of the notifying bucket: pass the bucket module's configured_bucket_name, so that the notification is written after the bucket's policy and settings."
  type        = string
}

variable "queues" {
  description = <<-EOT
    Every queue the bucket notifies, one entry per filter: id (unique, names the entry in S3), queue_arn (pass the
    queue module's notification_queue_arn, known once its policy admits the bucket), events (e.g.
    ["s3:ObjectCreated:*"]), filter_prefix and filter_suffix (null matches every key). Two entries whose events and
    filters can match one key are refused (S3 refuses them too).
  EOT
  type = list(object({
    id            = string
    queue_arn     = string
    events        = list(string)
    filter_prefix = optional(string)
    filter_suffix = optional(string)
  }))

  validation {
    condition     = length(var.queues) == length(distinct([for q in var.queues : q.id]))
    error_message = "queues must have distinct ids."
  }

  validation {
    condition     = alltrue([for q in var.queues : length(q.events) > 0 && alltrue([for e in q.events : startswith(e, "s3:")])])
    error_message = "every queue entry needs at least one event, each an S3 event type (s3:ObjectCreated:*, s3:ObjectRemoved:*...)."
  }

  validation {
    condition     = alltrue([for q in var.queues : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", q.queue_arn))])
    error_message = "every queue_arn must be an SQS queue ARN."
  }
}

variable "eventbridge" {
  description = "Also send every event of the bucket to EventBridge (rules there may fan one event out to many targets, with no overlap rule)."
  type        = bool
  default     = false
  nullable    = false
}
