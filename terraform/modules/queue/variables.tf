variable "name" {
  description = "Name of the queue; the dead-letter queue is named `<name>-dlq`."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 letters, digits, hyphens or underscores (the -dlq suffix must still fit 80)."
  }
}

variable "admit_bucket_notifications" {
  description = "Give the queue a policy letting bucket_arn (in this account) send: the queue is a target of that bucket's notifications (modules/notifications, fed notification_queue_arn). False: no queue policy, only senders of this account that IAM allows (e.g. a function's role)."
  type        = bool
  default     = false
  nullable    = false
}

variable "bucket_arn" {
  description = "ARN of the notifying bucket: the only source the queue policy lets send; null without admit_bucket_notifications."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[^/]+$", var.bucket_arn))
    error_message = "bucket_arn must be a bucket ARN (arn:aws:s3:::name)."
  }
}

variable "consumer_timeout_seconds" {
  description = "Timeout of the function consuming the queue; the visibility timeout is six times this plus the batching window."
  type        = number

  validation {
    condition     = var.consumer_timeout_seconds >= 1 && var.consumer_timeout_seconds <= 900
    error_message = "consumer_timeout_seconds must be 1-900 (a Lambda timeout)."
  }
}

variable "consumer_batching_window_seconds" {
  description = "Maximum batching window of the consumer's event source mapping, added to the visibility timeout."
  type        = number
  default     = 0

  validation {
    condition     = var.consumer_batching_window_seconds >= 0 && var.consumer_batching_window_seconds <= 300
    error_message = "consumer_batching_window_seconds must be 0-300."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1-1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message (the dead-letter queue keeps them 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be 60-1209600."
  }
}

variable "max_message_size" {
  description = "Largest message in bytes. S3 event notifications are a few KiB; the SQS maximum (256 KiB) leaves room for any key and metadata."
  type        = number
  default     = 262144

  validation {
    condition     = var.max_message_size >= 16384 && var.max_message_size <= 262144
    error_message = "max_message_size must be 16384-262144 bytes: S3 event notifications must fit."
  }
}

variable "kms_master_key_id" {
  description = "KMS key for SSE-KMS on both queues; null means SQS-managed SSE. A customer key must let s3.amazonaws.com use it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for both queues (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
