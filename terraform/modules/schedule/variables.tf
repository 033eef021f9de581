variable "name" {
  description = "Name of the schedule; also names its role (`<name>-<region>-scheduler`: IAM names are per account) and dead-letter queue (`<name>-dlq`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,39}$", var.name))
    error_message = "name must be 1-39 letters, digits, dots, hyphens or underscores (the role name adds -<region>-scheduler, at most 64 in all)."
  }
}

variable "description" {
  description = "Description of the schedule."
  type        = string
  default     = "Runs the function daily."
}

variable "function_name" {
  description = "Name of the function the schedule invokes (used in descriptions)."
  type        = string
}

variable "function_arn" {
  description = "ARN of the function the schedule invokes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.function_arn))
    error_message = "function_arn must be an unqualified Lambda function ARN."
  }
}

variable "schedule_expression" {
  description = "When to run: a cron() or rate() expression (default: every day at 06:00 in the time zone below)."
  type        = string
  default     = "cron(0 6 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_expression_timezone" {
  description = "IANA time zone of the schedule expression, e.g. UTC or America/New_York."
  type        = string
  default     = "UTC"
}

variable "flexible_window_minutes" {
  description = "Flexible time window in minutes (0 = run at the exact time)."
  type        = number
  default     = 0

  validation {
    condition     = var.flexible_window_minutes >= 0 && var.flexible_window_minutes <= 1440
    error_message = "flexible_window_minutes must be 0-1440."
  }
}

variable "input" {
  description = "JSON passed to the function as its event."
  type        = string
  default     = "{\"source\": \"dataquest.schedule\"}"

  validation {
    condition     = can(jsondecode(var.input))
    error_message = "input must be valid JSON."
  }
}

variable "maximum_retry_attempts" {
  description = "Times the scheduler retries an invocation that failed to be delivered."
  type        = number
  default     = 3

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be 0-185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long the scheduler keeps retrying an undelivered invocation before dead-lettering it."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400
    error_message = "maximum_event_age_in_seconds must be 60-86400."
  }
}

variable "enabled" {
  description = "Whether the schedule runs."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the role and the dead-letter queue (Scheduler schedules take no tags)."
  type        = map(string)
  default     = {}
}
