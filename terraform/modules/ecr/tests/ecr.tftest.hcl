# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.
# Immutable tags, scans, a lifecycle policy that expires only untagged images, pulls by this account's functions.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  name = "dataquest/ingest"
}

run "tags_are_immutable_and_only_untagged_images_expire" {
  command = apply

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push
    error_message = "Tags are immutable and every push is scanned by default."
  }

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules == [{
      rulePriority = 1
      description  = "Keep the newest 10 untagged images; tagged images are never expired"
      selection    = { tagStatus = "untagged", countType = "imageCountMoreThan", countNumber = 10 }
      action       = { type = "expire" }
    }]
    error_message = "The one lifecycle rule expires untagged images beyond the newest 10, never a tagged one."
  }
}

run "lambda_of_this_account_alone_may_pull" {
  command = plan

  assert {
    condition = jsonencode(flatten([for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : c.values]])) == jsonencode([
      "arn:aws:lambda:us-east-1:123456789012:function:*"
    ])
    error_message = "Only functions of this account and region may pull."
  }

  assert {
    condition     = jsonencode(sort(one(data.aws_iam_policy_document.this.statement[*].actions))) == jsonencode(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
    error_message = "Pulling needs the image and its layers, nothing more."
  }
}

run "keeps_the_count_given" {
  command = apply

  variables {
    untagged_images_to_keep = 3
    image_tag_mutability    = "MUTABLE"
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countNumber == 3 && aws_ecr_repository.this.image_tag_mutability == "MUTABLE"
    error_message = "untagged_images_to_keep and image_tag_mutability are passed through."
  }
}

run "rejects_an_invalid_repository_name" {
  command = plan

  variables {
    name = "DataQuest/Ingest"
  }

  expect_failures = [var.name]
}

run "rejects_keeping_no_untagged_image" {
  command = plan

  variables {
    untagged_images_to_keep = 0
  }

  expect_failures = [var.untagged_images_to_keep]
}
