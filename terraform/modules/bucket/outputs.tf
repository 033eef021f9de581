output "bucket_name" {
  description = "Name (id) of the bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "configured_bucket_name" {
  description = "Name of the bucket, known once every setting is written (policy last): what writes the bucket's notification configuration takes, so that it comes after them (S3 answers 409 OperationAborted to concurrent configuration writes on one bucket)."
  value       = aws_s3_bucket.this.id

  depends_on = [
    aws_s3_bucket_lifecycle_configuration.this,
    aws_s3_bucket_policy.this,
  ]
}
