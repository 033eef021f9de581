# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# The dashboard an operator opens first; test_terraform_apply.py applies it to moto and reads it back.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  name                 = "dataquest-test"
  environment          = "test"
  functions            = { ingest = { name = "dataquest-test-ingest", timeout_seconds = 900 }, report = { name = "dataquest-test-report", timeout_seconds = 300 } }
  daily_function_key   = "ingest"
  transfer_functions   = ["ingest"]
  report_function_name = "dataquest-test-report"
  work_queues          = { report-queue = "dataquest-test-report" }
}

run "every_view_an_operator_expects" {
  command = apply

  assert {
    condition = output.dashboard_widget_titles == [
      "Runs and their outcome (ingest, per day)",
      "Files and bytes moved per day",
      "Transfer errors (files failed, per hour)",
      "Queues: depth and age of the oldest message",
      "Duration against the timeout (maximum, ms)",
      "Memory used against the limit (MB, per function and hour)",
      "Report age: the latest reports written",
      "Freshness: surveys stale 24 h after a BLS release, report older than its inputs",
      "Stale surveys: the survey, the release, what to do",
    ]
    error_message = "Runs, files and bytes, transfer errors, queues, duration and memory, report age, freshness."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "[\"DataQuest\",\"StaleSurveys\",\"Environment\",\"test\",\"Function\",\"ingest\"")
    error_message = "The freshness widget reads the planner's StaleSurveys on the dimensions it is emitted with."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "[\"DataQuest\",\"Errors\",\"Environment\",\"test\",\"Function\",\"ingest\"")
    error_message = "The application's metrics are read on the dimensions they are emitted with (Environment, Function)."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[4].properties.annotations.horizontal[0].value == 900000
    error_message = "Duration is drawn against the function's timeout, in ms."
  }
}
