# The lake: silver and gold Iceberg tables in the Glue Data Catalog over the mirrored surveys, kept current by a
# function fed with the bucket's notifications on bls/, queryable by Athena through a workgroup that enforces an
# encrypted result location and a scan cutoff, with the report's three answers as named queries (the SQL files
# the package ships and the tests run), and a read-only analyst policy.
#
# The bucket's changes reach the lake queue through EventBridge, by the rule made here: S3 keeps one notification
# configuration per bucket and refuses two entries that can match one key, and the report queue's exact keys
# (bls/pr/pr.data.0.Current) lie under bls/. The caller turns on the bucket's EventBridge delivery (the
# notifications module's `eventbridge = true`); the report queue keeps its direct notification.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  # The S3 layout (one file, read by the Python package too), and the lake's own prefix (catalog.LAKE_PREFIX).
  layout        = jsondecode(file("${path.module}/../../../src/dataquest/layout.json"))
  prefixes      = merge(local.layout.prefixes, { lake = "lake/" })
  sql_dir       = "${path.module}/../../../src/dataquest/lake/sql"
  named_queries = { for f in fileset(local.sql_dir, "*.sql") : trimsuffix(f, ".sql") => file("${local.sql_dir}/${f}") }

  glue_catalog  = "arn:${local.partition}:glue:${local.region}:${local.account}:catalog"
  glue_database = "arn:${local.partition}:glue:${local.region}:${local.account}:database/${var.database_name}"
  glue_tables   = "arn:${local.partition}:glue:${local.region}:${local.account}:table/${var.database_name}/*"
  workgroup_arn = "arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${var.name}"
}

resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "dataquest lake: silver (observations, series, footnotes, population) and gold (the report's results) Iceberg tables under s3://${var.bucket_name}/${local.prefixes.lake}."
  tags        = var.tags
}

resource "aws_athena_workgroup" "this" {
  name          = var.name
  description   = "Queries over the dataquest lake: results encrypted in s3://${var.bucket_name}/${var.results_prefix}, at most ${var.bytes_scanned_cutoff_per_query} bytes scanned a query."
  force_destroy = true
  tags          = var.tags

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.bucket_name}/${var.results_prefix}"

      encryption_configuration {
        encryption_option = length(var.kms_key_arns) > 0 ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = length(var.kms_key_arns) > 0 ? var.kms_key_arns[0] : null
      }
    }
  }
}

resource "aws_athena_named_query" "this" {
  for_each = local.named_queries

  name        = "dataquest-${replace(each.key, "_", "-")}"
  description = "The report's ${replace(each.key, "_", " ")} computed in SQL from the silver tables."
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = each.value
}

module "queue" {
  source = "../queue"

  name                     = var.name
  consumer_timeout_seconds = var.timeout
  tags                     = var.tags
}

# The bucket's changes under bls/ (and the population), through EventBridge to the queue: modules/lake_feed, which
# envs/local uses too.
module "feed" {
  source = "../lake_feed"

  name        = var.name
  bucket_name = var.bucket_name
  queue_arn   = module.queue.queue_arn
  queue_url   = module.queue.policy_queue_url
  tags        = var.tags
}

moved {
  from = aws_cloudwatch_event_rule.this
  to   = module.feed.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_sqs_queue_policy.this
  to   = module.feed.aws_sqs_queue_policy.this
}

moved {
  from = aws_cloudwatch_event_target.this
  to   = module.feed.aws_cloudwatch_event_target.this
}

module "function" {
  source = "../lambda_image"

  function_name         = var.name
  description           = "Keeps the lake's silver and gold tables in Glue database ${var.database_name} current with bls/ in ${var.bucket_name}."
  image_uri             = var.image_uri
  command               = ["dataquest.handlers.lake.handler"]
  architecture          = var.architecture
  memory_size           = var.memory_size
  timeout               = var.timeout
  log_retention_days    = var.log_retention_days
  environment_variables = merge(var.environment_variables, { DQ_LAKE_DATABASE = aws_glue_catalog_database.this.name })
  kms_key_arns          = var.kms_key_arns
  vpc_config            = var.vpc_config
  tags                  = var.tags

  # Reads the mirror and the population; reads and writes the table files (data and metadata) under lake/ only.
  s3_access = {
    bucket_arn     = var.bucket_arn
    read_prefixes  = [local.prefixes.bls, local.prefixes.population, local.prefixes.lake]
    write_prefixes = [local.prefixes.lake]
    list_bucket    = true
  }

  sqs_event_source = {
    queue_arn           = module.queue.queue_arn
    batch_size          = 10
    maximum_concurrency = var.maximum_concurrency
  }
}

data "aws_iam_policy_document" "function_glue" {
  statement {
    sid = "LakeCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
    ]
    resources = [local.glue_catalog, local.glue_database, local.glue_tables]
  }
}

resource "aws_iam_role_policy" "function_glue" {
  name   = "lake-catalog"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.function_glue.json
}

data "aws_iam_policy_document" "analyst" {
  statement {
    sid = "AthenaInTheLakeWorkgroup"
    actions = [
      "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
      "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:ListQueryExecutions",
      "athena:BatchGetQueryExecution", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:GetNamedQuery",
      "athena:BatchGetNamedQuery",
    ]
    resources = [local.workgroup_arn]
  }

  statement {
    sid       = "GlueRead"
    actions   = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [local.glue_catalog, local.glue_database, local.glue_tables]
  }

  statement {
    sid       = "ReadTheTables"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/${local.prefixes.lake}*"]
  }

  statement {
    sid       = "QueryResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bucket_arn}/${var.results_prefix}*"]
  }

  statement {
    sid       = "ListTablesAndResults"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.prefixes.lake}*", "${var.results_prefix}*", ""]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseTheKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns
    }
  }

  # Whatever else the analyst is given, never a write to the mirror and nothing at all under _locks/.
  statement {
    sid       = "NeverWriteTheMirror"
    effect    = "Deny"
    actions   = ["s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bucket_arn}/${local.prefixes.bls}*"]
  }

  statement {
    sid       = "NeverTouchLocks"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["${var.bucket_arn}/${local.prefixes.locks}*"]
  }
}

resource "aws_iam_policy" "analyst" {
  name        = "${var.name}-${local.region}-analyst"
  description = "Read-only analyst of the dataquest lake: Athena in workgroup ${var.name}, Glue read, the tables read; never bls/ writes or _locks/."
  policy      = data.aws_iam_policy_document.analyst.json
  tags        = var.tags
}
