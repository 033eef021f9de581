variable "bucket_name" {
  description = "Name of the bucket (globally unique; 3-63 lowercase letters, digits, dots and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key (a key ARN, not an alias: IAM grants on an alias ARN authorise nothing) for SSE-KMS default encryption, with an S3 bucket key. Null means SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null, not an alias: resolve an alias with data \"aws_kms_alias\" (target_key_arn)."
  }
}

variable "enforce_tls" {
  description = "Attach a bucket policy denying every request made without TLS. Turn off only for emulators that speak plain HTTP."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a noncurrent object version is deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an incomplete multipart upload is aborted and its parts deleted."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of days, at least 1."
  }
}

variable "prefix_expirations" {
  description = "Key prefixes (ending with /) whose objects expire sooner than the bucket's rule: expiration_days (current objects; null keeps them) and noncurrent_days (replaced or deleted versions)."
  type = map(object({
    expiration_days = optional(number)
    noncurrent_days = number
  }))
  default = {}

  validation {
    condition = alltrue([
      for prefix, rule in var.prefix_expirations :
      endswith(prefix, "/") && rule.noncurrent_days >= 1 && (rule.expiration_days == null ? true : rule.expiration_days >= 1)
    ])
    error_message = "prefix_expirations: every prefix ends with '/', and its days are at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every object version in it. Keep false for real data."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
