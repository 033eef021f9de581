# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::dataquest-test", id = "dataquest-test" }
  }
}

variables {
  bucket_name = "dataquest-test"
}

run "delete_markers_left_alone_expire" {
  command = apply

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.expiration[0].expired_object_delete_marker if r.id == "expire-noncurrent-versions"])
    error_message = "A delete marker with no version left under it (a file BLS removed) must expire."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.noncurrent_version_expiration[0].noncurrent_days if r.id == "expire-noncurrent-versions"]) == 90
    error_message = "Noncurrent versions expire after 90 days by default."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "SSE-S3 without a key."
  }
}

run "a_kms_key_by_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    error_message = "A key ARN turns SSE-KMS on."
  }
}

run "rejects_a_kms_alias" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/dataquest"
  }

  expect_failures = [var.kms_key_arn]
}

run "short_lived_prefixes_get_their_own_rules" {
  command = apply

  variables {
    prefix_expirations = {
      "_logs/"  = { expiration_days = 90, noncurrent_days = 1 }
      "_locks/" = { noncurrent_days = 1 }
    }
  }

  assert {
    condition = jsonencode({
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.id => [r.filter[0].prefix, length(r.expiration), r.noncurrent_version_expiration[0].noncurrent_days]
      if contains(["expire-logs", "expire-locks"], r.id)
      }) == jsonencode({
      "expire-locks" = ["_locks/", 0, 1]
      "expire-logs"  = ["_logs/", 1, 1]
    })
    error_message = "_logs/ objects expire; _locks/ keeps no old version past a day."
  }
}
