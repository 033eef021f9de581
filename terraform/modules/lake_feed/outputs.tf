output "event_rule_arn" {
  description = "ARN of the EventBridge rule that sends the bucket's changes under bls/ (and the population) to the lake queue."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_rule_name" {
  description = "Name of the EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.name
}
