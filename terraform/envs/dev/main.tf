# The dev environment: the whole pipeline (modules/pipeline) with this environment's sizes, retention and schedule.
# What changes from one deployment to the next (images, addresses, bucket) comes in through variables.tf.

locals {
  environment = "dev"
}

module "pipeline" {
  source = "../../modules/pipeline"

  environment = local.environment

  ingest_image_uri = var.ingest_image_uri
  report_image_uri = var.report_image_uri
  contact_email    = var.contact_email
  alarm_email      = var.alarm_email
  bls_surveys      = var.bls_surveys

  bucket_name          = var.bucket_name
  bucket_kms_key_arn   = var.bucket_kms_key_arn
  bucket_force_destroy = var.bucket_force_destroy

  schedule_expression                = "cron(0 6 * * ? *)"
  schedule_timezone                  = "UTC"
  ingest_memory_size                 = 1024
  ingest_timeout                     = 900
  report_memory_size                 = 2048
  report_timeout                     = 300
  log_retention_days                 = 365
  noncurrent_version_expiration_days = 90
}
