# The storage half of the pipeline on an emulator: the bucket, the report queue and the notification between
# them, with the same notification filters as dev and prod, the transfer queue the planner fans out to, and the
# lake queue fed by the same EventBridge rule as modules/lake's. The functions run outside (docker compose, or
# `dataquest run`), pointed at the emulator by AWS_ENDPOINT_URL.

locals {
  # The S3 layout the Python package reads too: the report's inputs, as modules/pipeline notifies on them.
  layout = jsondecode(file("${path.module}/../../../src/dataquest/layout.json"))
  report_trigger_keys = [
    local.layout.report_inputs.population,
    local.layout.report_inputs.bls_data,
  ]
}

module "bucket" {
  source = "../../modules/bucket"

  bucket_name = "dataquest-local"
  # Emulators speak plain HTTP, and some evaluate aws:SecureTransport=false as a deny of every request.
  enforce_tls   = false
  force_destroy = true
}

module "report_queue" {
  source = "../../modules/queue"

  name                       = "dataquest-local-report"
  admit_bucket_notifications = true
  bucket_arn                 = module.bucket.bucket_arn
  consumer_timeout_seconds   = 300
}

# The bucket's one notification configuration, with the same entries as modules/pipeline's.
module "notifications" {
  source = "../../modules/notifications"

  bucket_name = module.bucket.configured_bucket_name
  eventbridge = true # the lake's rule takes bls/ from EventBridge, as in dev and prod
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

moved {
  from = module.queue
  to   = module.report_queue
}

moved {
  from = module.report_queue.aws_s3_bucket_notification.this[0]
  to   = module.notifications.aws_s3_bucket_notification.this
}

# As modules/pipeline's: the planner's messages, fed by no notification (DQ_TRANSFER_QUEUE_URL: the output).
module "transfer_queue" {
  source = "../../modules/queue"

  name                     = "dataquest-local-transfer"
  consumer_timeout_seconds = 900
}

# The lake queue, and the EventBridge rule that feeds it as modules/lake's does in AWS (the lake function runs
# outside, fed by a relay: docker-compose.yml). Only the rule may send.
module "lake_queue" {
  source = "../../modules/queue"

  name                     = "dataquest-local-lake"
  consumer_timeout_seconds = 900
}

# The same feed as modules/lake's: modules/lake_feed.
module "lake_feed" {
  source = "../../modules/lake_feed"

  name        = "dataquest-local-lake"
  bucket_name = module.bucket.bucket_name
  queue_arn   = module.lake_queue.queue_arn
  queue_url   = module.lake_queue.policy_queue_url
}

moved {
  from = aws_cloudwatch_event_rule.lake
  to   = module.lake_feed.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_sqs_queue_policy.lake
  to   = module.lake_feed.aws_sqs_queue_policy.this
}

moved {
  from = aws_cloudwatch_event_target.lake
  to   = module.lake_feed.aws_cloudwatch_event_target.this
}
