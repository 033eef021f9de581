output "queue_arn" {
  description = "ARN of the lake queue: the target of the EventBridge rule (see `event_rule_arn`)."
  value       = module.queue.queue_arn
}

output "queue_url" {
  description = "URL of the lake queue."
  value       = module.queue.queue_url
}

output "queue_name" {
  description = "Name of the lake queue."
  value       = module.queue.queue_name
}

output "dead_letter_queue_name" {
  description = "Name of the lake queue's dead-letter queue."
  value       = module.queue.dead_letter_queue_name
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule that sends the bucket's changes under bls/ (and the population) to the lake queue: the bucket must send its events to EventBridge."
  value       = module.feed.event_rule_arn
}

output "function_name" {
  description = "Name of the lake function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the lake function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Name of the lake function's execution role."
  value       = module.function.role_name
}

output "database_name" {
  description = "Glue database of the lake's tables."
  value       = aws_glue_catalog_database.this.name
}

output "workgroup_name" {
  description = "Athena workgroup of the lake (enforced encrypted results, scan cutoff)."
  value       = aws_athena_workgroup.this.name
}

output "named_query_ids" {
  description = "Athena named query ids by name (population_stats, best_years, series_population)."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}

output "analyst_policy_arn" {
  description = "ARN of the read-only analyst policy: attach it to the analysts' role or group."
  value       = aws_iam_policy.analyst.arn
}

output "monitoring_targets" {
  description = "What the pipeline's alarms and dashboard watch of the lake (modules/pipeline's `lake` input): the function's name and timeout, the queue's and its dead-letter queue's names."
  value = {
    function_name          = module.function.function_name
    timeout_seconds        = var.timeout
    queue_name             = module.queue.queue_name
    dead_letter_queue_name = module.queue.dead_letter_queue_name
  }
}
