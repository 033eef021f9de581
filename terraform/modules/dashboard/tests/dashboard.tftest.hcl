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

run "no_lake_widget_without_the_lake" {
  command = plan

  assert {
    condition     = length([for t in output.dashboard_widget_titles : t if strcontains(t, "Lake")]) == 0
    error_message = "Without lake_function_name the dashboard shows no lake widget."
  }
}

run "the_lake_gets_a_widget_of_its_updates" {
  command = apply

  variables {
    functions          = { ingest = { name = "dataquest-test-ingest", timeout_seconds = 900 }, lake = { name = "dataquest-test-lake", timeout_seconds = 900 } }
    lake_function_name = "dataquest-test-lake"
  }

  assert {
    condition     = output.dashboard_widget_titles[length(output.dashboard_widget_titles) - 1] == "Lake updates: invocations, errors and throttles (per hour)"
    error_message = "The lake's invocations, errors and throttles have a widget of their own, after the others."
  }

  assert {
    condition = [for m in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[9].properties.metrics : slice(m, 0, 4)] == [
      for metric in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", metric, "FunctionName", "dataquest-test-lake"]
    ]
    error_message = "The lake widget reads the lake function's own AWS/Lambda metrics."
  }
}
