# One CloudWatch dashboard per environment: what an operator looks at first. Built from the metrics the functions
# emit (namespace DataQuest, dimensions Environment and Function: dataquest.log.emit_metrics) and AWS's own
# (AWS/Lambda, AWS/SQS), and from the functions' JSON logs (Lambda's platform.report records: memory used). The lake,
# when deployed, is one more function and queue on the shared widgets, and a widget of its own for its errors.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name

  widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "Runs and their outcome (ingest, per day)"
        region = local.region
        stat   = "Sum"
        period = 86400
        view   = "timeSeries"
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", var.functions[var.daily_function_key].name, { label = "runs" }],
          ["AWS/Lambda", "Errors", "FunctionName", var.functions[var.daily_function_key].name, { label = "failed runs" }],
          ["DataQuest", "Errors", "Environment", var.environment, "Function", var.daily_function_key, { label = "files failed (planner)" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "Files and bytes moved per day"
        region = local.region
        stat   = "Sum"
        period = 86400
        view   = "timeSeries"
        metrics = concat(
          [for fn in var.transfer_functions : ["DataQuest", "FilesUploaded", "Environment", var.environment, "Function", fn, { label = "files uploaded (${fn})" }]],
          [for fn in var.transfer_functions : ["DataQuest", "BytesDownloaded", "Environment", var.environment, "Function", fn, { label = "bytes (${fn})", yAxis = "right" }]],
          [["DataQuest", "FilesDeleted", "Environment", var.environment, "Function", var.daily_function_key, { label = "files deleted" }]],
        )
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title   = "Transfer errors (files failed, per hour)"
        region  = local.region
        stat    = "Sum"
        period  = 3600
        view    = "timeSeries"
        metrics = [for fn in var.transfer_functions : ["DataQuest", "Errors", "Environment", var.environment, "Function", fn, { label = fn }]]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title  = "Queues: depth and age of the oldest message"
        region = local.region
        stat   = "Maximum"
        period = 300
        view   = "timeSeries"
        metrics = concat(
          [for label, queue in merge(var.work_queues, var.dead_letter_queues) : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, { label = "${label} depth" }]],
          [for label, queue in var.work_queues : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue, { label = "${label} age (s)", yAxis = "right" }]],
        )
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "Duration against the timeout (maximum, ms)"
        region  = local.region
        stat    = "Maximum"
        period  = 3600
        view    = "timeSeries"
        metrics = [for label, fn in var.functions : ["AWS/Lambda", "Duration", "FunctionName", fn.name, { label = label }]]
        annotations = {
          horizontal = [for label, fn in var.functions : { label = "${label} timeout", value = fn.timeout_seconds * 1000 }]
        }
      }
    },
    {
      type = "log", x = 12, y = 12, width = 12, height = 6
      properties = {
        title  = "Memory used against the limit (MB, per function and hour)"
        region = local.region
        view   = "table"
        query  = "SOURCE ${join(" | SOURCE ", [for fn in values(var.functions) : "'/aws/lambda/${fn.name}'"])} | filter type = \"platform.report\" | stats max(record.metrics.maxMemoryUsedMB) as used_mb, max(record.metrics.memorySizeMB) as limit_mb by @log, bin(1h)"
      }
    },
    {
      type = "log", x = 0, y = 18, width = 24, height = 6
      properties = {
        title  = "Report age: the latest reports written"
        region = local.region
        view   = "table"
        query  = "SOURCE '/aws/lambda/${var.report_function_name}' | filter message = \"report written\" | fields @timestamp, prefix, keys | sort @timestamp desc | limit 5"
      }
    },
    {
      # The freshness objective (dataquest.ops.freshness): one datapoint per ingest run.
      type = "metric", x = 0, y = 24, width = 12, height = 6
      properties = {
        title  = "Freshness: surveys stale ${var.freshness_hours} h after a BLS release, report older than its inputs"
        region = local.region
        stat   = "Maximum"
        period = 3600
        view   = "timeSeries"
        metrics = [
          ["DataQuest", "StaleSurveys", "Environment", var.environment, "Function", var.daily_function_key, { label = "stale surveys" }],
          ["DataQuest", "StaleReport", "Environment", var.environment, "Function", var.daily_function_key, { label = "report stale" }],
        ]
        annotations = { horizontal = [{ label = "objective", value = 0 }] }
      }
    },
    {
      type = "log", x = 12, y = 24, width = 12, height = 6
      properties = {
        title  = "Stale surveys: the survey, the release, what to do"
        region = local.region
        view   = "table"
        query  = "SOURCE '/aws/lambda/${var.functions[var.daily_function_key].name}' | filter message = \"survey stale\" or message = \"report stale\" | fields @timestamp, survey, release, released_at, last_changed, action | sort @timestamp desc | limit 20"
      }
    },
  ]

  # The lake's updates (modules/lake), when it is deployed: its queue and duration are on the widgets above.
  lake_widgets = var.lake_function_name == null ? [] : [
    {
      type = "metric", x = 0, y = 30, width = 12, height = 6
      properties = {
        title  = "Lake updates: invocations, errors and throttles (per hour)"
        region = local.region
        stat   = "Sum"
        period = 3600
        view   = "timeSeries"
        metrics = [
          for metric in ["Invocations", "Errors", "Throttles"] :
          ["AWS/Lambda", metric, "FunctionName", var.lake_function_name, { label = lower(metric) }]
        ]
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = concat(local.widgets, local.lake_widgets) })
}
