output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "function_image_uri" {
  description = "Image the function runs (by digest)."
  value       = aws_lambda_function.this.image_uri
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping, or null without one."
  value       = one(aws_lambda_event_source_mapping.this[*].uuid)
}

output "on_failure_queue_name" {
  description = "Name of the queue that receives failed asynchronous invocations, or null without async_invocation."
  value       = one(aws_sqs_queue.on_failure[*].name)
}

output "on_failure_queue_arn" {
  description = "ARN of the queue that receives failed asynchronous invocations, or null without async_invocation."
  value       = one(aws_sqs_queue.on_failure[*].arn)
}

output "function_command" {
  description = "The image CMD override (the handler), or [] where the image's own CMD runs."
  value       = var.command
}

output "function_environment_variables" {
  description = "Environment variables of the function (settings only: no secrets go there)."
  value       = var.environment_variables
}

output "event_source_batch_size" {
  description = "Batch size of the SQS event source mapping, or null without one."
  value       = one(aws_lambda_event_source_mapping.this[*].batch_size)
}

output "event_source_maximum_concurrency" {
  description = "Most concurrent invocations the SQS event source mapping makes, or null (none set, or no mapping)."
  value       = try(aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency, null)
}

output "function_subnet_ids" {
  description = "Subnets the function runs in (vpc_config); empty in Lambda's own network."
  value       = toset(flatten([for v in aws_lambda_function.this.vpc_config : v.subnet_ids]))
}
