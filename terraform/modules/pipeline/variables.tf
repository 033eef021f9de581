variable "environment" {
  description = "Name of the environment (dev, prod...): names every resource dataquest-<environment>-..."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or hyphens, starting with a letter (it goes into bucket, function and role names)."
  }
}

variable "contact_email" {
  description = "Contact address the ingest function puts in its User-Agent (BLS refuses anonymous clients): DQ_CONTACT."
  type        = string

  validation {
    # The package's rule (config._EMAIL_RE, DQ_CONTACT): no '<' or '>', which would break the User-Agent's
    # (+address) form. tests/unit/test_terraform_rules.py holds the two equal.
    condition     = can(regex("^[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+$", var.contact_email))
    error_message = "contact_email must be an e-mail address with no '<' or '>' (the package refuses those too)."
  }
}

variable "ingest_image_uri" {
  description = "Ingest image by digest: <account>.dkr.ecr.<region>.amazonaws.com/dataquest/ingest@sha256:<digest>. Promotion changes this value, not the image."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.ingest_image_uri))
    error_message = "ingest_image_uri must reference the image by digest (<repository uri>@sha256:<64 hex digits>), never by a tag."
  }
}

variable "report_image_uri" {
  description = "Report image by digest: <account>.dkr.ecr.<region>.amazonaws.com/dataquest/report@sha256:<digest>."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.report_image_uri))
    error_message = "report_image_uri must reference the image by digest (<repository uri>@sha256:<64 hex digits>), never by a tag."
  }
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the mail AWS sends); null for no subscription, which alarm_email_required refuses."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email != null || !var.alarm_email_required
    error_message = "alarm_email is required in this environment (alarm_email_required = true): without it the alarms reach nobody. Set alarm_email in <env>.local.tfvars or TF_VAR_alarm_email."
  }
}

variable "alarm_email_required" {
  description = "Refuse a null alarm_email (prod: its alarms must reach someone)."
  type        = bool
  default     = false
  nullable    = false
}

variable "bucket_name" {
  description = "Name of the data bucket; null for dataquest-<env>-<account>-<region>."
  type        = string
  default     = null
}

variable "bucket_kms_key_arn" {
  description = "KMS key for SSE-KMS on the bucket, by key ARN (the functions get decrypt and data-key grants on it; a grant on an alias ARN would authorise nothing); null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.bucket_kms_key_arn))
    error_message = "bucket_kms_key_arn must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias: resolve an alias with data \"aws_kms_alias\" and pass its target_key_arn."
  }
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the bucket with all its objects. Keep false where the data matters; null means false."
  type        = bool
  default     = false
  nullable    = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept."
  type        = number
  default     = 90
}

variable "bls_surveys" {
  description = "BLS time.series survey folders to mirror (DQ_BLS_SURVEYS), or [\"all\"]: every survey folder of the root listing; null means [\"pr\"]."
  type        = list(string)
  default     = ["pr"]
  nullable    = false

  validation {
    # The rule the Python package applies to DQ_BLS_SURVEYS (src/dataquest/layout.json); a local here needs 1.9.
    # "all" passes the name rule too, so it is allowed alone only.
    condition = join(",", var.bls_surveys) == "all" || (
      length(var.bls_surveys) > 0 && !contains(var.bls_surveys, "all") &&
      alltrue([for s in var.bls_surveys : can(regex(local.layout.survey_name_regex, s))])
    )
    error_message = "bls_surveys must be [\"all\"] alone, or list at least one survey folder name (1 to 32 lowercase letters and digits)."
  }
}

variable "bls_base_url" {
  description = "Root of the BLS survey folders (DQ_BLS_BASE_URL), for the planner and the transfers alike."
  type        = string
  default     = "https://download.bls.gov/pub/time.series/"
  nullable    = false

  validation {
    condition     = startswith(var.bls_base_url, "https://") && endswith(var.bls_base_url, "/")
    error_message = "bls_base_url must be an https:// URL ending with '/'."
  }
}

