# What differs from one environment or deployment to the next: <env>.tfvars (committed) sets the first three, the
# deployment's own values come from <env>.local.tfvars (git-ignored), <env>.images.tfvars.json (make promote) or
# TF_VAR_<name>. The pipeline module validates every value (an image must be given by digest, an address must be
# one); these declarations only pass them on.

variable "environment" {
  description = "Name of the environment (dev, prod): names every resource dataquest-<environment>-... Set by <env>.tfvars."
  type        = string
}

variable "schedule_expression" {
  description = "When the environment's ingest runs (EventBridge Scheduler cron()); dev and prod start hours apart, so that their requests to BLS never add up. Set by <env>.tfvars."
  type        = string
}

variable "alarm_email_required" {
  description = "Refuse a plan without alarm_email (prod: its alarms must reach someone). Set by <env>.tfvars."
  type        = bool
  default     = false
}

variable "aws_region" {
  description = "Region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "ingest_image_uri" {
  description = "Ingest image by digest: <account>.dkr.ecr.<region>.amazonaws.com/dataquest/ingest@sha256:<digest>. Promotion changes this value, not the image."
  type        = string
}

variable "report_image_uri" {
  description = "Report image by digest: <account>.dkr.ecr.<region>.amazonaws.com/dataquest/report@sha256:<digest>."
  type        = string
}

variable "contact_email" {
  description = "Contact address the ingest function puts in its User-Agent (BLS refuses anonymous clients): DQ_CONTACT."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the mail AWS sends); null for no subscription."
  type        = string
  default     = null
}

variable "bls_surveys" {
  description = "BLS time.series survey folders to mirror (DQ_BLS_SURVEYS), or [\"all\"] for every survey folder of the root listing; null for the module's default, [\"pr\"]."
  type        = list(string)
  default     = null
}

variable "bucket_name" {
  description = "Name of the data bucket; null for dataquest-<env>-<account>-<region>."
  type        = string
  default     = null
}

variable "bucket_kms_key_arn" {
  description = "KMS key for SSE-KMS on the bucket (the functions get decrypt and data-key grants); null for SSE-S3."
  type        = string
  default     = null
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the bucket with all its objects; null for false. Keep false where the data matters."
  type        = bool
  default     = null
}

variable "private_network" {
  description = "Run the functions in these private subnets (vpc_id, subnet_ids with a NAT route, route_table_ids), with the S3 gateway and the SQS and Glue interface endpoints; null (the default) for Lambda's own network. Costs: ../../README.md, Private networking."
  # The interface endpoints: SQS (the queues) and Glue (the lake function's catalog); no function calls Athena.
  type = object({
    vpc_id             = string
    subnet_ids         = list(string)
    route_table_ids    = list(string)
    interface_services = optional(list(string), ["sqs", "glue"])
  })
  default = null
}

variable "lake_image_uri" {
  description = "Image of the lake function by digest; null runs the report image (built with the lake extra: images/report/Dockerfile) with the lake handler."
  type        = string
  default     = null

  validation {
    condition     = var.lake_image_uri == null || can(regex("^[^@\\s]+@sha256:[0-9a-f]{64}$", var.lake_image_uri))
    error_message = "lake_image_uri must reference the image by digest (<repository uri>@sha256:<64 hex digits>), never by a tag."
  }
}
