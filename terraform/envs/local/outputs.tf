output "bucket_name" {
  description = "Name of the data bucket (DQ_BUCKET)."
  value       = module.bucket.bucket_name
}

output "report_queue_url" {
  description = "URL of the report queue."
  value       = module.report_queue.queue_url
}

output "report_queue_arn" {
  description = "ARN of the report queue."
  value       = module.report_queue.queue_arn
}

output "report_dead_letter_queue_url" {
  description = "URL of the report queue's dead-letter queue."
  value       = module.report_queue.dead_letter_queue_url
}

output "transfer_queue_url" {
  description = "URL of the transfer queue (DQ_TRANSFER_QUEUE_URL)."
  value       = module.transfer_queue.queue_url
}

output "lake_queue_url" {
  description = "URL of the lake queue: the bucket's changes under bls/ (and the population), by the EventBridge rule."
  value       = module.lake_queue.queue_url
}
