# Alarms for the pipeline, all sent to one SNS topic (and to an e-mail address when one is given):
# a message in any dead-letter queue, any function error or throttle, and no successful run of the
# daily function within a day.

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

resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  for_each = var.dead_letter_queues

  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = "Messages are waiting in the dead-letter queue ${each.value}: look at them, fix the cause, redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = var.functions

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "The function ${each.value} failed: see its log group /aws/lambda/${each.value}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
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

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = var.functions

  alarm_name          = "${var.name}-${each.key}-throttles"
  alarm_description   = "The function ${each.value} was throttled: check its reserved and the account's concurrency."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
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

# Successes = invocations - errors over the last day; no data at all (the schedule never fired) also alarms.
resource "aws_cloudwatch_metric_alarm" "no_daily_success" {
  alarm_name          = "${var.name}-${var.daily_function_key}-no-success-in-a-day"
  alarm_description   = "The function ${var.functions[var.daily_function_key]} has not completed successfully for a day: check the schedule, its dead-letter queue and the function's logs."
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags

  metric_query {
    id          = "successes"
    expression  = "invocations - errors"
    label       = "Successful invocations"
    return_data = true
  }

  metric_query {
    id = "invocations"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = var.functions[var.daily_function_key] }
      stat        = "Sum"
      period      = 86400
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.functions[var.daily_function_key] }
      stat        = "Sum"
      period      = 86400
    }
  }
}
