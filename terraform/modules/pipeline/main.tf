# The whole pipeline of one environment: the schedule runs the ingest function (the planner) daily; it reads every
# BLS listing, deletes what the source removed, sends one message per file (or per batch of small files) to the
# transfer queue, and fetches population into the bucket; the transfer queue feeds the transfer function (the ingest
# image with another CMD, at most transfer_streams at once), which mirrors the files into the bucket; ObjectCreated
# on the two report inputs goes to the report queue; that queue feeds the report function; alarms watch all of it.
# envs/dev and envs/prod each call this module once with their own values.

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

  # The transfers' trail (config.INGEST_LOG_PREFIX): one object per transfer outcome, under the run's folder.
  ingest_log_prefix = "${local.prefixes.logs}ingest/"

  # The report mapping invokes at most this many at once (at least the function's reserved concurrency, if any).
  report_maximum_concurrency = 2

  # The lake (modules/lake), when deployed beside the pipeline: watched like the report function and its queue.
  lake = var.lake == null ? {} : { lake = var.lake }

  # Every function, when private_network is set: its subnets and security group.
  vpc_config = var.private_network == null ? null : {
    subnet_ids         = module.private_network["this"].subnet_ids
    security_group_ids = [module.private_network["this"].security_group_id]
  }

  # Every function: where the data is, and who BLS may write to.
  # DQ_ENVIRONMENT: a dimension of every DataQuest metric (two environments in one account, two series).
  common_environment = {
    DQ_BUCKET      = module.bucket.bucket_name
    DQ_CONTACT     = var.contact_email
    DQ_ENVIRONMENT = var.environment
  }

  function_environment = merge(local.common_environment, {
    DQ_BLS_SURVEYS    = join(",", var.bls_surveys)
    DQ_POPULATION_URL = var.population_url
  })

  # The planner's freshness check (dataquest.ops.freshness): the calendar it mirrors, the hours a release has.
  freshness_environment = {
    DQ_BLS_CALENDAR_URL = var.bls_calendar_url
    DQ_FRESHNESS_HOURS  = tostring(var.freshness_hours)
  }

  # What planner and transfers share: where the source is, the deployment-wide interval between request starts,
  # how many transfers stream at once (each transfer container paces itself at interval x streams), the queue.
  fanout_environment = {
    DQ_BLS_BASE_URL       = var.bls_base_url
    DQ_REQUEST_INTERVAL   = tostring(var.request_interval)
    DQ_TRANSFER_STREAMS   = tostring(var.transfer_streams)
    DQ_TRANSFER_QUEUE_URL = module.transfer_queue.queue_url
  }
}

module "bucket" {
  source = "../bucket"

  bucket_name                        = local.bucket_name
  kms_key_arn                        = var.bucket_kms_key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.bucket_force_destroy

  # The runs' trail is kept run_logs_expiration_days; the lease's heartbeat versions a day.
  prefix_expirations = {
    (local.prefixes.logs)  = { expiration_days = var.run_logs_expiration_days, noncurrent_days = 1 }
    (local.prefixes.locks) = { noncurrent_days = 1 }
  }
}

module "report_queue" {
  source = "../queue"

  name                             = "${local.name}-report"
  admit_bucket_notifications       = true
  bucket_arn                       = module.bucket.bucket_arn
  consumer_timeout_seconds         = var.report_timeout
  consumer_batching_window_seconds = var.report_batching_window_seconds
}

# The bucket's one notification configuration: every queue it feeds is an entry of this list. An exact key is
# matched by its prefix (the key) and suffix (its file name), so that `key.tmp` or `key/...` do not match. Every
# event also goes to EventBridge, where the lake's rule (modules/lake) takes bls/: an entry for it here would
# overlap the report's bls/pr/ key, which S3 refuses.
module "notifications" {
  source = "../notifications"

  bucket_name = module.bucket.configured_bucket_name
  eventbridge = true
  queues = [
    for key in local.report_trigger_keys : {
      id            = "object-created-${replace(key, "/[^A-Za-z0-9-]/", "-")}"
      queue_arn     = module.report_queue.notification_queue_arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = key
      filter_suffix = element(split("/", key), length(split("/", key)) - 1)
    }
  ]
}

