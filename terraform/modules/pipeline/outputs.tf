output "bucket_name" {
  description = "Name of the data bucket (DQ_BUCKET)."
  value       = module.bucket.bucket_name
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = module.bucket.bucket_arn
}

output "report_queue_url" {
  description = "URL of the report queue."
  value       = module.report_queue.queue_url
}

output "report_dead_letter_queue_url" {
  description = "URL of the report queue's dead-letter queue."
  value       = module.report_queue.dead_letter_queue_url
}

output "transfer_queue_url" {
  description = "URL of the transfer queue (DQ_TRANSFER_QUEUE_URL): the planner's messages, one per file or batch of small files."
  value       = module.transfer_queue.queue_url
}

output "transfer_dead_letter_queue_url" {
  description = "URL of the transfer queue's dead-letter queue."
  value       = module.transfer_queue.dead_letter_queue_url
}

output "ingest_function_name" {
  description = "Name of the ingest function (invoke it by hand: aws lambda invoke --function-name ...)."
  value       = module.ingest.function_name
}

output "transfer_function_name" {
  description = "Name of the transfer function (the ingest image, CMD dataquest.handlers.transfer.handler)."
  value       = module.transfer.function_name
}

output "report_function_name" {
  description = "Name of the report function."
  value       = module.report.function_name
}

output "schedule_name" {
  description = "Name of the daily schedule."
  value       = module.schedule.schedule_name
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = module.alarms.topic_arn
}

output "dashboard_name" {
  description = "Name of the environment's CloudWatch dashboard."
  value       = module.dashboard.dashboard_name
}

output "ingest_image_uri" {
  description = "The ingest image this environment runs, by digest: what a pull request's plan keeps (it plans infrastructure, not a new image)."
  value       = var.ingest_image_uri
}

output "report_image_uri" {
  description = "The report image this environment runs, by digest: what a pull request's plan keeps (it plans infrastructure, not a new image)."
  value       = var.report_image_uri
}

output "vpc_config" {
  description = "The functions' subnets and security group when private_network is set (null otherwise): for another function beside the pipeline's (the lake's) to run in the same network."
  value       = local.vpc_config
}
