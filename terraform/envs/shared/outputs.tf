output "repository_urls" {
  description = "Repository URL per function: push there, then pass <url>@sha256:<digest> as <function>_image_uri."
  value       = { for k, m in module.ecr : k => m.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per function."
  value       = { for k, m in module.ecr : k => m.repository_arn }
}

output "github_role_arns" {
  description = "Roles GitHub Actions assumes (plan, deploy): the workflow's AWS_PLAN_ROLE_ARN and AWS_DEPLOY_ROLE_ARN variables; empty without github_repository."
  value       = { for k, r in aws_iam_role.github : k => r.arn }
}
