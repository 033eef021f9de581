variable "name" {
  description = "Name of the lake's function, queue (its dead-letter queue: `<name>-dlq`), Athena workgroup and analyst policy (`<name>-<region>-analyst`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.name))
    error_message = "name must be 1-60 letters, digits, hyphens or underscores."
  }
}

variable "bucket_name" {
  description = "The data bucket: the mirror under bls/, the population, and the lake's tables under lake/."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the data bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[^/]+$", var.bucket_arn))
    error_message = "bucket_arn must be a bucket ARN (arn:aws:s3:::name)."
  }
}

variable "database_name" {
  description = "Glue database of the lake's Iceberg tables (the function's DQ_LAKE_DATABASE)."
  type        = string
  default     = "dataquest"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.database_name))
    error_message = "database_name must be lower-case letters, digits and underscores (Athena's rule)."
  }
}

variable "image_uri" {
  description = "Image of the function, by digest: the report image (polars) with the lake extra (pyiceberg)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64, as the image was built."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Memory of the function in MB: a survey is rebuilt in memory (the largest, 100x pr, peaks under 1 GiB)."
  type        = number
  default     = 2048
}

variable "timeout" {
  description = "Timeout of the function in seconds (the queue's visibility timeout is six times this)."
  type        = number
  default     = 900
}

variable "maximum_concurrency" {
  description = "Most concurrent lake invocations (2-1000): surveys update in parallel, commits retry on conflict."
  type        = number
  default     = 2
}

variable "environment_variables" {
  description = "Environment of the function (DQ_BUCKET and the rest of the pipeline's common environment); DQ_LAKE_DATABASE is added."
  type        = map(string)
  default     = {}
}

variable "kms_key_arns" {
  description = "Customer KMS keys of the bucket or queues, by key ARN (the function and the analyst may use them)."
  type        = list(string)
  default     = []
}

variable "results_prefix" {
  description = "Where Athena writes query results in the bucket (enforced by the workgroup, encrypted): a prefix of its own, not the mirror's nor the tables'."
  type        = string
  default     = "athena-results/"

  validation {
    condition     = can(regex("^[^*/][^*]*/$", var.results_prefix))
    error_message = "results_prefix must end with '/' and hold no '*'."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of the workgroup that scans more than this many bytes (at least 10 MB)."
  type        = number
  default     = 10737418240 # 10 GiB

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (Athena's minimum)."
  }
}

variable "vpc_config" {
  description = "Private subnets and security groups for the function (modules/pipeline's vpc_config output); null for Lambda's own network. The subnets need a Glue interface endpoint and the S3 gateway endpoint: the function calls nothing else."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for everything the module creates (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
