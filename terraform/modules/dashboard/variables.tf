variable "name" {
  description = "Name of the dashboard."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.name))
    error_message = "name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "environment" {
  description = "The environment whose DataQuest metrics to show (their Environment dimension: DQ_ENVIRONMENT)."
  type        = string
}

variable "functions" {
  description = "Every function: a short label (its Function dimension in the DataQuest metrics) => its name and timeout."
  type = map(object({
    name            = string
    timeout_seconds = number
  }))
}

variable "daily_function_key" {
  description = "Label in `functions` of the scheduled function (the runs)."
  type        = string
}

variable "freshness_hours" {
  description = "Hours a BLS release has to reach the mirror (DQ_FRESHNESS_HOURS): drawn on the freshness widget's title."
  type        = number
  default     = 24
}

variable "transfer_functions" {
  description = "Labels of the functions that move files (their FilesUploaded, BytesDownloaded and Errors metrics)."
  type        = list(string)
}

variable "report_function_name" {
  description = "Name of the report function (its log group's \"report written\" lines)."
  type        = string
}

variable "work_queues" {
  description = "Work queues to show: a short label => queue name (depth and age of the oldest message)."
  type        = map(string)
  default     = {}
}

variable "dead_letter_queues" {
  description = "Dead-letter queues to show: a short label => queue name (depth)."
  type        = map(string)
  default     = {}
}

variable "lake_function_name" {
  description = "Name of the lake function (modules/lake): a widget of its invocations, errors and throttles. Null (the default) when the lake is not deployed; its queue, timeout and memory go in `work_queues`, `dead_letter_queues` and `functions`."
  type        = string
  default     = null
}
