variable "aws_region" {
  description = "Region of the repositories (the functions' region: Lambda pulls images from its own region)."
  type        = string
  default     = "us-east-1"
}

variable "repository_prefix" {
  description = "Repositories are named <prefix>/ingest and <prefix>/report."
  type        = string
  default     = "dataquest"
}

variable "image_tag_mutability" {
  description = "IMMUTABLE (default: a tag always names the same image) or MUTABLE."
  type        = string
  default     = "IMMUTABLE"
}

variable "untagged_images_to_keep" {
  description = "Untagged images kept per repository; tagged images never expire."
  type        = number
  default     = 10
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repositories with their images."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose Actions deploy (OIDC provider, plan and deploy roles); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "terraform_state_bucket" {
  description = "Bucket holding the environments' Terraform state (<env>.s3.tfbackend), which the deploy role reads and writes under dataquest/; null when state is elsewhere."
  type        = string
  default     = null
}
