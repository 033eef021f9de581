# An image-based function pinned by digest, its log group, a role granting only what the function touches
# (its log group, prefixes of one bucket, the queue it consumes, the queues it sends to, its failure queue) and,
# optionally, the SQS event source mapping or the asynchronous invocation settings with their on-failure queue.

data "aws_region" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  # IAM names are global to the account, functions are regional: the region keeps two deployments apart.
  name               = "${var.function_name}-${data.aws_region.current.name}"
  description        = "Execution role of the ${var.function_name} function."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:the logs hold run summaries of public data, no secrets; CloudWatch encrypts them at rest with its own key
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

locals {
  bucket_arn = var.s3_access == null ? null : var.s3_access.bucket_arn
  read_arns  = var.s3_access == null ? [] : [for p in var.s3_access.read_prefixes : "${local.bucket_arn}/${p}*"]
  write_arns = var.s3_access == null ? [] : [for p in var.s3_access.write_prefixes : "${local.bucket_arn}/${p}*"]
  # Writes without deletes: put and tag objects, finish or abort their multipart uploads.
  upload_arns = var.s3_access == null ? [] : [for p in var.s3_access.upload_prefixes : "${local.bucket_arn}/${p}*"]
  # New objects only (PutObject): e.g. one log object per event.
  put_arns = var.s3_access == null ? [] : [for p in var.s3_access.put_prefixes : "${local.bucket_arn}/${p}*"]
}

data "aws_iam_policy_document" "this" {
  # No logs:CreateLogGroup: Terraform creates the group, so the function only writes to it.
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # Also what makes a missing key answer 404 rather than 403.
  dynamic "statement" {
    for_each = var.s3_access != null && try(var.s3_access.list_bucket, false) ? [1] : []
    content {
      sid = "ListDataBucket"
      # ListBucketMultipartUploads: a sync first aborts the multipart uploads a killed run left under its prefix.
      actions = concat(
        ["s3:ListBucket"],
        try(var.s3_access.list_multipart_uploads, false) ? ["s3:ListBucketMultipartUploads"] : [],
      )
      resources = [local.bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = length(local.read_arns) > 0 ? [1] : []
    content {
      sid = "ReadPrefixes"
      # GetObjectVersion: a GET naming a VersionId (the report pins the inputs it read); only where asked.
      actions = concat(
        ["s3:GetObject", "s3:GetObjectTagging"],
        try(var.s3_access.read_versions, false) ? ["s3:GetObjectVersion"] : [],
      )
      resources = local.read_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.write_arns) > 0 ? [1] : []
    content {
      sid = "WritePrefixes"
      actions = [
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ]
      resources = local.write_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.upload_arns) > 0 ? [1] : []
    content {
      sid = "UploadPrefixes"
      actions = [
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ]
      resources = local.upload_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.put_arns) > 0 ? [1] : []
    content {
      sid       = "PutPrefixes"
      actions   = ["s3:PutObject"]
      resources = local.put_arns
    }
  }

  dynamic "statement" {
    for_each = var.sqs_event_source == null ? [] : [1]
    content {
      sid = "ConsumeQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ]
      resources = [var.sqs_event_source.queue_arn]
    }
  }

  # The function's own messages (the planner's transfers, a transfer's continuation).
  dynamic "statement" {
    for_each = length(var.send_queue_arns) > 0 ? [1] : []
    content {
      sid       = "SendToQueues"
      actions   = ["sqs:SendMessage"]
      resources = var.send_queue_arns
    }
  }

  # Lambda delivers a failed asynchronous invocation's record to the on-failure queue with this role.
  dynamic "statement" {
    for_each = var.async_invocation == null ? [] : [1]
    content {
      sid       = "SendFailedInvocations"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.on_failure[0].arn]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseDataKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns
    }
  }
}

# In a VPC, Lambda creates and deletes the function's network interfaces with its role: AWS's managed policy for
# that (its EC2 actions take no narrower resource than "*").
resource "aws_iam_role_policy_attachment" "vpc" {
  count = var.vpc_config == null ? 0 : 1

  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray's write API accepts only Resource "*", which the least-privilege review forbids; logs and EMF metrics cover a daily job
  #checkov:skip=CKV_AWS_116:a function's DLQ is superseded by async_invocation's on-failure destination (aws_lambda_function_event_invoke_config, with the whole invocation record); an SQS consumer's failures go to its queue's dead-letter queue
  #checkov:skip=CKV_AWS_117:a VPC is optional (vpc_config, the pipeline's private_network): off by default, it adds NAT and endpoint cost for a function that reaches only public sources and AWS APIs
  #checkov:skip=CKV_AWS_173:the environment holds a bucket name, a contact address and public URLs, no secrets
  #checkov:skip=CKV_AWS_272:Lambda code signing does not apply to container images; images are pinned by digest instead
  #checkov:skip=CKV_AWS_115:reserved concurrency is a variable; accounts at the default limit of 10 cannot reserve any, so it is not forced on
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  dynamic "image_config" {
    for_each = length(var.command) > 0 ? [1] : []
    content {
      command = var.command
    }
  }

  # In private subnets (optional): the function reaches AWS through the VPC's endpoints, the internet through a NAT.
  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [1] : []
    content {
      variables = var.environment_variables
    }
  }

  # Lambda's JSON log format: its own records (start, the report with duration and memory) become JSON like ours,
  # and our lines, JSON objects with the "timestamp" and "level" it reads (dataquest.log; EMF metric lines are
  # INFO), are filtered by that level. Lambda drops application lines below application_log_level (at most INFO).
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.application_log_level
    system_log_level      = "INFO"
  }

  tags = var.tags

  # The function must not start (and create its own log group) before its group and permissions exist.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc]
}

resource "aws_lambda_event_source_mapping" "this" {
  count = var.sqs_event_source == null ? 0 : 1

  event_source_arn                   = var.sqs_event_source.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.sqs_event_source.batch_size
  maximum_batching_window_in_seconds = var.sqs_event_source.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.sqs_event_source.maximum_concurrency == null ? [] : [1]
    content {
      maximum_concurrency = var.sqs_event_source.maximum_concurrency
    }
  }

  # The mapping polls with the function's role: it needs the queue permissions first.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    # AWS (SQS scaling): a maximum concurrency above the function's reserved concurrency makes the pollers invoke
    # into throttles, and each throttled message counts a receive towards the dead-letter queue.
    precondition {
      condition = (
        var.reserved_concurrent_executions == null || var.sqs_event_source.maximum_concurrency == null ||
        try(var.reserved_concurrent_executions >= var.sqs_event_source.maximum_concurrency, false)
      )
      error_message = "${var.function_name}: reserved concurrency ${coalesce(var.reserved_concurrent_executions, -1)} is below the queue mapping's maximum_concurrency ${coalesce(var.sqs_event_source.maximum_concurrency, -1)}: throttled messages would go to the dead-letter queue; reserve at least that many, or lower maximum_concurrency."
    }
  }
}

# Asynchronous invocations (EventBridge Scheduler's): how often Lambda retries a failed one, for how long, and where
# the record of one that still failed goes: a queue of its own, which the pipeline alarms on.
resource "aws_sqs_queue" "on_failure" {
  count = var.async_invocation == null ? 0 : 1

  name                      = "${var.function_name}-failures"
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.async_invocation == null ? 0 : 1

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_invocation.maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_invocation.maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.on_failure[0].arn
    }
  }

  # Lambda checks that the role may send to the destination when the configuration is written.
  depends_on = [aws_iam_role_policy.this]
}
