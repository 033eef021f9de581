# Alarms for the pipeline, all sent to one SNS topic (and to an e-mail address when one is given):
# a message in any dead-letter queue, any function error or throttle, any file the application failed on (its own
# Errors metric: a failed transfer is seen within minutes, not after the receives that dead-letter it), a work
# queue whose oldest message is older than it should be (a backlog), no successful run of the daily function
# within a day, and data older than it should be (the freshness objective: a survey BLS released that the mirror
# has not caught up with, a report older than its inputs).

resource "aws_sns_topic" "this" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key; alarm texts hold no secrets (kms_master_key_id takes a customer key)
  name              = var.name
  kms_master_key_id = var.kms_master_key_id
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # The alarms on a single metric, by kind: what each kind watches (label => queue or function name) and how.
  # All fire on any non-zero value within five minutes; only the metric differs.
  alarm_kinds = {
    dead-letters = {
      watched     = var.dead_letter_queues
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimension   = "QueueName"
      description = "Messages are waiting in the dead-letter queue %s: look at them, fix the cause, redrive."
    }
    errors = {
      watched     = var.functions
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimension   = "FunctionName"
      description = "The function %[1]s failed: see its log group /aws/lambda/%[1]s."
    }
    throttles = {
      watched     = var.functions
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      statistic   = "Sum"
      dimension   = "FunctionName"
      description = "The function %s was throttled: check its reserved and the account's concurrency."
    }
  }

  # One alarm per kind and watched queue or function, named <name>-<label>-<kind>.
  metric_alarms = merge([
    for kind, spec in local.alarm_kinds : {
      for label, watched in spec.watched : "${label}-${kind}" => merge(spec, { watched = watched })
    }
  ]...)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.metric_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = format(each.value.description, each.value.watched)
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = { (each.value.dimension) = each.value.watched }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

# The application's own error counts (EMF lines, namespace DataQuest): any file failed in five minutes.
resource "aws_cloudwatch_metric_alarm" "application_errors" {
  for_each = var.application_errors

  alarm_name          = "${var.name}-${each.key}-failed-files"
  alarm_description   = "${each.key}: files failed (metric ${each.value.namespace}/${each.value.metric_name}): see the function's log group for the lines with level ERROR; the next message or run retries them."
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

# A backlog: the oldest message of a work queue has waited longer than its consumer should ever take.
resource "aws_cloudwatch_metric_alarm" "queue_age" {
  for_each = var.work_queues

  alarm_name          = "${var.name}-${each.key}-backlog"
  alarm_description   = "The oldest message of ${each.value.queue_name} is more than ${each.value.max_age_seconds} s old: its consumer is failing, throttled or stopped; see its function's errors and throttles."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value.queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.max_age_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

# No successful run of the daily function for a day. Metric math over hourly periods (README: why not one daily
# period): each hour's successes are that hour's invocations less its errors, with a missing hour counted as 0;
# the alarm fires when every one of the last `no_success_hours` hours has none.
resource "aws_cloudwatch_metric_alarm" "no_daily_success" {
  alarm_name          = "${var.name}-${var.daily_function_key}-no-success-in-a-day"
  alarm_description   = "The function ${var.functions[var.daily_function_key]} has not completed successfully in ${var.no_success_hours} hours: check the schedule, its dead-letter queue, the function's failure queue and its logs."
  evaluation_periods  = var.no_success_hours
  datapoints_to_alarm = var.no_success_hours
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  # Missing only while the function has never published a metric (just after the first apply): no alarm then.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.this.arn]
  ok_actions         = [aws_sns_topic.this.arn]
  tags               = var.tags

  metric_query {
    id          = "successes"
    expression  = "FILL(invocations, 0) - FILL(errors, 0)"
    label       = "Successful invocations per hour"
    return_data = true
  }

  # The hourly sums the expression above reads, by its names for them.
  dynamic "metric_query" {
    for_each = { invocations = "Invocations", errors = "Errors" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Lambda"
        metric_name = metric_query.value
        dimensions  = { FunctionName = var.functions[var.daily_function_key] }
        stat        = "Sum"
        period      = 3600
      }
    }
  }
}

# The freshness objective (dataquest.ops.freshness): the daily run reports how many mirrored surveys missed their
# release by more than `hours` (StaleSurveys), and whether the report is older than an input (StaleReport).
# treat_missing_data = "ignore", deliberately: the metric has one datapoint a day, at the end of each run, so
# every other hour is missing. "notBreaching" would clear a stale alarm an hour after the run that raised it and
# "breaching" would fire between runs; "ignore" keeps the state the last run reported until the next run reports
# again. A run that never comes is the no-success alarm's to report, not this one's.
resource "aws_cloudwatch_metric_alarm" "freshness" {
  for_each = var.freshness == null ? {} : {
    stale-surveys = {
      metric_name = "StaleSurveys"
      description = "BLS released data for mirrored surveys more than ${var.freshness.hours} h ago and the mirror has not changed since: see the ingest log's 'survey stale' lines (each names the survey, the release and what to do)."
    }
    stale-report = {
      metric_name = "StaleReport"
      description = "The latest report is older than an input that changed more than ${var.freshness.hours} h ago: see the ingest log's 'report stale' line, the report function's log group and the report queue's dead-letter queue."
    }
  }

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = var.freshness.namespace
  metric_name         = each.value.metric_name
  dimensions          = var.freshness.dimensions
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "ignore"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}
