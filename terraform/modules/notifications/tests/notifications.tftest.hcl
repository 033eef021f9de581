# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# One configuration per bucket, every queue an entry of it; entries S3 would refuse as overlapping are refused here.

mock_provider "aws" {}

variables {
  bucket_name = "dataquest-test"
  queues = [
    {
      id            = "object-created-population"
      queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-report"
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = "population/nation_population.json"
      filter_suffix = "nation_population.json"
    },
    {
      id            = "object-created-bls-data"
      queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-report"
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = "bls/pr/pr.data.0.Current"
      filter_suffix = "pr.data.0.Current"
    },
  ]
}

run "every_queue_is_an_entry_of_the_one_configuration" {
  command = apply

  assert {
    condition     = output.queue_ids == ["object-created-population", "object-created-bls-data"]
    error_message = "Both entries are written, in order, by the one resource."
  }

  assert {
    condition     = aws_s3_bucket_notification.this.bucket == "dataquest-test" && !aws_s3_bucket_notification.this.eventbridge
    error_message = "The given bucket; no EventBridge unless asked."
  }
}

run "a_second_queue_with_removals_under_another_prefix_is_added" {
  command = apply

  variables {
    queues = [
      {
        id            = "object-created-bls-data"
        queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-report"
        events        = ["s3:ObjectCreated:*"]
        filter_prefix = "bls/pr/pr.data.0.Current"
        filter_suffix = "pr.data.0.Current"
      },
      {
        id            = "lake-removed"
        queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-lake"
        events        = ["s3:ObjectRemoved:*"]
        filter_prefix = "bls/"
      },
    ]
  }

  assert {
    condition     = length(aws_s3_bucket_notification.this.queue) == 2
    error_message = "Different event types never overlap: both entries are kept."
  }
}

run "overlapping_entries_are_refused_as_s3_refuses_them" {
  command = plan

  variables {
    queues = [
      {
        id            = "object-created-bls-data"
        queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-report"
        events        = ["s3:ObjectCreated:*"]
        filter_prefix = "bls/pr/pr.data.0.Current"
        filter_suffix = "pr.data.0.Current"
      },
      {
        id            = "lake-bls"
        queue_arn     = "arn:aws:sqs:us-east-1:123456789012:dataquest-test-lake"
        events        = ["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"]
        filter_prefix = "bls/"
      },
    ]
  }

  expect_failures = [aws_s3_bucket_notification.this]
}

run "duplicate_ids_are_refused" {
  command = plan

  variables {
    queues = [
      { id = "a", queue_arn = "arn:aws:sqs:us-east-1:123456789012:q", events = ["s3:ObjectCreated:*"], filter_prefix = "x/" },
      { id = "a", queue_arn = "arn:aws:sqs:us-east-1:123456789012:q", events = ["s3:ObjectCreated:*"], filter_prefix = "y/" },
    ]
  }

  expect_failures = [var.queues]
}
