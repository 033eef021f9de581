# terraform test (Terraform >= 1.7) against a mock AWS provider: tests/integration/test_terraform_modules.py.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0123456789abcdef0" }
  }
}

variables {
  name            = "dataquest-test"
  vpc_id          = "vpc-0123456789abcdef0"
  subnet_ids      = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  route_table_ids = ["rtb-0123456789abcdef0"]
}

run "s3_by_gateway_sqs_by_interface_https_only" {
  command = apply

  assert {
    condition     = output.endpoint_service_names == ["com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.sqs"]
    error_message = "The S3 gateway endpoint and the SQS interface endpoint."
  }

  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.interface["sqs"].private_dns_enabled
    error_message = "S3 through the gateway (route tables), SQS with private DNS (the SDK's default endpoint resolves to it)."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_functions.from_port == 443 && aws_vpc_security_group_egress_rule.https.to_port == 443
    error_message = "HTTPS only, in and out."
  }
}

run "the_lake_adds_its_services" {
  command = apply

  variables {
    interface_services = ["sqs", "glue", "athena"]
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 3
    error_message = "One interface endpoint per service."
  }
}

run "rejects_a_subnet_that_is_not_one" {
  command = plan

  variables {
    subnet_ids = ["10.0.1.0/24"]
  }

  expect_failures = [var.subnet_ids]
}
