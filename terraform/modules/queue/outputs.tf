output "queue_arn" {
  description = "ARN of the queue."
  value       = aws_sqs_queue.this.arn
}

output "notification_queue_arn" {
  description = "ARN of the queue, known once its policy admits the bucket: what a bucket notification targets (modules/notifications), so that S3's test message is not denied."
  value       = aws_sqs_queue.this.arn

  depends_on = [aws_sqs_queue_policy.this]
}

output "queue_url" {
  description = "URL of the queue."
  value       = aws_sqs_queue.this.id
}

output "policy_queue_url" {
  description = "URL of the queue, known once its redrive policy is written: where a caller's own queue policy goes (modules/lake_feed), so that the two writes never race."
  value       = aws_sqs_queue.this.id

  depends_on = [aws_sqs_queue_redrive_policy.this]
}

output "queue_name" {
  description = "Name of the queue."
  value       = aws_sqs_queue.this.name
}

output "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the queue (six times the consumer's timeout plus its batching window)."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "queue_max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue (the redrive policy's maxReceiveCount)."
  value       = jsondecode(aws_sqs_queue_redrive_policy.this.redrive_policy).maxReceiveCount
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.id
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.name
}
