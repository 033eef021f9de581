# What makes this environment itself. main.tf, variables.tf and outputs.tf are identical in dev and prod
# (tests/unit/test_terraform_static.py checks it); the environments differ here and in their tfvars.
locals {
  environment = "prod"
}
