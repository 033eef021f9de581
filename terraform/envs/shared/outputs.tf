output "repository_urls" {
  description = "Repository URL per function: push there, then pass <url>@sha256:<digest> as <function>_image_uri."
  value       = { for k, m in module.ecr : k => m.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per function."
  value       = { for k, m in module.ecr : k => m.repository_arn }
}
