output "bucket_name" {
  description = "Name of the data bucket (DQ_BUCKET)."
  value       = module.pipeline.bucket_name
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.pipeline.bucket_arn
}

output "report_queue_url" {
  description = "URL of the report queue."
  value       = module.pipeline.report_queue_url
}

output "report_dead_letter_queue_url" {
  description = "URL of the report queue's dead-letter queue."
  value       = module.pipeline.report_dead_letter_queue_url
}

output "transfer_queue_url" {
  description = "URL of the transfer queue (DQ_TRANSFER_QUEUE_URL): the planner's messages, one per file or batch of small files."
  value       = module.pipeline.transfer_queue_url
}

output "transfer_dead_letter_queue_url" {
  description = "URL of the transfer queue's dead-letter queue."
  value       = module.pipeline.transfer_dead_letter_queue_url
}

output "ingest_function_name" {
  description = "Name of the ingest function (invoke it by hand: aws lambda invoke --function-name ...)."
  value       = module.pipeline.ingest_function_name
}

output "transfer_function_name" {
  description = "Name of the transfer function (the ingest image, CMD dataquest.handlers.transfer.handler)."
  value       = module.pipeline.transfer_function_name
}

output "report_function_name" {
  description = "Name of the report function."
  value       = module.pipeline.report_function_name
}

output "schedule_name" {
  description = "Name of the daily schedule."
  value       = module.pipeline.schedule_name
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = module.pipeline.alarm_topic_arn
}

output "dashboard_name" {
  description = "Name of the environment's CloudWatch dashboard."
  value       = module.pipeline.dashboard_name
}

output "ingest_image_uri" {
  description = "The ingest image this environment runs, by digest: what a pull request's plan keeps (it plans infrastructure, not a new image)."
  value       = module.pipeline.ingest_image_uri
}

output "report_image_uri" {
  description = "The report image this environment runs, by digest: what a pull request's plan keeps (it plans infrastructure, not a new image)."
  value       = module.pipeline.report_image_uri
}

output "vpc_config" {
  description = "The functions' subnets and security group when private_network is set (null otherwise)."
  value       = module.pipeline.vpc_config
}

output "lake_queue_url" {
  description = "URL of the lake queue (the bucket's changes under bls/, by the EventBridge rule)."
  value       = module.lake.queue_url
}

output "lake_function_name" {
  description = "Name of the lake function."
  value       = module.lake.function_name
}

output "lake_workgroup_name" {
  description = "Athena workgroup of the lake (enforced, encrypted results, scan cutoff)."
  value       = module.lake.workgroup_name
}

output "lake_analyst_policy_arn" {
  description = "ARN of the read-only analyst policy of the lake: attach it to the analysts' role or group."
  value       = module.lake.analyst_policy_arn
}

output "lake_image_uri" {
  description = "The image the lake function runs, by digest (the report image unless lake_image_uri is set)."
  value       = coalesce(var.lake_image_uri, var.report_image_uri)
}
