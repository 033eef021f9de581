# The data bucket: versioned, encrypted, never public, TLS-only, with lifecycle rules that bound what old
# versions and abandoned multipart uploads cost.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:access logs would need a second bucket; CloudTrail data events are the audit trail if one is wanted
  #checkov:skip=CKV_AWS_144:a mirror of public data and reports derived from it; cross-region replication doubles cost for data that can be re-fetched
  #checkov:skip=CKV_AWS_145:SSE-KMS is one variable away (kms_key_arn); SSE-S3 is the default so the functions need no key grants
  #checkov:skip=CKV2_AWS_62:event notifications are configured by the queue module (aws_s3_bucket_notification), which checkov cannot link here
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

# The bucket's settings are written one after the other (ownership, public access block, versioning, encryption,
# lifecycle, policy): S3 answers 409 OperationAborted to concurrent configuration writes on one bucket.

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true

  depends_on = [aws_s3_bucket_ownership_controls.this]
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    # A file BLS removed leaves a delete marker over versions that expire; the marker, alone, is removed too.
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # Prefixes whose objects or old versions are short-lived: the runs' trail under _logs/ (one object per event),
  # the lease under _locks/ (its heartbeat writes a version every 20 s: thousands of versions a day).
  dynamic "rule" {
    for_each = var.prefix_expirations
    content {
      id     = "expire-${trim(replace(rule.key, "/[^A-Za-z0-9]+/", "-"), "-")}"
      status = "Enabled"

      filter {
        prefix = rule.key
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]
        content {
          days = expiration.value
        }
      }

      noncurrent_version_expiration {
        noncurrent_days = rule.value.noncurrent_days
      }
    }
  }

  # A lifecycle configuration on a bucket whose versioning is still being enabled is rejected by S3.
  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.enforce_tls ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 refuses a policy while the public access block is being written; last in the chain.
  depends_on = [aws_s3_bucket_lifecycle_configuration.this]
}
