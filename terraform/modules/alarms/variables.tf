variable "name" {
  description = "Name of the SNS topic and prefix of every alarm name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "name must be 1-200 letters, digits, hyphens or underscores."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (AWS sends a confirmation mail first); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or null."
  }
}

variable "dead_letter_queues" {
  description = "Dead-letter queues to watch: a short label (used in the alarm name) => queue name."
  type        = map(string)
  default     = {}
}

variable "functions" {
  description = "Functions whose errors and throttles to watch: a short label (used in the alarm name) => function name."
  type        = map(string)
}

variable "application_errors" {
  description = "The application's own error counts to alarm on (any non-zero sum in five minutes): a short label (the alarm is <name>-<label>-failed-files) => namespace, metric name and the exact dimensions it is emitted with."
  type = map(object({
    namespace   = string
    metric_name = string
    dimensions  = map(string)
  }))
  default = {}
}

variable "work_queues" {
  description = "Work queues to alarm on when their oldest message is older than max_age_seconds (a backlog): a short label (the alarm is <name>-<label>-backlog) => queue name and age."
  type = map(object({
    queue_name      = string
    max_age_seconds = number
  }))
  default = {}

  validation {
    condition     = alltrue([for q in values(var.work_queues) : q.max_age_seconds >= 60])
    error_message = "work_queues: max_age_seconds must be at least 60 (SQS publishes the metric every minute at best)."
  }
}

variable "freshness" {
  description = "The freshness objective's metrics (the ingest run's StaleSurveys and StaleReport: dataquest.ops.freshness): their namespace, the exact dimensions they are emitted with, and the hours a release has (for the alarm's text). Null: no freshness alarms."
  type = object({
    namespace  = string
    dimensions = map(string)
    hours      = number
  })
  default = null
}

variable "daily_function_key" {
  description = "Label in `functions` of the function that must succeed at least once a day (the scheduled one)."
  type        = string

  validation {
    condition     = length(var.daily_function_key) > 0
    error_message = "daily_function_key must name a label of var.functions."
  }
}

variable "no_success_hours" {
  description = "Hours without a successful run of the daily function before its alarm fires: a day and the longest run (a run's metrics are stamped at its start but published at its end), with a margin. 26 for a daily schedule."
  type        = number
  default     = 26

  validation {
    # CloudWatch: evaluation_periods x period at most 7 days.
    condition     = var.no_success_hours >= 25 && var.no_success_hours <= 168 && floor(var.no_success_hours) == var.no_success_hours
    error_message = "no_success_hours must be a whole number of hours, 25-168 (more than a day: the schedule is daily)."
  }
}

variable "kms_master_key_id" {
  description = "Customer KMS key for the topic (its policy must let cloudwatch.amazonaws.com use it); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the topic and the alarms (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
