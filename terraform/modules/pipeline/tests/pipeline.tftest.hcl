# terraform test (Terraform >= 1.7): the whole pipeline against a mock AWS provider, for what its wiring and
# validation decide without any AWS call. tests/integration/test_terraform_modules.py runs it; what only a real
# apply proves (moto accepts it, no drift, least privilege by running) is tests/integration/terraform_apply/.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dataquest-test-ingest-us-east-1" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:dataquest-test-ingest" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::dataquest-test-123456789012-us-east-1" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:dataquest-test-alarms" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-queue" }
  }
}

variables {
  environment      = "test"
  contact_email    = "dq-tests@example.com"
  ingest_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/ingest@sha256:1111111111111111111111111111111111111111111111111111111111111111"
  report_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/report@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "failed_scheduled_runs_are_kept_and_alarmed" {
  command = apply

  assert {
    condition     = module.ingest.on_failure_queue_name == "dataquest-test-ingest-failures"
    error_message = "The ingest function keeps its failed runs in a queue."
  }

  assert {
    condition     = contains(keys(module.alarms.alarm_arns), "dataquest-test-alarms-ingest-failures-dead-letters")
    error_message = "The failure queue is alarmed."
  }

  assert {
    condition     = module.report.on_failure_queue_name == null
    error_message = "The report function is not invoked asynchronously: no failure queue."
  }
}

run "rejects_an_image_given_by_tag" {
  command = plan

  variables {
    ingest_image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/ingest:latest"
  }

  expect_failures = [var.ingest_image_uri]
}

run "rejects_a_kms_alias" {
  command = plan

  variables {
    bucket_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/aws/s3"
  }

  expect_failures = [var.bucket_kms_key_arn]
}

run "rejects_a_second_retry" {
  command = plan

  variables {
    ingest_retry_attempts = 2
  }

  expect_failures = [var.ingest_retry_attempts]
}

run "the_transfer_function_is_the_ingest_image_with_the_transfer_handler" {
  command = apply

  assert {
    condition     = module.transfer.function_image_uri == var.ingest_image_uri && module.transfer.function_command == tolist(["dataquest.handlers.transfer.handler"])
    error_message = "The transfer function runs the ingest image with CMD dataquest.handlers.transfer.handler."
  }

  assert {
    condition     = module.transfer.event_source_maximum_concurrency == 2 && module.transfer.event_source_batch_size == 1
    error_message = "The transfer queue feeds the transfer function one message at a time, at most 2 at once (transfer_streams)."
  }

  assert {
    condition = module.transfer.function_environment_variables == tomap({
      DQ_BUCKET             = module.bucket.bucket_name
      DQ_CONTACT            = "dq-tests@example.com"
      DQ_ENVIRONMENT        = "test"
      DQ_BLS_BASE_URL       = "https://download.bls.gov/pub/time.series/"
      DQ_REQUEST_INTERVAL   = "1"
      DQ_TRANSFER_STREAMS   = "2"
      DQ_TRANSFER_QUEUE_URL = module.transfer_queue.queue_url
      DQ_LOG_LEVEL          = "INFO"
    })
    error_message = "The transfer function's settings: the bucket, the contact, the source, the global interval, the streams, its own queue (continuations), the log level."
  }

  assert {
    condition = (
      module.ingest.function_environment_variables.DQ_TRANSFER_QUEUE_URL == module.transfer_queue.queue_url &&
      module.ingest.function_environment_variables.DQ_TRANSFER_STREAMS == "2" &&
      module.ingest.function_environment_variables.DQ_REQUEST_INTERVAL == "1" &&
      module.ingest.function_environment_variables.DQ_BLS_SURVEYS == "pr"
    )
    error_message = "The ingest function plans: it knows the transfer queue, the streams and the interval."
  }

  assert {
    condition     = !contains(keys(module.report.function_environment_variables), "DQ_TRANSFER_QUEUE_URL")
    error_message = "The report function has nothing to do with transfers."
  }

  assert {
    condition     = module.transfer_queue.queue_visibility_timeout_seconds == 6 * 900 && module.transfer_queue.queue_max_receive_count == 5
    error_message = "The transfer queue hides a message for six transfer timeouts and dead-letters it after 5 failed receives."
  }

  assert {
    condition = alltrue([
      for name in ["dataquest-test-alarms-transfer-queue-dead-letters", "dataquest-test-alarms-transfer-errors", "dataquest-test-alarms-transfer-throttles"] :
      contains(keys(module.alarms.alarm_arns), name)
    ])
    error_message = "The transfer dead-letter queue and the transfer function's errors and throttles are alarmed."
  }

  assert {
    condition     = module.transfer.on_failure_queue_name == null
    error_message = "The transfer function is fed by its queue (whose dead-letter queue keeps failures), never invoked asynchronously."
  }
}

run "more_streams_raise_the_event_sources_concurrency" {
  command = apply

  variables {
    transfer_streams = 4
    request_interval = 0.5
    bls_surveys      = ["all"]
  }

  assert {
    condition = (
      module.transfer.event_source_maximum_concurrency == 4 &&
      module.transfer.function_environment_variables.DQ_TRANSFER_STREAMS == "4" &&
      module.transfer.function_environment_variables.DQ_REQUEST_INTERVAL == "0.5"
    )
    error_message = "transfer_streams is the mapping's maximum concurrency and DQ_TRANSFER_STREAMS; request_interval is DQ_REQUEST_INTERVAL."
  }

  assert {
    condition     = module.ingest.function_environment_variables.DQ_BLS_SURVEYS == "all"
    error_message = "bls_surveys = [\"all\"] is DQ_BLS_SURVEYS=all."
  }
}

run "rejects_one_stream" {
  command = plan

  variables {
    transfer_streams = 1
  }

  expect_failures = [var.transfer_streams]
}

run "rejects_all_mixed_with_names" {
  command = plan

  variables {
    bls_surveys = ["all", "pr"]
  }

  expect_failures = [var.bls_surveys]
}

run "rejects_a_name_outside_the_survey_rule" {
  command = plan

  variables {
    bls_surveys = ["PR"]
  }

  expect_failures = [var.bls_surveys]
}

run "the_report_queue_is_notified_of_the_report_inputs_through_the_one_notification" {
  command = apply

  assert {
    condition     = output.report_queue_url == module.report_queue.queue_url
    error_message = "The report queue is named as such."
  }

  assert {
    condition     = jsonencode(module.notifications.queue_ids) == jsonencode(["object-created-population-nation-population-json", "object-created-bls-pr-pr-data-0-Current"])
    error_message = "The bucket's one notification holds an entry per report input."
  }
}

run "an_environment_that_requires_an_alarm_email_refuses_none" {
  command = plan

  variables {
    alarm_email_required = true
  }

  expect_failures = [var.alarm_email]
}

run "an_environment_that_requires_an_alarm_email_takes_one" {
  command = plan

  variables {
    alarm_email_required = true
    alarm_email          = "oncall@example.com"
  }
}

run "rejects_more_streams_than_the_package_runs" {
  command = plan

  variables {
    transfer_streams = 17
  }

  expect_failures = [var.transfer_streams]
}

run "rejects_a_contact_the_package_refuses" {
  command = plan

  variables {
    contact_email = "Ops <ops@example.com>"
  }

  expect_failures = [var.contact_email]
}

run "rejects_report_reserved_concurrency_below_its_mappings_maximum" {
  command = plan

  variables {
    report_reserved_concurrency = 1
  }

  expect_failures = [var.report_reserved_concurrency]
}

run "failed_files_and_backlogs_are_alarmed_per_environment" {
  command = apply

  assert {
    condition = alltrue([
      for name in ["ingest-failed-files", "transfer-failed-files", "report-queue-backlog", "transfer-queue-backlog"] :
      contains(keys(module.alarms.alarm_arns), "dataquest-test-alarms-${name}")
    ])
    error_message = "The planner's and the transfers' failed files, and both work queues' age, are alarmed."
  }

  assert {
    condition     = module.ingest.function_environment_variables.DQ_ENVIRONMENT == "test" && module.report.function_environment_variables.DQ_ENVIRONMENT == "test"
    error_message = "Every function gets its environment: a dimension of its metrics."
  }
}

run "no_private_network_by_default" {
  command = plan

  assert {
    condition     = length(module.private_network) == 0
    error_message = "The functions run in Lambda's own network unless private_network is set."
  }
}

run "private_network_puts_every_function_in_the_subnets_with_the_endpoints" {
  command = apply

  variables {
    private_network = {
      vpc_id          = "vpc-0123456789abcdef0"
      subnet_ids      = ["subnet-0aaaaaaaaaaaaaaaa"]
      route_table_ids = ["rtb-0123456789abcdef0"]
    }
  }

  assert {
    condition     = module.private_network["this"].endpoint_service_names == ["com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.sqs"]
    error_message = "The S3 gateway and SQS interface endpoints."
  }

  assert {
    condition = alltrue([
      for fn in [module.ingest, module.transfer, module.report] : fn.function_subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaaa"])
    ])
    error_message = "Every function runs in the given subnets."
  }
}

run "freshness_hours_reach_the_planner_and_its_alarms" {
  command = plan

  variables {
    freshness_hours = 36
  }

  assert {
    condition = (
      module.ingest.function_environment_variables.DQ_FRESHNESS_HOURS == "36" &&
      module.ingest.function_environment_variables.DQ_BLS_CALENDAR_URL == "https://www.bls.gov/schedule/news_release/bls.ics"
    )
    error_message = "freshness_hours is the planner's DQ_FRESHNESS_HOURS; BLS's calendar is its DQ_BLS_CALENDAR_URL."
  }
}

run "rejects_freshness_hours_outside_the_packages_rule" {
  command = plan

  variables {
    freshness_hours = 169
  }

  expect_failures = [var.freshness_hours]
}

run "without_the_lake_nothing_of_it_is_watched" {
  command = plan

  assert {
    condition     = length([for name in keys(module.alarms.alarm_arns) : name if strcontains(name, "lake")]) == 0
    error_message = "lake is null by default: the pipeline alone has no lake alarm."
  }
}

run "the_lake_is_alarmed_and_on_the_dashboard_like_the_report" {
  command = apply

  variables {
    lake = {
      function_name          = "dataquest-test-lake"
      timeout_seconds        = 900
      queue_name             = "dataquest-test-lake"
      dead_letter_queue_name = "dataquest-test-lake-dlq"
    }
  }

  assert {
    condition = alltrue([
      for name in ["lake-queue-dead-letters", "lake-errors", "lake-throttles", "lake-queue-backlog"] :
      contains(keys(module.alarms.alarm_arns), "dataquest-test-alarms-${name}")
    ])
    error_message = "The lake's dead letters, errors, throttles and queue age are alarmed as the report's are."
  }

  assert {
    condition     = contains(module.dashboard.dashboard_widget_titles, "Lake updates: invocations, errors and throttles (per hour)")
    error_message = "The lake's updates have a widget on the environment's dashboard."
  }
}
