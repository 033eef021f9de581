output "security_group_id" {
  description = "Security group of the functions (their vpc_config)."
  value       = aws_security_group.this.id
}

output "subnet_ids" {
  description = "Subnets of the functions (their vpc_config)."
  value       = var.subnet_ids
}

output "endpoint_service_names" {
  description = "Service names of the endpoints created (the S3 gateway and each interface endpoint)."
  value       = concat([aws_vpc_endpoint.s3.service_name], [for e in aws_vpc_endpoint.interface : e.service_name])
}