variable "request_interval" {
  description = "Seconds between two requests started to BLS by the whole deployment (DQ_REQUEST_INTERVAL): the planner paces itself at this, each transfer container at this times transfer_streams. BLS blocks clients that send several requests a second."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.request_interval > 0 && var.request_interval <= 60
    error_message = "request_interval must be more than 0 and at most 60 seconds."
  }
}

variable "transfer_streams" {
  description = "Transfers streaming at once (DQ_TRANSFER_STREAMS): the transfer queue's event source maximum_concurrency."
  type        = number
  default     = 2
  nullable    = false

  validation {
    # At least 2: the least maximum_concurrency AWS accepts. At most 16: the package's own limit
    # (config.MAX_TRANSFER_STREAMS; above it every invocation fails at start-up). tests/unit/test_terraform_rules.py
    # holds the bound equal to the package's.
    condition     = var.transfer_streams >= 2 && var.transfer_streams <= 16 && floor(var.transfer_streams) == var.transfer_streams
    error_message = "transfer_streams must be a whole number, 2-16 (AWS's least maximum_concurrency is 2; the package refuses more than 16 streams)."
  }
}

variable "freshness_hours" {
  description = "Hours after a BLS release by which the surveys it updates must have changed in the mirror (DQ_FRESHNESS_HOURS); past them, at the next run, the survey counts in the StaleSurveys metric and its alarm fires. Also how long the report may lag an input that changed."
  type        = number
  default     = 24
  nullable    = false

  validation {
    # The package's rule (config.FRESHNESS_HOURS: default 24, 1..168); tests/repo/test_terraform_rules.py holds
    # the two equal.
    condition     = var.freshness_hours >= 1 && var.freshness_hours <= 168 && floor(var.freshness_hours) == var.freshness_hours
    error_message = "freshness_hours must be a whole number of hours, 1-168 (the package refuses anything else)."
  }
}

variable "bls_calendar_url" {
  description = "BLS's release calendar (iCalendar), mirrored to calendar/ by the ingest function and checked against the mirror (DQ_BLS_CALENDAR_URL)."
  type        = string
  default     = "https://www.bls.gov/schedule/news_release/bls.ics"
  nullable    = false

  validation {
    condition     = can(regex("^https?://[^/\\s]+", var.bls_calendar_url))
    error_message = "bls_calendar_url must be an http(s) URL."
  }
}

variable "transfer_memory_size" {
  description = "Memory of the transfer function in MB."
  type        = number
  default     = 1024
}

variable "transfer_timeout" {
  description = "Timeout of the transfer function in seconds (a transfer nearing it re-enqueues its continuation); the transfer queue's visibility timeout is six times this."
  type        = number
  default     = 900
}

variable "transfer_max_receive_count" {
  description = "Receives of one transfer message before it moves to the transfer dead-letter queue. A continuation is a new message, so only failures count (an error, a timeout that missed its margin, a throttle); 5 is AWS's advice for queues feeding Lambda, and each retry comes a visibility timeout (6 x transfer_timeout) later."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.transfer_max_receive_count >= 1 && var.transfer_max_receive_count <= 1000
    error_message = "transfer_max_receive_count must be 1-1000."
  }
}

variable "population_url" {
  description = "DataUSA population API URL (DQ_POPULATION_URL)."
  type        = string
  default     = "https://honolulu-api.datausa.io/tesseract/data.jsonrecords?cube=acs_yg_total_population_1&drilldowns=Year%2CNation&locale=en&measures=Population"

  validation {
    condition     = startswith(var.population_url, "https://")
    error_message = "population_url must be an https:// URL."
  }
}

