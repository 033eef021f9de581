# The prod environment: the whole pipeline (modules/pipeline). dev and prod run the same sizes, retention and
# schedule (the literals below, equal in both, so that what is tested in dev is what runs in prod); they differ in
# their state and in what comes in through variables.tf (images, addresses, bucket).

locals {
  environment = "prod"
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
  transfer_memory_size               = 1024
  transfer_timeout                   = 900
  transfer_streams                   = 2
  request_interval                   = 1
  report_memory_size                 = 2048
  report_timeout                     = 300
  log_retention_days                 = 365
  noncurrent_version_expiration_days = 90
}
