terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

# An emulator (LocalStack or a moto server) at var.aws_endpoint_url: fake credentials, no account lookups.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {
    events = var.aws_endpoint_url
    s3     = var.aws_endpoint_url
    sqs    = var.aws_endpoint_url
    sts    = var.aws_endpoint_url
  }

  default_tags {
    tags = {
      Project     = "RearcDataQuest"
      Environment = "local"
    }
  }
}
