# The storage half of the pipeline on an emulator: the bucket, the report queue and the notification between
# them, with the same notification filters as dev and prod, and the transfer queue the planner fans out to. The
# functions run outside (docker compose, or `dataquest run`), pointed at the emulator by AWS_ENDPOINT_URL.

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
