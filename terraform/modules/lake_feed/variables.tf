variable "name" {
  description = "Name of the EventBridge rule (the lake queue's name, by convention)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, dots, hyphens or underscores (EventBridge's rule names)."
  }
}

variable "bucket_name" {
  description = "The data bucket whose changes under bls/ (and the population) the rule hears; it must send its events to EventBridge."
  type        = string
}

variable "queue_arn" {
  description = "ARN of the lake queue: the rule's target, and the only resource the queue policy admits the rule to."
  type        = string
}

variable "queue_url" {
  description = "URL of the lake queue, where the policy is written: modules/queue's policy_queue_url, known once its redrive policy is written."
  type        = string
}

variable "tags" {
  description = "Tags for the rule (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