# The report queue was `module "queue"`, and owned the bucket's notification: existing state moves, nothing is
# replaced.
moved {
  from = module.queue
  to   = module.report_queue
}

moved {
  from = module.report_queue.aws_s3_bucket_notification.this[0]
  to   = module.notifications.aws_s3_bucket_notification.this
}

# The planner's messages: one per file to transfer (or per batch of small files), and a transfer's continuation of a
# file bigger than one invocation. A continuation is a new message, so a message's receive count counts only
# failures (an error, a timeout that missed its margin, a throttle), never the invocations a big file takes:
# transfer_max_receive_count (5) of them send it to the dead-letter queue, which is alarmed; the next day's plan
# sends the file again anyway.
module "transfer_queue" {
  source = "../queue"

  name                     = "${local.name}-transfer"
  consumer_timeout_seconds = var.transfer_timeout
  max_receive_count        = var.transfer_max_receive_count
}

# Optional: the functions in private subnets, with the endpoints they need (modules/private_network).
module "private_network" {
  source   = "../private_network"
  for_each = var.private_network == null ? {} : { this = var.private_network }

  name               = local.name
  vpc_id             = each.value.vpc_id
  subnet_ids         = each.value.subnet_ids
  route_table_ids    = each.value.route_table_ids
  interface_services = each.value.interface_services
}

module "ingest" {
  source = "../lambda_image"

  vpc_config = local.vpc_config

  function_name                  = "${local.name}-ingest"
  description                    = "Mirrors BLS time.series surveys and DataUSA population into ${local.bucket_name}."
  image_uri                      = var.ingest_image_uri
  command                        = ["dataquest.handlers.ingest.handler"]
  architecture                   = var.architecture
  memory_size                    = var.ingest_memory_size
  timeout                        = var.ingest_timeout
  reserved_concurrent_executions = var.ingest_reserved_concurrency
  log_retention_days             = var.log_retention_days
  environment_variables          = merge(local.function_environment, local.fanout_environment, local.freshness_environment)
  kms_key_arns                   = compact([var.bucket_kms_key_arn])
  # The planner sends the transfers.
  send_queue_arns = [module.transfer_queue.queue_arn]

  # The schedule invokes asynchronously: at most one retry, and failed runs kept in a queue the alarms watch.
  async_invocation = {
    maximum_retry_attempts       = var.ingest_retry_attempts
    maximum_event_age_in_seconds = var.ingest_maximum_event_age_seconds
  }

  s3_access = {
    bucket_arn     = module.bucket.bucket_arn
    read_prefixes  = [local.prefixes.bls, local.prefixes.population, local.prefixes.locks, local.prefixes.calendar]
    write_prefixes = [local.prefixes.bls, local.prefixes.population, local.prefixes.logs, local.prefixes.locks]
    # BLS's release calendar: replaced whole when it changed, never deleted.
    put_prefixes = [local.prefixes.calendar]
    list_bucket  = true
    # The sync aborts the multipart uploads a killed run left before it starts its own.
    list_multipart_uploads = true
  }
}

module "transfer" {
  source = "../lambda_image"

  vpc_config = local.vpc_config

  function_name = "${local.name}-transfer"
  description   = "Mirrors the BLS files the planner queued into ${local.bucket_name}, resuming a file bigger than one invocation."
  # The ingest image with another handler: the same package, the same lock file, one image to build and promote.
  image_uri          = var.ingest_image_uri
  command            = ["dataquest.handlers.transfer.handler"]
  architecture       = var.architecture
  memory_size        = var.transfer_memory_size
  timeout            = var.transfer_timeout
  log_retention_days = var.log_retention_days
  environment_variables = merge(local.common_environment, local.fanout_environment, {
    DQ_LOG_LEVEL = "INFO" # as Lambda's application_log_level (lambda_image's default): lower both to see DEBUG
  })
  kms_key_arns = compact([var.bucket_kms_key_arn])
  # A transfer that nears its time limit re-enqueues its continuation.
  send_queue_arns = [module.transfer_queue.queue_arn]

