# The dev environment (make tf-plan ENV=dev). What differs from prod.tfvars is what may differ; everything else is
# in main.tf, shared.
environment          = "dev"
schedule_expression  = "cron(0 6 * * ? *)"
alarm_email_required = false
