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