  # Mirror files (HEAD, then put or multipart; never delete: deletes are the planner's, after its guards) and
  # write each transfer's outcome to the run's trail. List: a HEAD of a missing key answers 404, not 403.
  s3_access = {
    bucket_arn      = module.bucket.bucket_arn
    read_prefixes   = [local.prefixes.bls]
    upload_prefixes = [local.prefixes.bls]
    put_prefixes    = [local.ingest_log_prefix]
    list_bucket     = true
  }

  # One message a time: a message is one file (or a batch of small files the planner packed) that may need the whole
  # invocation; a batch of several would share one time limit and fail together. At most transfer_streams at once.
  sqs_event_source = {
    queue_arn                          = module.transfer_queue.queue_arn
    batch_size                         = 1
    maximum_batching_window_in_seconds = 0
    maximum_concurrency                = var.transfer_streams
  }
}

module "report" {
  source = "../lambda_image"

  vpc_config = local.vpc_config

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
    # The report reads its inputs at the versions it recorded (GetObject with VersionId).
    read_versions = true
  }

  sqs_event_source = {
    queue_arn                          = module.report_queue.queue_arn
    batch_size                         = 10
    maximum_batching_window_in_seconds = var.report_batching_window_seconds
    maximum_concurrency                = local.report_maximum_concurrency
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

  dead_letter_queues = merge({
    report-queue    = module.report_queue.dead_letter_queue_name
    transfer-queue  = module.transfer_queue.dead_letter_queue_name
    ingest-trigger  = module.schedule.dead_letter_queue_name
    ingest-failures = module.ingest.on_failure_queue_name
  }, { for k, lake in local.lake : "${k}-queue" => lake.dead_letter_queue_name })

  functions = merge({
    ingest   = module.ingest.function_name
    transfer = module.transfer.function_name
    report   = module.report.function_name
  }, { for k, lake in local.lake : k => lake.function_name })
  daily_function_key = "ingest"

  # The files the planner and the transfers failed on (their EMF Errors metric, with this environment's dimension):
  # minutes after the failure, where the transfer dead-letter queue fills only after its receives (hours).
  application_errors = {
    for fn in ["ingest", "transfer"] : fn => {
      namespace   = "DataQuest"
      metric_name = "Errors"
      dimensions  = { Environment = var.environment, Function = fn }
    }
  }

  work_queues = merge({
    report-queue   = { queue_name = module.report_queue.queue_name, max_age_seconds = var.report_queue_max_age_seconds }
    transfer-queue = { queue_name = module.transfer_queue.queue_name, max_age_seconds = var.transfer_queue_max_age_seconds }
  }, { for k, lake in local.lake : "${k}-queue" => { queue_name = lake.queue_name, max_age_seconds = var.lake_queue_max_age_seconds } })

  # The freshness objective: the planner's StaleSurveys and StaleReport (dataquest.ops.freshness).
  freshness = {
    namespace  = "DataQuest"
    dimensions = { Environment = var.environment, Function = "ingest" }
    hours      = var.freshness_hours
  }
}

module "dashboard" {
  source = "../dashboard"

  name        = local.name
  environment = var.environment
  functions = merge({
    ingest   = { name = module.ingest.function_name, timeout_seconds = var.ingest_timeout }
    transfer = { name = module.transfer.function_name, timeout_seconds = var.transfer_timeout }
    report   = { name = module.report.function_name, timeout_seconds = var.report_timeout }
  }, { for k, lake in local.lake : k => { name = lake.function_name, timeout_seconds = lake.timeout_seconds } })
  daily_function_key   = "ingest"
  freshness_hours      = var.freshness_hours
  transfer_functions   = ["ingest", "transfer"]
  report_function_name = module.report.function_name

  work_queues = merge({
    report-queue   = module.report_queue.queue_name
    transfer-queue = module.transfer_queue.queue_name
  }, { for k, lake in local.lake : "${k}-queue" => lake.queue_name })
  dead_letter_queues = merge({
    report-queue-dlq    = module.report_queue.dead_letter_queue_name
    transfer-queue-dlq  = module.transfer_queue.dead_letter_queue_name
    ingest-trigger-dlq  = module.schedule.dead_letter_queue_name
    ingest-failures-dlq = module.ingest.on_failure_queue_name
  }, { for k, lake in local.lake : "${k}-queue-dlq" => lake.dead_letter_queue_name })
  lake_function_name = var.lake == null ? null : var.lake.function_name
}
