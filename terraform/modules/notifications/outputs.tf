output "queue_ids" {
  description = "Ids of the notification entries written, in order."
  value       = [for q in aws_s3_bucket_notification.this.queue : q.id]
}
