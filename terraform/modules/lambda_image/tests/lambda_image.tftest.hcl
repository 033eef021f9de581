# terraform test (Terraform >= 1.7): the module planned and applied against a mock AWS provider, no account, no
# emulator. tests/integration/test_terraform_modules.py runs it with the provider mirror.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dataquest-test-ingest-eu-west-1" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:dataquest-test-ingest-failures" }
  }
}

variables {
  function_name = "dataquest-test-ingest"
  image_uri     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dataquest/ingest@sha256:1111111111111111111111111111111111111111111111111111111111111111"
  s3_access = {
    bucket_arn     = "arn:aws:s3:::dataquest-test"
    read_prefixes  = ["bls/"]
    write_prefixes = ["bls/"]
    list_bucket    = true

    list_multipart_uploads = true
  }
}

run "role_name_carries_the_region" {
  command = plan

  assert {
    condition     = aws_iam_role.this.name == "dataquest-test-ingest-eu-west-1"
    error_message = "IAM names are per account: the role's name must carry the region."
  }
}

run "the_sync_may_list_and_abort_stale_multipart_uploads" {
  command = plan

  assert {
    condition = toset(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "ListDataBucket"])) == toset(
      ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    )
    error_message = "The bucket-level grant is ListBucket and ListBucketMultipartUploads (no function lists versions)."
  }

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "WritePrefixes"]), "s3:AbortMultipartUpload")
    error_message = "Writers may abort their multipart uploads."
  }
}

run "no_multipart_listing_unless_asked" {
  command = plan

  variables {
    s3_access = {
      bucket_arn    = "arn:aws:s3:::dataquest-test"
      read_prefixes = ["bls/"]
      list_bucket   = true
    }
  }

  assert {
    condition = toset(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "ListDataBucket"])) == toset(
      ["s3:ListBucket"]
    )
    error_message = "Listing multipart uploads is granted only to a function that asks for it."
  }

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "ReadPrefixes"])) == toset(["s3:GetObject", "s3:GetObjectTagging"])
    error_message = "Reading is GetObject and its tags: no versions or attributes unless asked (no function calls them)."
  }
}

run "reading_given_versions_only_where_asked" {
  command = plan

  variables {
    s3_access = {
      bucket_arn    = "arn:aws:s3:::dataquest-test"
      read_prefixes = ["reports/"]
      read_versions = true
    }
  }

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "ReadPrefixes"]), "s3:GetObjectVersion")
    error_message = "read_versions grants GetObjectVersion (a GET naming a VersionId)."
  }
}

run "without_async_invocation_no_failure_queue_and_no_send" {
  command = apply

  assert {
    condition     = length(aws_sqs_queue.on_failure) == 0 && length(aws_lambda_function_event_invoke_config.this) == 0
    error_message = "No async_invocation: no failure queue, no event invoke configuration."
  }

  assert {
    condition     = !contains([for s in data.aws_iam_policy_document.this.statement : s.sid], "SendFailedInvocations")
    error_message = "No failure queue: the role may send nowhere."
  }
}

run "async_invocation_retries_once_and_keeps_failures_in_its_queue" {
  command = apply

  variables {
    async_invocation = { maximum_retry_attempts = 1, maximum_event_age_in_seconds = 3600 }
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].maximum_retry_attempts == 1 && aws_lambda_function_event_invoke_config.this[0].maximum_event_age_in_seconds == 3600
    error_message = "The event invoke configuration takes the retries and event age given."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].destination_config[0].on_failure[0].destination == aws_sqs_queue.on_failure[0].arn
    error_message = "Failed invocations go to the module's failure queue."
  }

  assert {
    condition     = aws_sqs_queue.on_failure[0].name == "dataquest-test-ingest-failures" && aws_sqs_queue.on_failure[0].sqs_managed_sse_enabled
    error_message = "The failure queue is <function_name>-failures, encrypted."
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "SendFailedInvocations"]).resources == toset(
      ["arn:aws:sqs:eu-west-1:123456789012:dataquest-test-ingest-failures"]
    )
    error_message = "The role may send to its failure queue, and only there."
  }

  assert {
    condition     = output.on_failure_queue_name == "dataquest-test-ingest-failures"
    error_message = "The failure queue's name is an output (the pipeline alarms on it)."
  }
}

run "rejects_more_than_one_retry" {
  command = plan

  variables {
    async_invocation = { maximum_retry_attempts = 2, maximum_event_age_in_seconds = 3600 }
  }

  expect_failures = [var.async_invocation]
}

run "rejects_a_kms_alias" {
  command = plan

  variables {
    kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:alias/dataquest"]
  }

  expect_failures = [var.kms_key_arns]
}

