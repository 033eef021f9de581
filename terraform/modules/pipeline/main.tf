# The whole pipeline of one environment: the schedule runs the ingest function daily; it mirrors BLS and fetches
# population into the bucket; ObjectCreated on the two report inputs goes to the queue; the queue feeds the report
# function; alarms watch all of it. envs/dev and envs/prod each call this module once with their own values.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  name = "dataquest-${var.environment}"

  # The S3 layout (prefixes, the report's inputs, the survey-name rule): one file, read by the Python package too.
  layout   = jsondecode(file("${path.module}/../../../src/dataquest/layout.json"))
  prefixes = local.layout.prefixes

  # The report's inputs: a new version of either one triggers a report (the same keys in every environment).
  report_trigger_keys = [
    local.layout.report_inputs.population,
    local.layout.report_inputs.bls_data,
  ]

  bucket_name = coalesce(var.bucket_name, "${local.name}-${data.aws_caller_identity.current.account_id}-${data.aws_region.current.name}")

  function_environment = {
    DQ_BUCKET         = module.bucket.bucket_name
    DQ_CONTACT        = var.contact_email
    DQ_BLS_SURVEYS    = join(",", var.bls_surveys)
    DQ_POPULATION_URL = var.population_url
  }
}

module "bucket" {
  source = "../bucket"

  bucket_name                        = local.bucket_name
  kms_key_arn                        = var.bucket_kms_key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.bucket_force_destroy
}

module "queue" {
  source = "../queue"

  name                             = "${local.name}-report"
  bucket_name                      = module.bucket.bucket_name
  bucket_arn                       = module.bucket.bucket_arn
  notification_keys                = local.report_trigger_keys
  consumer_timeout_seconds         = var.report_timeout
  consumer_batching_window_seconds = var.report_batching_window_seconds
}

module "ingest" {
  source = "../lambda_image"

  function_name                  = "${local.name}-ingest"
  description                    = "Mirrors BLS time.series surveys and DataUSA population into ${local.bucket_name}."
  image_uri                      = var.ingest_image_uri
  command                        = ["dataquest.handlers.ingest.handler"]
  architecture                   = var.architecture
  memory_size                    = var.ingest_memory_size
  timeout                        = var.ingest_timeout
  reserved_concurrent_executions = var.ingest_reserved_concurrency
  log_retention_days             = var.log_retention_days
  environment_variables          = local.function_environment
  kms_key_arns                   = compact([var.bucket_kms_key_arn])

  # The schedule invokes asynchronously: at most one retry, and failed runs kept in a queue the alarms watch.
  async_invocation = {
    maximum_retry_attempts       = var.ingest_retry_attempts
    maximum_event_age_in_seconds = var.ingest_maximum_event_age_seconds
  }

  s3_access = {
    bucket_arn     = module.bucket.bucket_arn
    read_prefixes  = [local.prefixes.bls, local.prefixes.population, local.prefixes.locks]
    write_prefixes = [local.prefixes.bls, local.prefixes.population, local.prefixes.logs, local.prefixes.locks]
    list_bucket    = true
    # The sync aborts the multipart uploads a killed run left before it starts its own.
    list_multipart_uploads = true
  }
}

module "report" {
  source = "../lambda_image"

  function_name                  = "${local.name}-report"
  description                    = "Computes the report from the mirrored BLS data and population in ${local.bucket_name}."
  image_uri                      = var.report_image_uri
  command                        = ["dataquest.handlers.report.handler"]
  architecture                   = var.architecture
  memory_size                    = var.report_memory_size
  timeout                        = var.report_timeout
  reserved_concurrent_executions = var.report_reserved_concurrency
  log_retention_days             = var.log_retention_days
  environment_variables          = local.function_environment
  kms_key_arns                   = compact([var.bucket_kms_key_arn])

  s3_access = {
    bucket_arn     = module.bucket.bucket_arn
    read_prefixes  = [local.prefixes.bls, local.prefixes.population, local.prefixes.reports]
    write_prefixes = [local.prefixes.reports]
    list_bucket    = true
  }

  sqs_event_source = {
    queue_arn                          = module.queue.queue_arn
    batch_size                         = 10
    maximum_batching_window_in_seconds = var.report_batching_window_seconds
    maximum_concurrency                = 2
  }
}

module "schedule" {
  source = "../schedule"

  name                         = "${local.name}-ingest-daily"
  description                  = "Runs ${module.ingest.function_name} every day."
  function_name                = module.ingest.function_name
  function_arn                 = module.ingest.function_arn
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
}

module "alarms" {
  source = "../alarms"

  name        = "${local.name}-alarms"
  alarm_email = var.alarm_email

  dead_letter_queues = {
    report-queue    = module.queue.dead_letter_queue_name
    ingest-trigger  = module.schedule.dead_letter_queue_name
    ingest-failures = module.ingest.on_failure_queue_name
  }

  functions = {
    ingest = module.ingest.function_name
    report = module.report.function_name
  }
  daily_function_key = "ingest"
}
