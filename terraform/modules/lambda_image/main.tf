# An image-based function pinned by digest, its log group, a role granting only what the function touches
# (its log group, prefixes of one bucket, the queue it consumes) and, optionally, the SQS event source mapping.

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
  name               = var.function_name
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
      actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
      resources = [local.bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = length(local.read_arns) > 0 ? [1] : []
    content {
      sid       = "ReadPrefixes"
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectAttributes"]
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

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseDataKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50:X-Ray's write API accepts only Resource "*", which the least-privilege review forbids; logs and EMF metrics cover a daily job
  #checkov:skip=CKV_AWS_116:asynchronous failures are alarmed (Errors, and no success within a day); the scheduler keeps a dead-letter queue for undelivered invocations, and the SQS consumer's failures go to the queue's dead-letter queue
  #checkov:skip=CKV_AWS_117:the function reaches only public endpoints (BLS, DataUSA) and AWS APIs; a VPC would add NAT cost and no protection
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

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [1] : []
    content {
      variables = var.environment_variables
    }
  }

  tags = var.tags

  # The function must not start (and create its own log group) before its group and permissions exist.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
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
}
