output "dashboard_name" {
  description = "Name of the dashboard (CloudWatch > Dashboards)."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_widget_titles" {
  description = "Titles of the dashboard's widgets, in order."
  value       = [for w in concat(local.widgets, local.lake_widgets) : w.properties.title]
}
