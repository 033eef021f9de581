variable "aws_endpoint_url" {
  description = "Endpoint of the emulator serving S3, SQS, EventBridge and STS (LocalStack or a moto server)."
  type        = string
  default     = "http://localhost:4566"

  validation {
    condition     = can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be an http(s)://host:port URL."
  }
}