run "rejects_a_name_too_long_for_the_role" {
  command = plan

  variables {
    function_name = "dataquest-a-much-too-long-environment-name-for-roles-ingest"
  }

  expect_failures = [var.function_name]
}

run "logs_in_lambda_json_format_into_its_own_group" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON"
    error_message = "The function logs in Lambda's JSON format (our lines are JSON already)."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].application_log_level == "INFO" && aws_lambda_function.this.logging_config[0].system_log_level == "INFO"
    error_message = "Lambda keeps application and system lines from INFO up by default."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/dataquest-test-ingest"
    error_message = "The function logs into the group this module creates (retention, KMS)."
  }
}

run "rejects_a_python_level_name_lambda_does_not_know" {
  command = plan

  variables {
    application_log_level = "WARNING"
  }

  expect_failures = [var.application_log_level]
}

run "rejects_a_level_that_would_drop_the_metric_lines" {
  command = plan

  variables {
    application_log_level = "WARN"
  }

  expect_failures = [var.application_log_level]
}

run "a_transfer_uploads_and_logs_without_deleting_and_sends_only_to_its_queue" {
  command = plan

  variables {
    command = ["dataquest.handlers.transfer.handler"]
    s3_access = {
      bucket_arn      = "arn:aws:s3:::dataquest-test"
      read_prefixes   = ["bls/"]
      upload_prefixes = ["bls/"]
      put_prefixes    = ["_logs/ingest/"]
      list_bucket     = true
    }
    send_queue_arns = ["arn:aws:sqs:eu-west-1:123456789012:dataquest-test-transfer"]
    sqs_event_source = {
      queue_arn           = "arn:aws:sqs:eu-west-1:123456789012:dataquest-test-transfer"
      batch_size          = 1
      maximum_concurrency = 2
    }
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "UploadPrefixes"]).actions == toset(
      ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    )
    error_message = "An upload prefix is put, tag and multipart: no delete."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "UploadPrefixes"]).resources == toset(["arn:aws:s3:::dataquest-test/bls/*"])
    error_message = "The upload grant covers the upload prefixes only."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "PutPrefixes"]).actions == toset(["s3:PutObject"]) &&
      one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "PutPrefixes"]).resources == toset(["arn:aws:s3:::dataquest-test/_logs/ingest/*"])
    )
    error_message = "A put prefix is PutObject alone, on that prefix."
  }

  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.this.statement : tolist(s.actions)]), "s3:DeleteObject")
    error_message = "Without write_prefixes nothing may be deleted."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "SendToQueues"]).actions == toset(["sqs:SendMessage"]) &&
      one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "SendToQueues"]).resources == toset(["arn:aws:sqs:eu-west-1:123456789012:dataquest-test-transfer"])
    )
    error_message = "The function may send to the queues it names, and only there."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency == 2 && aws_lambda_event_source_mapping.this[0].batch_size == 1
    error_message = "The mapping takes its maximum concurrency and batch size from sqs_event_source."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping lets the function name the records that failed."
  }

  assert {
    condition     = aws_lambda_function.this.image_config[0].command == tolist(["dataquest.handlers.transfer.handler"])
    error_message = "command overrides the image's CMD."
  }
}

run "no_send_grant_unless_asked" {
  command = plan

  assert {
    condition     = !contains([for s in data.aws_iam_policy_document.this.statement : s.sid], "SendToQueues")
    error_message = "Without send_queue_arns the role may send nowhere."
  }
}

run "rejects_a_wildcard_queue_to_send_to" {
  command = plan

  variables {
    send_queue_arns = ["arn:aws:sqs:eu-west-1:123456789012:*"]
  }

  expect_failures = [var.send_queue_arns]
}

run "rejects_a_whole_bucket_put" {
  command = plan

  variables {
    s3_access = {
      bucket_arn   = "arn:aws:s3:::dataquest-test"
      put_prefixes = ["*"]
    }
  }

  expect_failures = [var.s3_access]
}

run "rejects_reserved_concurrency_below_the_queue_mappings_maximum" {
  command = plan

  variables {
    reserved_concurrent_executions = 1
    sqs_event_source = {
      queue_arn           = "arn:aws:sqs:eu-west-1:123456789012:dataquest-test-report"
      maximum_concurrency = 2
    }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "reserved_concurrency_at_the_queue_mappings_maximum_is_fine" {
  command = plan

  variables {
    reserved_concurrent_executions = 2
    sqs_event_source = {
      queue_arn           = "arn:aws:sqs:eu-west-1:123456789012:dataquest-test-report"
      maximum_concurrency = 2
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].scaling_config[0].maximum_concurrency == 2
    error_message = "Reserved concurrency equal to maximum_concurrency is what AWS advises."
  }
}
