# GitHub Actions deploys with short-lived credentials (OIDC), never with stored keys (.github/workflows/deploy.yml).
# Two roles, both trusting only this repository: the plan role (read-only, taken by pull requests and the scheduled
# drift plan, whose workflow code a pull request can change) and the deploy role (writes the dataquest-* resources,
# taken only by jobs running in the GitHub environments dev and prod: prod's required reviewers stand between a
# merge and prod). Off while github_repository is null.

locals {
  github       = var.github_repository == null ? {} : { this = var.github_repository }
  oidc_host    = "token.actions.githubusercontent.com"
  account_id   = data.aws_caller_identity.current.account_id
  name_pattern = "dataquest-*"
}

data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  for_each = local.github

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS no longer checks this thumbprint for GitHub's provider (it trusts its CA store); the API still wants one.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
}

data "aws_iam_policy_document" "trust" {
  for_each = {
    for role, subjects in {
      plan   = ["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]
      deploy = [for env in ["dev", "prod"] : "repo:${var.github_repository}:environment:${env}"]
    } : role => subjects if var.github_repository != null
  }

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github["this"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = each.value
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = data.aws_iam_policy_document.trust

  name                 = "dataquest-github-${each.key}-${var.aws_region}"
  description          = "GitHub Actions of ${var.github_repository}: ${each.key == "plan" ? "read-only plans" : "deploy dev and prod"}."
  assume_role_policy   = each.value.json
  max_session_duration = 3600
}

# Plans read everything (the provider refreshes every resource); they run with -lock=false, so they write nothing.
resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each = { for k, v in aws_iam_role.github : k => v if k == "plan" }

  role       = each.value.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

# The deploy role: what Terraform creates and changes, on dataquest-* resources of this account only; ECR pushes to
# the dataquest/ repositories; the Terraform state bucket.
data "aws_iam_policy_document" "deploy" {
  #checkov:skip=CKV_AWS_356:the Unscoped statement holds only calls that take no narrower resource (GetCallerIdentity, ECR's token, creating or listing event source mappings, describing log groups and alarms)
  for_each = { for k, v in aws_iam_role.github : k => v if k == "deploy" }

  statement {
    sid = "PipelineResources"
    actions = [
      "s3:*", "sqs:*", "lambda:*", "sns:*", "scheduler:*", "logs:*", "cloudwatch:*",
      "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole",
      "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:UpdateAssumeRolePolicy",
      "iam:PassRole",
    ]
    resources = [
      "arn:aws:s3:::${local.name_pattern}",
      "arn:aws:s3:::${local.name_pattern}/*",
      "arn:aws:sqs:*:${local.account_id}:${local.name_pattern}",
      "arn:aws:lambda:*:${local.account_id}:function:${local.name_pattern}",
      "arn:aws:lambda:*:${local.account_id}:event-source-mapping:*",
      "arn:aws:sns:*:${local.account_id}:${local.name_pattern}",
      "arn:aws:scheduler:*:${local.account_id}:schedule/default/${local.name_pattern}",
      "arn:aws:logs:*:${local.account_id}:log-group:/aws/lambda/${local.name_pattern}",
      "arn:aws:logs:*:${local.account_id}:log-group:/aws/lambda/${local.name_pattern}:*",
      "arn:aws:cloudwatch:*:${local.account_id}:alarm:${local.name_pattern}",
      "arn:aws:cloudwatch::${local.account_id}:dashboard/${local.name_pattern}",
      "arn:aws:iam::${local.account_id}:role/${local.name_pattern}",
    ]
  }

  # Calls that name no resource (event source mappings are created by function, listings, the caller).
  statement {
    sid = "Unscoped"
    actions = [
      "sts:GetCallerIdentity", "lambda:CreateEventSourceMapping", "lambda:ListEventSourceMappings",
      "logs:DescribeLogGroups", "cloudwatch:DescribeAlarms", "ecr:GetAuthorizationToken",
    ]
    resources = ["*"]
  }

  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages",
      "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer",
    ]
    resources = ["arn:aws:ecr:*:${local.account_id}:repository/${var.repository_prefix}/*"]
  }

  dynamic "statement" {
    for_each = var.terraform_state_bucket == null ? [] : [var.terraform_state_bucket]
    content {
      sid       = "TerraformState"
      actions   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["arn:aws:s3:::${statement.value}", "arn:aws:s3:::${statement.value}/dataquest/*"]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  for_each = data.aws_iam_policy_document.deploy

  name   = "deploy-dataquest"
  role   = aws_iam_role.github[each.key].id
  policy = each.value.json
}