variable "schedule_expression" {
  description = "When the ingest function runs (EventBridge Scheduler cron() or rate())."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "schedule_timezone" {
  description = "IANA time zone of schedule_expression."
  type        = string
  default     = "UTC"
}

variable "architecture" {
  description = "Instruction set both images were built for (x86_64 or arm64)."
  type        = string
  default     = "x86_64"
}

variable "ingest_memory_size" {
  description = "Memory of the ingest function in MB."
  type        = number
  default     = 1024
}

variable "ingest_timeout" {
  description = "Timeout of the ingest function in seconds."
  type        = number
  default     = 900
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingest function; null reserves none (runs are also serialised by a lease in S3)."
  type        = number
  default     = null
}

variable "report_memory_size" {
  description = "Memory of the report function in MB (polars)."
  type        = number
  default     = 2048
}

variable "report_timeout" {
  description = "Timeout of the report function in seconds; the queue's visibility timeout is six times this."
  type        = number
  default     = 300
}

variable "report_reserved_concurrency" {
  description = "Reserved concurrency of the report function; null reserves none. At least the report queue mapping's maximum concurrency (2): below it, throttled notifications go to the dead-letter queue."
  type        = number
  default     = null

  validation {
    condition     = var.report_reserved_concurrency == null || try(var.report_reserved_concurrency >= local.report_maximum_concurrency, false)
    error_message = "report_reserved_concurrency must be null or at least the report queue mapping's maximum concurrency (2): below it, throttled notifications go to the dead-letter queue (AWS's SQS scaling advice)."
  }
}

variable "report_batching_window_seconds" {
  description = "Seconds the queue mapping waits to batch notifications for the report function."
  type        = number
  default     = 0
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs."
  type        = number
  default     = 365
}

variable "ingest_retry_attempts" {
  description = "Times Lambda retries a failed scheduled run (0 or 1), a minute or more after it failed. A run killed by its timeout leaves its lease behind until the lease expires (DQ_LEASE_TTL), so a retry makes progress only when the lease is shorter than that minute; the next day's run retries anyway."
  type        = number
  default     = 1

  validation {
    condition     = contains([0, 1], var.ingest_retry_attempts)
    error_message = "ingest_retry_attempts must be 0 or 1."
  }
}

variable "ingest_maximum_event_age_seconds" {
  description = "How long a scheduled run may wait (queued, throttled or between retries) before Lambda gives it up and records it in the failure queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.ingest_maximum_event_age_seconds >= 60 && var.ingest_maximum_event_age_seconds <= 21600
    error_message = "ingest_maximum_event_age_seconds must be 60-21600."
  }
}

variable "report_queue_max_age_seconds" {
  description = "Age of the report queue's oldest message past which its backlog alarm fires (a report takes minutes; a failed one is retried after the visibility timeout, 6 x report_timeout)."
  type        = number
  default     = 3600
  nullable    = false
}

variable "transfer_queue_max_age_seconds" {
  description = "Age of the transfer queue's oldest message past which its backlog alarm fires: a day's plan is transferred transfer_streams files at a time, so a big first mirror takes hours."
  type        = number
  default     = 21600
  nullable    = false
}

variable "lake_queue_max_age_seconds" {
  description = "Age of the lake queue's oldest message past which its backlog alarm fires (with `lake` only): an update takes minutes; a failed one is retried after the visibility timeout, 6 x the lake's timeout (5400 s for 900)."
  type        = number
  default     = 7200
  nullable    = false
}

variable "lake" {
  description = "The lake beside the pipeline (modules/lake's `monitoring_targets` output), put on the alarms and the dashboard: its function's name and timeout, its queue's and dead-letter queue's names. Null (the default) when the lake is not deployed."
  type = object({
    function_name          = string
    timeout_seconds        = number
    queue_name             = string
    dead_letter_queue_name = string
  })
  default = null
}

variable "run_logs_expiration_days" {
  description = "Days the runs' trail (one object per event under _logs/, read by `dataquest status`) is kept."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.run_logs_expiration_days >= 1 && floor(var.run_logs_expiration_days) == var.run_logs_expiration_days
    error_message = "run_logs_expiration_days must be a whole number of days, at least 1."
  }
}

variable "private_network" {
  description = "Run the functions in private subnets (off when null): vpc_id, subnet_ids (with a NAT route to the internet, for BLS and DataUSA) and their route_table_ids. Adds the S3 gateway endpoint and an interface endpoint per service in interface_services (default sqs; the lake adds glue): ~7.3 USD a month each per subnet's zone, plus the NAT's own cost."
  type = object({
    vpc_id             = string
    subnet_ids         = list(string)
    route_table_ids    = list(string)
    interface_services = optional(list(string), ["sqs"])
  })
  default = null
}
