# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# What the daily alarm does on real data is tests/repo/test_terraform_alarm_math.py.

mock_provider "aws" {
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:dataquest-test-alarms" }
  }
}

variables {
  name               = "dataquest-test-alarms"
  dead_letter_queues = { ingest-failures = "dataquest-test-ingest-failures" }
  functions          = { ingest = "dataquest-test-ingest" }
  daily_function_key = "ingest"
}

run "the_daily_alarm_counts_hourly_successes_over_26_hours" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.no_daily_success.evaluation_periods == 26 &&
      aws_cloudwatch_metric_alarm.no_daily_success.datapoints_to_alarm == 26 &&
      aws_cloudwatch_metric_alarm.no_daily_success.treat_missing_data == "notBreaching"
    )
    error_message = "26 hourly periods, all of them breaching to fire; no data (never invoked) is not breaching."
  }

  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.no_daily_success.metric_query : q.expression if q.id == "successes"]) == "FILL(invocations, 0) - FILL(errors, 0)"
    error_message = "Successes per hour, missing hours counted as 0."
  }

  assert {
    condition     = toset([for q in aws_cloudwatch_metric_alarm.no_daily_success.metric_query : q.metric[0].period if q.id != "successes"]) == toset([3600])
    error_message = "Hourly sums."
  }
}

run "a_failure_queue_is_alarmed_like_a_dead_letter_queue" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["ingest-failures-dead-letters"].dimensions.QueueName == "dataquest-test-ingest-failures"
    error_message = "Every queue in dead_letter_queues gets its alarm."
  }
}

run "rejects_a_window_of_a_day_or_less" {
  command = plan

  variables {
    no_success_hours = 24
  }

  expect_failures = [var.no_success_hours]
}

run "every_function_and_queue_given_is_alarmed_on_any_error_or_dead_letter" {
  command = apply

  variables {
    dead_letter_queues = { transfer-queue = "dataquest-test-transfer-dlq" }
    functions          = { ingest = "dataquest-test-ingest", transfer = "dataquest-test-transfer" }
  }

  assert {
    condition = alltrue([
      for key in ["transfer-errors", "transfer-throttles", "transfer-queue-dead-letters"] :
      aws_cloudwatch_metric_alarm.this[key].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this[key].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this[key].period == 300 &&
      aws_cloudwatch_metric_alarm.this[key].alarm_actions == toset([aws_sns_topic.this.arn])
    ])
    error_message = "The transfer function's errors and throttles and its dead-letter queue fire on any non-zero value in five minutes, to the one topic."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["transfer-errors"].dimensions.FunctionName == "dataquest-test-transfer" &&
      aws_cloudwatch_metric_alarm.this["transfer-errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.this["transfer-queue-dead-letters"].dimensions.QueueName == "dataquest-test-transfer-dlq" &&
      aws_cloudwatch_metric_alarm.this["transfer-queue-dead-letters"].metric_name == "ApproximateNumberOfMessagesVisible"
    )
    error_message = "Each alarm watches its own function or queue."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["transfer-queue-dead-letters"].alarm_name == "dataquest-test-alarms-transfer-queue-dead-letters"
    error_message = "Alarms are named <name>-<label>-<kind>."
  }
}

run "the_applications_failed_files_and_the_work_queues_age_are_alarmed" {
  command = apply

  variables {
    application_errors = {
      transfer = { namespace = "DataQuest", metric_name = "Errors", dimensions = { Environment = "test", Function = "transfer" } }
    }
    work_queues = {
      transfer-queue = { queue_name = "dataquest-test-transfer", max_age_seconds = 10800 }
    }
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.application_errors["transfer"].alarm_name == "dataquest-test-alarms-transfer-failed-files" &&
      aws_cloudwatch_metric_alarm.application_errors["transfer"].dimensions == tomap({ Environment = "test", Function = "transfer" }) &&
      aws_cloudwatch_metric_alarm.application_errors["transfer"].period == 300 &&
      aws_cloudwatch_metric_alarm.application_errors["transfer"].threshold == 0
    )
    error_message = "A failed file alarms within five minutes, on the metric's exact dimensions."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.queue_age["transfer-queue"].metric_name == "ApproximateAgeOfOldestMessage" &&
      aws_cloudwatch_metric_alarm.queue_age["transfer-queue"].dimensions == tomap({ QueueName = "dataquest-test-transfer" }) &&
      aws_cloudwatch_metric_alarm.queue_age["transfer-queue"].threshold == 10800
    )
    error_message = "A backlog alarms when the oldest message is older than its limit."
  }
}

run "no_freshness_alarm_unless_its_metrics_are_given" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.freshness) == 0
    error_message = "freshness = null (the default): no freshness alarm."
  }
}

run "the_freshness_alarms_keep_the_last_runs_verdict_between_runs" {
  command = apply

  variables {
    freshness = {
      namespace  = "DataQuest"
      dimensions = { Environment = "test", Function = "ingest" }
      hours      = 36
    }
  }

  assert {
    condition = alltrue([
      for key, metric in { stale-surveys = "StaleSurveys", stale-report = "StaleReport" } :
      aws_cloudwatch_metric_alarm.freshness[key].metric_name == metric &&
      aws_cloudwatch_metric_alarm.freshness[key].dimensions == tomap({ Environment = "test", Function = "ingest" }) &&
      aws_cloudwatch_metric_alarm.freshness[key].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.freshness[key].threshold == 0 &&
      aws_cloudwatch_metric_alarm.freshness[key].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.freshness[key].treat_missing_data == "ignore" &&
      aws_cloudwatch_metric_alarm.freshness[key].alarm_actions == toset([aws_sns_topic.this.arn])
    ])
    error_message = "Any stale survey (or a stale report) alarms, on the run's own dimensions; missing hours between daily runs keep the state."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_metric_alarm.freshness["stale-surveys"].alarm_description, "36 h") && strcontains(aws_cloudwatch_metric_alarm.freshness["stale-surveys"].alarm_description, "survey stale")
    error_message = "The alarm says the hours and which log lines to read."
  }
}
