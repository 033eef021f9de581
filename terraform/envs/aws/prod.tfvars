# The prod environment (make tf-plan ENV=prod). What differs from dev.tfvars is what may differ; everything else is
# in main.tf, shared.
environment          = "prod"
schedule_expression  = "cron(0 9 * * ? *)"
alarm_email_required = true
