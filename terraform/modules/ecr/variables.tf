variable "name" {
  description = "Name of the repository, e.g. dataquest/ingest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) <= 256
    error_message = "name must be a valid ECR repository name: lowercase path components separated by '/'."
  }
}

variable "image_tag_mutability" {
  description = "IMMUTABLE (a tag, once pushed, always names the same image) or MUTABLE. Provider 5.x has no exclusion filters."
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be IMMUTABLE or MUTABLE."
  }
}

variable "scan_on_push" {
  description = "Scan every pushed image for vulnerabilities."
  type        = bool
  default     = true
}

variable "untagged_images_to_keep" {
  description = "Untagged images kept (newest first); older untagged images expire. Tagged images never expire."
  type        = number
  default     = 10

  validation {
    condition     = var.untagged_images_to_keep >= 1 && floor(var.untagged_images_to_keep) == var.untagged_images_to_keep
    error_message = "untagged_images_to_keep must be a whole number, at least 1."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository with its images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the repository (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
