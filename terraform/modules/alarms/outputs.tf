output "topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  value       = aws_sns_topic.this.arn
}

output "alarm_arns" {
  description = "ARNs of every alarm, by alarm name."
  value = merge(
    { for a in aws_cloudwatch_metric_alarm.this : a.alarm_name => a.arn },
    { for a in aws_cloudwatch_metric_alarm.application_errors : a.alarm_name => a.arn },
    { for a in aws_cloudwatch_metric_alarm.queue_age : a.alarm_name => a.arn },
    { (aws_cloudwatch_metric_alarm.no_daily_success.alarm_name) = aws_cloudwatch_metric_alarm.no_daily_success.arn },
  )
}
