# dev and prod: one root, one call of modules/pipeline. What tells them apart is in their variable files
# (dev.tfvars, prod.tfvars: the environment's name, its schedule, whether alarms must reach someone) and their state
# (dev.local.tfbackend / prod.local.tfbackend, or <env>.s3.tfbackend: ../../README.md). The sizes, timeouts and
# retention below are literals shared by both: what is tested in dev is what runs in prod. `make tf-plan ENV=prod`
# picks prod's files and its own TF_DATA_DIR, so one environment's state or plan never meets the other's.

module "pipeline" {
  source = "../../modules/pipeline"

  environment          = var.environment
  schedule_expression  = var.schedule_expression
  alarm_email_required = var.alarm_email_required

  ingest_image_uri = var.ingest_image_uri
  report_image_uri = var.report_image_uri
  contact_email    = var.contact_email
  alarm_email      = var.alarm_email
  bls_surveys      = var.bls_surveys

  bucket_name          = var.bucket_name
  bucket_kms_key_arn   = var.bucket_kms_key_arn
  bucket_force_destroy = var.bucket_force_destroy
  private_network      = var.private_network

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
