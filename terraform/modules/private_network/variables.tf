variable "name" {
  description = "Prefix of the security groups' and endpoints' names (dataquest-<environment>)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the private subnets."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the functions and the interface endpoints (two or more, in different zones); their route tables must send 0.0.0.0/0 to a NAT."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must list at least one subnet id (subnet-...)."
  }
}

variable "route_table_ids" {
  description = "Route tables of those subnets: the S3 gateway endpoint's routes go there."
  type        = list(string)

  validation {
    condition     = length(var.route_table_ids) >= 1 && alltrue([for r in var.route_table_ids : can(regex("^rtb-[0-9a-f]+$", r))])
    error_message = "route_table_ids must list at least one route table id (rtb-...)."
  }
}

variable "interface_services" {
  description = "AWS services the functions call besides S3, each an interface endpoint (sqs; envs/aws adds glue for the lake function's catalog)."
  type        = list(string)
  default     = ["sqs"]
}

variable "tags" {
  description = "Tags for the security groups and endpoints (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
