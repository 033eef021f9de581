variable "function_name" {
  description = "Name of the function; also names its log group (/aws/lambda/<name>), its role (<name>-<region>: IAM names are per account, so one deployment per region needs the region in them) and its failure queue (<name>-failures)."
  type        = string

  validation {
    # 64 for the role name, less "-<region>" (at most 15 characters).
    condition     = can(regex("^[A-Za-z0-9_-]{1,49}$", var.function_name))
    error_message = "function_name must be 1-49 letters, digits, hyphens or underscores (the role name adds -<region>, at most 64 in all)."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "image_uri" {
  description = "Container image by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex>. Tags move; digests do not."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must reference the image by digest: <repository uri>@sha256:<64 hex digits>."
  }
}

variable "command" {
  description = "Overrides the image CMD (the handler), e.g. [\"dataquest.handlers.ingest.handler\"]. Empty keeps the image's CMD."
  type        = list(string)
  default     = []
}

variable "architecture" {
  description = "Instruction set the image was built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be 128-10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be 1-900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency (0 stops the function); null reserves none. Accounts at the default limit of 10 cannot reserve any."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0, false)
    error_message = "reserved_concurrent_executions must be null or at least 0."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653)."
  }
}

variable "application_log_level" {
  description = "Lowest level of the function's own log lines that Lambda keeps (JSON log format): TRACE, DEBUG or INFO (the metric lines are INFO: a higher level would drop them). The function filters first by DQ_LOG_LEVEL; lower both to see DEBUG lines."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    # Lambda's levels are TRACE..FATAL; WARN and above would drop the functions' metric lines (EMF, level INFO:
    # dataquest.log.METRICS_LEVEL) and with them the DataQuest metrics and the alarms on them.
    condition     = contains(["TRACE", "DEBUG", "INFO"], var.application_log_level)
    error_message = "application_log_level must be TRACE, DEBUG or INFO: the metric lines are INFO, and a higher level would drop them (and the alarms on them)."
  }
}

variable "s3_access" {
  description = <<-EOT
    What the function may do in the data bucket. Prefixes end with "/" and grant every key below them:
    read_prefixes (get, and get a given version with read_versions), write_prefixes (put, tag, delete, multipart), upload_prefixes (put, tag, multipart: no
    delete), put_prefixes (put only), list_bucket (also makes a missing key answer 404 instead of 403),
    list_multipart_uploads (with list_bucket: find the uploads a killed run left, to abort them). Null grants
    nothing in S3.
  EOT
  type = object({
    bucket_arn      = string
    read_prefixes   = optional(list(string), [])
    write_prefixes  = optional(list(string), [])
    upload_prefixes = optional(list(string), [])
    put_prefixes    = optional(list(string), [])
    list_bucket     = optional(bool, false)
    read_versions   = optional(bool, false)

    list_multipart_uploads = optional(bool, false)
  })
  default = null

  validation {
    condition = var.s3_access == null || alltrue([
      for p in concat(
        try(var.s3_access.read_prefixes, []), try(var.s3_access.write_prefixes, []),
        try(var.s3_access.upload_prefixes, []), try(var.s3_access.put_prefixes, []),
      ) :
      can(regex("^[^*/][^*]*/$", p))
    ])
    error_message = "s3_access prefixes must be non-empty, end with '/', and contain no '*' (no whole-bucket grants)."
  }
}

variable "kms_key_arns" {
  description = "KMS keys the function may decrypt with and generate data keys from (a customer key on the bucket or queue), by key ARN: an IAM statement on an alias ARN does not authorise the key."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", k))])
    error_message = "kms_key_arns must be key ARNs (arn:aws:kms:<region>:<account>:key/<id>), not aliases: resolve an alias with data \"aws_kms_alias\" (target_key_arn)."
  }
}

variable "send_queue_arns" {
  description = "Queues the function itself sends messages to (sqs:SendMessage), by ARN: e.g. the planner's transfer queue, or the queue a transfer re-enqueues its continuation on."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for q in var.send_queue_arns : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", q))])
    error_message = "send_queue_arns must be queue ARNs (arn:aws:sqs:<region>:<account>:<name>), no wildcards."
  }
}

variable "async_invocation" {
  description = <<-EOT
    For a function invoked asynchronously (a schedule): maximum_retry_attempts (0 or 1) Lambda makes after a
    failed invocation, maximum_event_age_in_seconds (60-21600) an event may wait, queued or between retries,
    before it is given up. The record of an invocation that still failed goes to a queue created here
    (<function_name>-failures, 14 days), which the role may send to. Null: Lambda's defaults (2 retries, 6 hours,
    failures dropped) and no queue.
  EOT
  type = object({
    maximum_retry_attempts       = number
    maximum_event_age_in_seconds = number
  })
  default = null

  validation {
    condition = var.async_invocation == null || try(
      contains([0, 1], var.async_invocation.maximum_retry_attempts) &&
      var.async_invocation.maximum_event_age_in_seconds >= 60 && var.async_invocation.maximum_event_age_in_seconds <= 21600,
      false
    )
    error_message = "async_invocation: maximum_retry_attempts must be 0 or 1 (a retry of a run that holds its lease fails on it), maximum_event_age_in_seconds 60-21600."
  }
}

variable "sqs_event_source" {
  description = <<-EOT
    SQS queue the function consumes through an event source mapping (always with ReportBatchItemFailures):
    queue_arn, batch_size (1-10000; above 10 needs a batching window), maximum_batching_window_in_seconds
    (0-300; add it to the queue's visibility timeout), maximum_concurrency (2-1000, null for Lambda's default).
    Null for no mapping.
  EOT
  type = object({
    queue_arn                          = string
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number)
  })
  default = null

  validation {
    condition = var.sqs_event_source == null || try(
      var.sqs_event_source.batch_size >= 1 && var.sqs_event_source.batch_size <= 10000 &&
      var.sqs_event_source.maximum_batching_window_in_seconds >= 0 && var.sqs_event_source.maximum_batching_window_in_seconds <= 300 &&
      (var.sqs_event_source.maximum_concurrency == null ? true : var.sqs_event_source.maximum_concurrency >= 2 && var.sqs_event_source.maximum_concurrency <= 1000),
      false
    )
    error_message = "sqs_event_source: batch_size must be 1-10000, maximum_batching_window_in_seconds 0-300, maximum_concurrency null or 2-1000."
  }
}

variable "tags" {
  description = "Tags for the function, its role and its log group (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "vpc_config" {
  description = "Private subnets and security groups to run the function in (it then reaches AWS through VPC endpoints and the internet through the subnets' NAT); null for Lambda's own network."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}
