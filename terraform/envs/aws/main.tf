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

  # The lake's function and queues on the environment's alarms and dashboard (null without the lake).
  lake = module.lake.monitoring_targets

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

# The lake (silver and gold Iceberg tables, Athena), beside the pipeline: its bucket, alarm topic and KMS key.
# The bucket sends its events to EventBridge (modules/pipeline's notifications), where the lake's rule takes what
# changes under bls/ (and the population) to the lake queue; the report queue keeps its exact-key notification.
# The function runs the report image (built with the lake extra) unless lake_image_uri names another, in the
# pipeline's network: private_network's subnets when set.
module "lake" {
  source = "../../modules/lake"

  name          = "dataquest-${var.environment}-lake"
  database_name = replace("dataquest_${var.environment}", "-", "_") # one Glue database per environment
  bucket_name   = module.pipeline.bucket_name
  bucket_arn    = module.pipeline.bucket_arn
  image_uri     = coalesce(var.lake_image_uri, var.report_image_uri)
  environment_variables = {
    DQ_BUCKET      = module.pipeline.bucket_name
    DQ_ENVIRONMENT = var.environment
  }
  kms_key_arns       = compact([var.bucket_kms_key_arn])
  vpc_config         = module.pipeline.vpc_config
  memory_size        = 2048
  timeout            = 900
  log_retention_days = 365
}
